import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { SqlColumnTypes } from '../sql-engine.ts';

/**
 * `Idempotency-Key` on `POST /user` (docs/reliability.md, "Retried creates"): one row per (scope, key), written in the create's
 * transaction. The primary key is what makes a concurrent duplicate wait for, then replay, the
 * first; `expires_at` is indexed for the clock's purge.
 */
export function createIdempotencyKeys(types: SqlColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('scope', types.text, (column) => column.notNull())
        .addColumn('key', types.text, (column) => column.notNull())
        .addColumn('fingerprint', types.text, (column) => column.notNull())
        .addColumn('user_id', types.id, (column) => column.notNull())
        // The record as first created: replayed if the user is removed before the key expires.
        .addColumn('record', types.text, (column) => column.notNull())
        .addColumn('created_at', types.timestamp, (column) => column.notNull())
        .addColumn('expires_at', types.timestamp, (column) => column.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'key'])
        .execute();
      await db.schema
        .createIndex('idempotency_keys_expires_at')
        .on('idempotency_keys')
        .column('expires_at')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('idempotency_keys').execute();
    },
  };
}
