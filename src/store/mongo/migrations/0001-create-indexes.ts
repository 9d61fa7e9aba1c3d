import { MongoServerError, type Db } from 'mongodb';
import type { MongoMigration } from '../mongo-migrator.ts';
import { EMAIL_KEY_INDEX, USERS } from '../mongo-schema.ts';

const INDEX_NOT_FOUND = 27;
const NAMESPACE_NOT_FOUND = 26;

/** createIndexes is idempotent, so a run interrupted before it was recorded can simply rerun. */
export const createIndexes: MongoMigration = {
  name: '0001-create-indexes',
  async up(db: Db) {
    await db.collection(USERS).createIndexes([
      {
        key: { [EMAIL_KEY_INDEX.field]: 1 },
        name: EMAIL_KEY_INDEX.name,
        unique: true,
        partialFilterExpression: EMAIL_KEY_INDEX.partialFilterExpression,
      },
      { key: { name: 1, _id: 1 }, name: 'users_name_id' },
      { key: { createdAt: 1, _id: 1 }, name: 'users_created_at_id' },
      { key: { updatedAt: 1, _id: 1 }, name: 'users_updated_at_id' },
    ]);
  },
  /** Drops the indexes; the documents stay (MongoDB needs no schema to hold them). */
  async down(db: Db) {
    const names = [
      EMAIL_KEY_INDEX.name,
      'users_name_id',
      'users_created_at_id',
      'users_updated_at_id',
    ];
    for (const name of names) {
      try {
        await db.collection(USERS).dropIndex(name);
      } catch (error) {
        const gone =
          error instanceof MongoServerError &&
          (error.code === INDEX_NOT_FOUND || error.code === NAMESPACE_NOT_FOUND);
        if (!gone) throw error;
      }
    }
  },
};
