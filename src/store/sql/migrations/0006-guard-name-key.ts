import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { SqlSchemaTools } from './index.ts';

/**
 * Keeps `name_key` true whatever release writes (see fillNameKeys): a trigger sets it NULL
 * when a write leaves it stale, and the engine's `users_name_fold` folds those rows' names
 * where matching meets them. A trigger is created in no time, so the lock is brief.
 */
export function guardNameKey({ nameKeyGuard }: SqlSchemaTools): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await nameKeyGuard.create(db);
    },
    async down(db: Kysely<unknown>) {
      await nameKeyGuard.drop(db);
    },
  };
}
