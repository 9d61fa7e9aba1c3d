import type { Kysely } from 'kysely';
import { idempotencyKeyReused } from '../../users/errors.ts';
import type { User } from '../../users/user.ts';
import type { IdempotencyKey, NewUser, PurgeKeysOptions } from '../../users/user-store.ts';
import { userRecord, type KeyedCreate } from '../user-records.ts';
import type { RecordWrites } from './sql-record-writes.ts';
import type { SqlDatabase } from './sql-schema.ts';

/**
 * The key row goes in first, by an upsert that only overwrites an expired row: a concurrent
 * duplicate blocks on the primary key until the first commits (PostgreSQL; SQLite serializes
 * writers), then finds a live row and inserts nothing, without an error to retry. Writing the key
 * before the user also means a duplicate never trips over the user's e-mail first.
 */
export async function createKeyed(
  store: { db: Kysely<SqlDatabase>; writes: RecordWrites },
  user: NewUser,
  idempotency: IdempotencyKey,
): Promise<KeyedCreate> {
  const { db, writes } = store;
  const { scope, key, fingerprint, now, expiresAt } = idempotency;
  const outcome = await db.transaction().execute(async (trx): Promise<KeyedCreate | undefined> => {
    const record = userRecord(user);
    const fields = {
      fingerprint,
      user_id: record.id,
      record: JSON.stringify(record),
      created_at: now,
      expires_at: expiresAt,
    };
    const claimed = await trx
      .insertInto('idempotency_keys')
      .values({ scope, key, ...fields })
      .onConflict((oc) =>
        oc
          .columns(['scope', 'key'])
          .doUpdateSet(fields)
          .where('idempotency_keys.expires_at', '<=', now),
      )
      .returning('scope')
      .executeTakeFirst();
    if (claimed) {
      await writes.createIn(trx, record);
      return { created: record };
    }
    const existing = await trx
      .selectFrom('idempotency_keys')
      .select(['fingerprint', 'user_id', 'record'])
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirst();
    // Gone between the two statements (purged the instant it expired): claim it afresh.
    if (!existing) return undefined;
    if (existing.fingerprint !== fingerprint) throw idempotencyKeyReused();
    return {
      replay: { userId: existing.user_id, record: JSON.parse(existing.record) as User },
    };
  });
  return outcome ?? createKeyed(store, user, idempotency);
}

/** Deletes expired keys in batches of `batchSize`, each its own short statement. */
export async function purgeExpiredKeys(
  db: Kysely<SqlDatabase>,
  options: PurgeKeysOptions,
): Promise<number> {
  let purged = 0;
  for (;;) {
    const doomed = db
      .selectFrom('idempotency_keys')
      .select(['scope', 'key'])
      .where('expires_at', '<=', options.now)
      .limit(options.batchSize);
    const result = await db
      .deleteFrom('idempotency_keys')
      .where((eb) => eb(eb.refTuple('scope', 'key'), 'in', doomed.$asTuple('scope', 'key')))
      .executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    purged += deleted;
    if (deleted < options.batchSize) return purged;
  }
}
