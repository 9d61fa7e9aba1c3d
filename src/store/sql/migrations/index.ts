import type { Migration, MigrationProvider } from 'kysely/migration';
import type { SqlColumnTypes } from '../sql-engine.ts';
import { createUsers } from './0001-create-users.ts';

/**
 * Every migration, registered by name in a static object rather than found by scanning a
 * folder, so the same code runs from src/ (type stripping) and from a compiled dist/.
 * Names sort in the order they apply; never rename or edit one that has shipped.
 */
export function sqlMigrations(types: SqlColumnTypes): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001-create-users': createUsers(types),
  };
  return { getMigrations: async () => migrations };
}
