import type { Db } from 'mongodb';
import type { MongoMigration } from '../mongo-migrator.ts';
import { EMAIL_KEY_INDEX, USERS } from '../mongo-schema.ts';

/** createIndexes is idempotent, so a run interrupted before it was recorded can simply rerun. */
export const createIndexes: MongoMigration = {
  name: '0001-create-indexes',
  async up(db: Db) {
    await db.collection(USERS).createIndexes([
      {
        key: { [EMAIL_KEY_INDEX.field]: 1 },
        name: EMAIL_KEY_INDEX.name,
        unique: true,
        // Only documents that have an address take part, like a SQL unique index ignores NULLs.
        partialFilterExpression: { [EMAIL_KEY_INDEX.field]: { $type: 'string' } },
      },
      { key: { name: 1, _id: 1 }, name: 'users_name_id' },
      { key: { createdAt: 1, _id: 1 }, name: 'users_created_at_id' },
      { key: { updatedAt: 1, _id: 1 }, name: 'users_updated_at_id' },
    ]);
  },
};
