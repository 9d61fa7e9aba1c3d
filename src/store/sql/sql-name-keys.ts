import { sql, type Kysely } from 'kysely';
import { nameKey } from '../../users/user.ts';

/** Rows read and folded per committed batch when filling unset name keys. */
const FILL_BATCH = 1000;

export interface FoldedRow {
  id: string;
  /** The name as read; the key is written only if the row still has it. */
  name: string;
  key: string;
}

/**
 * `users.name_key` is written with the name by this release (nameKey, in JavaScript), but a
 * release from before the column, still serving during a rollout or run again by a rollback,
 * inserts rows without it and renames without touching it. Migration 0006 gives the database a
 * trigger that sets the key NULL whenever a write leaves it stale, and matching reads a NULL key
 * as the name folded by the engine's `users_name_fold` (see sqlWhere). This fills those NULL
 * keys again with the very function writes use, in committed batches, so it never holds a lock
 * for long; a batch writes a key only where the row still has the name it was folded from and
 * no key yet, so a write meanwhile always wins.
 */
export async function fillNameKeys(
  db: Kysely<unknown>,
  write: (db: Kysely<unknown>, rows: readonly FoldedRow[]) => Promise<void>,
): Promise<number> {
  let after = '';
  let filled = 0;
  for (;;) {
    const { rows } = await sql<{ id: string; name: string }>`select id, name from users
      where name_key is null and id > ${after} order by id limit ${FILL_BATCH}`.execute(db);
    if (rows.length === 0) return filled;
    await write(
      db,
      rows.map(({ id, name }) => ({ id, name, key: nameKey(name) })),
    );
    filled += rows.length;
    if (rows.length < FILL_BATCH) return filled;
    after = rows.at(-1)!.id;
  }
}

/**
 * The default batch write (SQLite): one UPDATE by primary key per row, compiled once (the
 * engine keeps its prepared statement), all in one transaction, which SQLite commits as one.
 */
export async function writeKeysByRow(db: Kysely<unknown>, rows: readonly FoldedRow[]) {
  const update = sql`update users set name_key = ${''}
    where id = ${''} and name = ${''} and name_key is null`.compile(db);
  await db.transaction().execute(async (trx) => {
    for (const { id, name, key } of rows)
      await trx.executeQuery({ ...update, parameters: [key, id, name] });
  });
}
