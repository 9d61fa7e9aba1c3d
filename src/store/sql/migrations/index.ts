import type { ColumnDefinitionBuilder } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';
import type { SqlColumnTypes, SqlEngine } from '../sql-engine.ts';
import { createUsers } from './0001-create-users.ts';
import { createOutbox } from './0002-create-outbox.ts';
import { createIdempotencyKeys } from './0003-create-idempotency-keys.ts';
import { addNameKey } from './0004-add-name-key.ts';
import { addEventTraceContext } from './0005-add-event-trace-context.ts';
import { guardNameKey } from './0006-guard-name-key.ts';
import { tuneOutboxDeliveries } from './0007-tune-outbox-deliveries.ts';

/** What migrations need from the engine: its column types, how it numbers rows, its indexes. */
export interface SqlSchemaTools {
  types: SqlColumnTypes;
  sequenceKey: (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
  matchIndexes?: SqlEngine['matchIndexes'];
  nameKeyGuard: SqlEngine['nameKeyGuard'];
  outboxDeliveriesTuning?: SqlEngine['outboxDeliveriesTuning'];
}

/**
 * Every migration, registered by name in a static object rather than found by scanning a
 * folder, so the same code runs from src/ (type stripping) and from a compiled dist/.
 * Names sort in the order they apply; never rename or edit one that has shipped.
 */
export function sqlMigrations(tools: SqlSchemaTools): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001-create-users': createUsers(tools.types),
    '0002-create-outbox': createOutbox(tools),
    '0003-create-idempotency-keys': createIdempotencyKeys(tools.types),
    '0004-add-name-key': addNameKey(tools),
    '0005-add-event-trace-context': addEventTraceContext(tools.types),
    '0006-guard-name-key': guardNameKey(tools),
    '0007-tune-outbox-deliveries': tuneOutboxDeliveries(tools),
  };
  return { getMigrations: async () => migrations };
}
