import type { MongoMigration } from '../mongo-migrator.ts';
import { createIndexes } from './0001-create-indexes.ts';
import { createOutbox } from './0002-create-outbox.ts';
import { createIdempotencyKeys } from './0003-create-idempotency-keys.ts';

/** In the order they apply; never rename or edit one that has shipped. */
export const mongoMigrations: readonly MongoMigration[] = [
  createIndexes,
  createOutbox,
  createIdempotencyKeys,
];
