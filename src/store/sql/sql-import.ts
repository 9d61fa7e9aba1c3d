import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { emailKey, nameKey, type User } from '../../users/user.ts';
import type { ImportOptions, ImportResult, NewUser } from '../../users/user-store.ts';
import { importChanges, planImport } from '../import-plan.ts';
import { userRecord } from '../user-records.ts';
import type { BulkRows, SqlEngine } from './sql-engine.ts';
import { recordEvents } from './sql-outbox.ts';
import { USER_COLUMNS, type SqlDatabase } from './sql-schema.ts';

/**
 * Rows per INSERT: seven parameters each, so 7,000 per statement, well under SQLite's 32,766
 * and PostgreSQL's 65,535 bound parameters, in statements large enough to be fast.
 */
const ROWS_PER_STATEMENT = 1000;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const toRow = (user: User) => ({
  id: user.id,
  name: user.name,
  email: user.email ?? null,
  email_key: user.email === undefined ? null : emailKey(user.email),
  name_key: nameKey(user.name),
  created_at: user.createdAt,
  updated_at: user.updatedAt,
});

type Row = ReturnType<typeof toRow>;
const PLACEHOLDER_ROW: Row = toRow({ id: '', name: '', createdAt: '', updatedAt: '' });

/**
 * The SQL of the two bulk statements for n rows, compiled by Kysely once per store and n and
 * then reused with fresh parameters: building a 6,000-value query tree per statement would
 * cost more time and memory than the database spends running it.
 */
const texts = new WeakMap<SqlEngine, Map<string, string>>();
function statement(engine: SqlEngine, key: string, compile: () => string): string {
  let cache = texts.get(engine);
  if (!cache) texts.set(engine, (cache = new Map()));
  let text = cache.get(key);
  if (text === undefined) cache.set(key, (text = compile()));
  return text;
}

function selectText(db: Kysely<SqlDatabase>, engine: SqlEngine, n: number): string {
  return statement(engine, `select ${n}`, () => {
    const ids = Array.from({ length: n }, () => '');
    let query = db.selectFrom('users').select(USER_COLUMNS).where('id', 'in', ids);
    // Locked so a concurrent update cannot slip between the comparison and the write.
    if (engine.rowLocks) query = query.forUpdate();
    return query.compile().sql;
  });
}

const COLUMN_TYPES = {
  id: 'text',
  name: 'text',
  email: 'text',
  email_key: 'text',
  name_key: 'text',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
} as const satisfies Record<keyof Row, 'text' | 'timestamptz'>;

function byColumn(rows: readonly Row[]): BulkRows['columns'] {
  return (Object.keys(COLUMN_TYPES) as (keyof Row)[]).map((name) => ({
    name,
    type: COLUMN_TYPES[name],
    values: rows.map((row) => row[name]),
  }));
}

function insertNewText(db: Kysely<SqlDatabase>, engine: SqlEngine, n: number): string {
  return statement(
    engine,
    `insert ${n}`,
    () =>
      db
        .insertInto('users')
        .values(Array.from({ length: n }, () => PLACEHOLDER_ROW))
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .compile().sql,
  );
}

/**
 * Inserts the rows that collide with no unique index (id or address) and answers the ids it
 * inserted: a fresh import costs one statement per 1,000 users, no lookup first.
 */
async function insertNew(
  trx: Transaction<SqlDatabase>,
  engine: SqlEngine,
  rows: readonly Row[],
): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (const part of chunks(rows, ROWS_PER_STATEMENT)) {
    if (engine.bulkInsertNew) {
      const ids = await engine.bulkInsertNew(trx, {
        table: 'users',
        key: 'id',
        columns: byColumn(part),
      });
      for (const id of ids) inserted.add(String(id));
      continue;
    }
    // Parameters row by row in toRow's key order, which is the column order Kysely compiled.
    const text = insertNewText(trx, engine, part.length);
    const parameters = part.flatMap((row) => Object.values(row));
    const result = await trx.executeQuery<{ id: string }>(CompiledQuery.raw(text, parameters));
    for (const { id } of result.rows) inserted.add(id);
  }
  return inserted;
}

/** Writes whole records, inserting or replacing by id. */
async function upsert(trx: Transaction<SqlDatabase>, users: readonly User[]): Promise<void> {
  for (const part of chunks(users, ROWS_PER_STATEMENT)) {
    await trx
      .insertInto('users')
      .values(part.map(toRow))
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          name: eb.ref('excluded.name'),
          email: eb.ref('excluded.email'),
          email_key: eb.ref('excluded.email_key'),
          name_key: eb.ref('excluded.name_key'),
          created_at: eb.ref('excluded.created_at'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
}

async function existingUsers(
  trx: Transaction<SqlDatabase>,
  engine: SqlEngine,
  ids: string[],
): Promise<Map<string, User>> {
  const existing = new Map<string, User>();
  for (const part of chunks(ids, ROWS_PER_STATEMENT)) {
    const text = selectText(trx, engine, part.length);
    const { rows } = await trx.executeQuery<Omit<Row, 'email_key' | 'name_key'>>(
      CompiledQuery.raw(text, part),
    );
    for (const row of rows) {
      existing.set(
        row.id,
        userRecord({
          id: row.id,
          name: row.name,
          email: row.email,
          createdAt: row.created_at,
          updatedAt: row.updated_at,
        }),
      );
    }
  }
  return existing;
}

/**
 * New records go in first, without a lookup; only those that collided (their id exists, or
 * their address is held) are read, locked and planned. Replacements are then written before
 * the remaining new records, so an address moving from a replaced record to a new one is free
 * by then; an address still held fails the batch with EMAIL_TAKEN.
 */
async function writeBatch(
  trx: Transaction<SqlDatabase>,
  engine: SqlEngine,
  users: readonly NewUser[],
  options: ImportOptions,
): Promise<ImportResult> {
  planImport(users, new Map(), options.mode); // rejects a batch naming an id or address twice
  const records = users.map(userRecord);
  const inserted = await insertNew(trx, engine, records.map(toRow));
  const collided = users.filter((user) => !inserted.has(user.id));
  const existing = await existingUsers(
    trx,
    engine,
    collided.map((user) => user.id),
  );
  const plan = planImport(collided, existing, options.mode);
  await upsert(trx, [...plan.replace, ...plan.create]);
  if (options.events !== false) {
    const created = records.filter((record) => inserted.has(record.id));
    const all = { ...plan, create: [...created, ...plan.create] };
    await recordEvents(trx, importChanges(all, existing, new Date().toISOString()));
  }
  return { ...plan.result, created: plan.result.created + inserted.size };
}

class DryRunRollback extends Error {
  readonly result: ImportResult;
  constructor(result: ImportResult) {
    super('dry run: rolled back');
    this.result = result;
  }
}

/**
 * One batch in one transaction. A dry run does the same work and rolls it back, so its counts
 * and its failures (a taken address) are exactly those of a real run.
 */
export async function importSqlBatch(
  db: Kysely<SqlDatabase>,
  engine: SqlEngine,
  users: readonly NewUser[],
  options: ImportOptions,
): Promise<ImportResult> {
  if (users.length === 0) return { created: 0, updated: 0, unchanged: 0, skipped: 0 };
  try {
    return await db.transaction().execute(async (trx) => {
      const result = await writeBatch(trx, engine, users, options);
      if (options.dryRun) throw new DryRunRollback(result);
      return result;
    });
  } catch (error) {
    if (error instanceof DryRunRollback) return error.result;
    throw error;
  }
}
