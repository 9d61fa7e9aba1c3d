import { sql, type Kysely } from 'kysely';

/** Trigram indexes: they serve `LIKE '%…%'` and `LIKE '…%'` on the folded keys. */
const TRIGRAM = [
  { name: 'users_name_key_trgm', column: 'name_key' },
  { name: 'users_email_key_trgm', column: 'email_key' },
] as const;
/** Without pg_trgm: a plain B-tree ("C" collation) still serves `startsWith` on names. */
const PREFIX = { name: 'users_name_key_prefix', column: 'name_key' } as const;
/**
 * The rows whose name key is unset (see fillNameKeys): few or none, so the index is tiny; it
 * finds them for the fill, and lets a match OR them with what the trigram index finds.
 */
const UNSET = 'users_name_key_unset';

/** Whoever holds it is settling the indexes; another process starting meanwhile skips them. */
const SETTLE_LOCK = 0x12fac7;

async function indexState(db: Kysely<unknown>): Promise<Map<string, boolean>> {
  const { rows } = await sql<{ name: string; valid: boolean }>`
    select c.relname as name, i.indisvalid as valid from pg_index i
    join pg_class c on c.oid = i.indexrelid
    join pg_class t on t.oid = i.indrelid
    where t.relname = 'users' and t.relnamespace = current_schema()::regnamespace`.execute(db);
  return new Map(rows.map((row) => [row.name, row.valid]));
}

/**
 * Builds an index with CONCURRENTLY, which blocks no write while it reads the table, unless it
 * exists. A concurrent build that failed leaves an invalid index behind, which IF NOT EXISTS
 * would keep forever: that one is dropped and built again.
 */
async function buildConcurrently(
  db: Kysely<unknown>,
  state: Map<string, boolean>,
  name: string,
  definition: ReturnType<typeof sql>,
): Promise<void> {
  const valid = state.get(name);
  if (valid === true) return;
  if (valid === false) await sql`drop index concurrently if exists ${sql.ref(name)}`.execute(db);
  await sql`create index concurrently if not exists ${sql.ref(name)} on users ${definition}`.execute(
    db,
  );
}

async function hasTrigrams(db: Kysely<unknown>): Promise<boolean> {
  try {
    await sql`create extension if not exists pg_trgm`.execute(db);
    return true;
  } catch {
    return false;
  }
}

/**
 * PostgreSQL's indexes for text matching, built after the migrations on a connection outside
 * any transaction (CREATE INDEX CONCURRENTLY refuses to run in one), so a large table stays
 * writable throughout. pg_trgm ships with the server and is a trusted extension (the database
 * owner may create it), but a managed server may not offer it: then only the prefix index is
 * built, and `contains` scans the table under statement_timeout.
 */
export const postgresMatchIndexes = {
  async build(db: Kysely<unknown>, fill: () => Promise<unknown>): Promise<void> {
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_lock(${SETTLE_LOCK}) as locked`.execute(db);
    if (!rows[0]?.locked) return;
    try {
      let state = await indexState(db);
      await buildConcurrently(db, state, UNSET, sql`(id) where name_key is null`);
      // The keys before the indexes on them: one build reads them all, no index grows per row.
      await fill();
      state = await indexState(db);
      if (TRIGRAM.every(({ name }) => state.get(name) === true)) return;
      if (!(await hasTrigrams(db))) {
        await buildConcurrently(db, state, PREFIX.name, sql`(${sql.ref(PREFIX.column)})`);
        return;
      }
      for (const { name, column } of TRIGRAM)
        await buildConcurrently(db, state, name, sql`using gin (${sql.ref(column)} gin_trgm_ops)`);
    } finally {
      await sql`select pg_advisory_unlock(${SETTLE_LOCK})`.execute(db);
    }
  },
  async drop(db: Kysely<unknown>): Promise<void> {
    for (const name of [...TRIGRAM.map((index) => index.name), PREFIX.name, UNSET]) {
      await db.schema.dropIndex(name).ifExists().execute();
    }
  },
};

/**
 * Migration 0006 on PostgreSQL. `users_name_fold` folds a name as nameKey does: lower() under
 * ICU's root locale applies the same full Unicode case mapping as JavaScript's toLowerCase
 * (both use ICU; only characters newer than the server's ICU differ); a server built without
 * ICU falls back to lower() under the database's locale. The trigger runs before each rename:
 * when the writer left the key as it was and the fold disagrees with it, the key is set NULL.
 */
export const postgresNameKeyGuard = {
  async create(db: Kysely<unknown>): Promise<void> {
    const { rows } = await sql`select 1 from pg_collation where collname = 'und-x-icu'`.execute(db);
    const fold = rows.length > 0 ? 'lower(name collate "und-x-icu")' : 'lower(name)';
    await sql
      .raw(
        `create or replace function users_name_fold(name text) returns text
      language sql immutable parallel safe as $$ select ${fold} $$`,
      )
      .execute(db);
    await sql`create or replace function users_name_key_guard() returns trigger
      language plpgsql as $$
      begin
        if new.name_key is not distinct from old.name_key
           and new.name_key is distinct from users_name_fold(new.name) then
          new.name_key := null;
        end if;
        return new;
      end $$`.execute(db);
    await sql`create trigger users_name_key_guard before update of name on users
      for each row when (new.name is distinct from old.name)
      execute function users_name_key_guard()`.execute(db);
  },
  async drop(db: Kysely<unknown>): Promise<void> {
    await sql`drop trigger if exists users_name_key_guard on users`.execute(db);
    await sql`drop function if exists users_name_key_guard()`.execute(db);
    await sql`drop function if exists users_name_fold(text)`.execute(db);
  },
};

/**
 * One committed batch of folded keys: one statement whatever its size, the rows as three
 * arrays that unnest joins to the table by primary key.
 */
export async function postgresWriteKeys(
  db: Kysely<unknown>,
  rows: readonly { id: string; name: string; key: string }[],
): Promise<void> {
  await sql`update users set name_key = v.key
    from unnest(${rows.map((r) => r.id)}::char(24)[], ${rows.map((r) => r.name)}::text[],
                ${rows.map((r) => r.key)}::text[]) as v(id, name, key)
    where users.id = v.id and users.name = v.name and users.name_key is null`.execute(db);
}
