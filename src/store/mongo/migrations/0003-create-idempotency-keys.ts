import { MongoServerError, type Db } from 'mongodb';
import type { MongoMigration } from '../mongo-migrator.ts';
import { IDEMPOTENCY_KEYS } from '../mongo-schema.ts';

const NAMESPACE_NOT_FOUND = 26;

/**
 * `Idempotency-Key`. The collection is created here, with its TTL index, because a
 * transaction cannot create one on servers before 4.4. `expireAfterSeconds: 0` makes MongoDB
 * delete a key once its own `expiresAt` has passed (checked about once a minute; the store also
 * ignores expired keys meanwhile). https://www.mongodb.com/docs/manual/core/index-ttl/
 */
export const createIdempotencyKeys: MongoMigration = {
  name: '0003-create-idempotency-keys',
  async up(db: Db) {
    await db
      .collection(IDEMPOTENCY_KEYS)
      .createIndex(
        { expiresAt: 1 },
        { name: 'idempotency_keys_expires_at', expireAfterSeconds: 0 },
      );
  },
  async down(db: Db) {
    try {
      await db.collection(IDEMPOTENCY_KEYS).drop();
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === NAMESPACE_NOT_FOUND)) throw error;
    }
  },
};
