import { sql, type Kysely } from 'kysely';

/** Trigram indexes: they serve `LIKE '%…%'` and `LIKE '…%'` on the folded keys. */
const TRIGRAM = [
  { name: 'users_name_key_trgm', column: 'name_key' },
  { name: 'users_email_key_trgm', column: 'email_key' },
] as const;
/** Without pg_trgm: a plain B-tree ("C" collation) still serves `startsWith` on names. */
const PREFIX = { name: 'users_name_key_prefix', column: 'name_key' } as const;

/**
 * PostgreSQL's indexes for text matching. pg_trgm ships with the server and is a trusted
 * extension (the database owner may create it), but a managed server may not offer it: then
 * the migration still succeeds, with the prefix index only, and `contains` scans the table
 * under statement_timeout. The attempt runs in a savepoint because a refused CREATE EXTENSION
 * would otherwise abort the migration's transaction.
 */
export const postgresMatchIndexes = {
  async create(db: Kysely<unknown>): Promise<void> {
    await sql`savepoint match_indexes`.execute(db);
    try {
      await sql`create extension if not exists pg_trgm`.execute(db);
      await sql`release savepoint match_indexes`.execute(db);
    } catch {
      await sql`rollback to savepoint match_indexes`.execute(db);
      await db.schema.createIndex(PREFIX.name).on('users').column(PREFIX.column).execute();
      return;
    }
    for (const { name, column } of TRIGRAM) {
      await sql`create index ${sql.ref(name)} on users using gin (${sql.ref(column)} gin_trgm_ops)`.execute(
        db,
      );
    }
  },
  async drop(db: Kysely<unknown>): Promise<void> {
    for (const { name } of [...TRIGRAM, PREFIX]) {
      await db.schema.dropIndex(name).ifExists().execute();
    }
  },
};
