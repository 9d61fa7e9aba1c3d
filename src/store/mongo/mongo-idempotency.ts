import type { ClientSession, Collection, Db } from 'mongodb';
import { idempotencyKeyReused } from '../../users/errors.ts';
import type { User } from '../../users/user.ts';
import { createdEvent, type UserChange } from '../../users/user-events.ts';
import type { IdempotencyKey, NewUser, PurgeKeysOptions } from '../../users/user-store.ts';
import { userRecord, type KeyedCreate } from '../user-records.ts';
import { isDuplicateKey } from './mongo-errors.ts';
import { toDocument, toUser } from './mongo-records.ts';
import {
  IDEMPOTENCY_KEYS,
  type IdempotencyKeyDocument,
  type UserDocument,
} from './mongo-schema.ts';

export interface KeyedWriteContext {
  db: Db;
  users: Collection<UserDocument>;
  /** The store's write-with-event: one transaction where the deployment has them. */
  write: (
    work: (session: ClientSession | undefined) => Promise<{ result: User; change: UserChange }>,
  ) => Promise<User>;
}

/** The key is live: thrown out of the transaction so it aborts, then answered by a replay. */
class KeyInUse extends Error {}

const keysOf = (db: Db) => db.collection<IdempotencyKeyDocument>(IDEMPOTENCY_KEYS);

/**
 * Claims the key by an upsert that only matches an expired document: a live one makes the upsert
 * insert its `_id` again and fail with E11000 (the migrator's lock does the same). In a
 * transaction a concurrent claim is a WriteConflict, which the driver retries until the first
 * commits; then this one fails on the key and replays.
 */
async function claim(
  keys: Collection<IdempotencyKeyDocument>,
  user: NewUser,
  idempotency: IdempotencyKey,
  session: ClientSession | undefined,
): Promise<void> {
  const { scope, key, fingerprint, now, expiresAt } = idempotency;
  try {
    await keys.updateOne(
      { _id: { scope, key }, expiresAt: { $lte: new Date(now) } },
      {
        $set: {
          fingerprint,
          userId: user.id,
          record: userRecord(user),
          createdAt: new Date(now),
          expiresAt: new Date(expiresAt),
        },
      },
      { upsert: true, session },
    );
  } catch (error) {
    if (isDuplicateKey(error)) throw new KeyInUse();
    throw error;
  }
}

export async function createKeyedMongo(
  context: KeyedWriteContext,
  user: NewUser,
  idempotency: IdempotencyKey,
): Promise<KeyedCreate> {
  const keys = keysOf(context.db);
  const _id = { scope: idempotency.scope, key: idempotency.key };
  try {
    const created = await context.write(async (session) => {
      await claim(keys, user, idempotency, session);
      const doc = toDocument(user);
      try {
        await context.users.insertOne(doc, { session });
      } catch (error) {
        // Without a transaction nothing undoes the claim: release it, so a retry can create.
        if (!session) await keys.deleteOne({ _id, userId: user.id });
        throw error;
      }
      const record = toUser(doc);
      return { result: record, change: createdEvent(record) };
    });
    return { created };
  } catch (error) {
    if (!(error instanceof KeyInUse)) throw error;
  }
  const existing = await keys.findOne({ _id });
  // Gone since the claim failed (expired and deleted that instant): claim it afresh.
  if (!existing) return createKeyedMongo(context, user, idempotency);
  if (existing.fingerprint !== idempotency.fingerprint) throw idempotencyKeyReused();
  return { replay: { userId: existing.userId, record: userRecord(existing.record) } };
}

/**
 * The TTL index deletes expired keys within about a minute of expiry; this lets the clock's purge
 * do it at once too. One deleteMany: MongoDB removes documents one by one, holding no long lock.
 */
export async function purgeExpiredMongoKeys(db: Db, options: PurgeKeysOptions): Promise<number> {
  const { deletedCount } = await keysOf(db).deleteMany({
    expiresAt: { $lte: new Date(options.now) },
  });
  return deletedCount;
}
