import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { nameKey } from '../../../users/user.ts';
import type { SqlSchemaTools } from './index.ts';

/** Rows folded per statement while filling the new column (three parameters each). */
const FILL_BATCH = 1000;

interface Unfolded {
  id: string;
  name: string;
}

/**
 * `name_key`: the folded name case-insensitive matching reads (see nameKey), so a `contains`
 * runs in the engine instead of calling a JavaScript lower() per row. Existing rows are filled
 * here, in JavaScript, with the very function every write uses, so old and new rows fold alike;
 * then the engine adds what indexes it has for LIKE on the folded keys (PostgreSQL: trigrams).
 */
export function addNameKey({ types, matchIndexes }: SqlSchemaTools): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('users').addColumn('name_key', types.text).execute();
      let after = '';
      for (;;) {
        const { rows } = await sql<Unfolded>`select id, name from users
          where id > ${after} order by id limit ${FILL_BATCH}`.execute(db);
        if (rows.length === 0) break;
        const cases = sql.join(
          rows.map((row) => sql`when ${row.id} then ${nameKey(row.name)}`),
          sql` `,
        );
        const ids = sql.join(rows.map((row) => row.id));
        await sql`update users set name_key = case id ${cases} end where id in (${ids})`.execute(
          db,
        );
        if (rows.length < FILL_BATCH) break;
        after = rows.at(-1)!.id;
      }
      await matchIndexes?.create(db);
    },
    async down(db: Kysely<unknown>) {
      await matchIndexes?.drop(db);
      await db.schema.alterTable('users').dropColumn('name_key').execute();
    },
  };
}
