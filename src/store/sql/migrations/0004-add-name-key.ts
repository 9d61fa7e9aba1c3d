import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { SqlSchemaTools } from './index.ts';

/**
 * `name_key`: the folded name case-insensitive matching reads (see nameKey), so a `contains`
 * runs in the engine instead of calling a JavaScript lower() per row. Adding a nullable column
 * is instant on both engines, so the migration's transaction holds its lock for no time; rows
 * that exist already are folded after it, in committed batches, and the indexes that serve
 * matching are built then without blocking writes (SqlMigrator's settle step, fillNameKeys).
 */
export function addNameKey({ types, matchIndexes }: SqlSchemaTools): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('users').addColumn('name_key', types.text).execute();
    },
    async down(db: Kysely<unknown>) {
      await matchIndexes?.drop(db);
      await db.schema.alterTable('users').dropColumn('name_key').execute();
    },
  };
}
