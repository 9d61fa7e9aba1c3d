import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { SqlSchemaTools } from './index.ts';

/**
 * The engine's storage settings for `outbox_deliveries` (SqlEngine.outboxDeliveriesTuning), where
 * it has any: on PostgreSQL, room on each page for a claim's lease to be written beside the row,
 * and no foreign key checked at every fan-out (a trigger keeps its cascade). All are catalog
 * changes: no row is rewritten, and the locks they take last no longer than that.
 */
export function tuneOutboxDeliveries({ outboxDeliveriesTuning }: SqlSchemaTools): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await outboxDeliveriesTuning?.apply(db);
    },
    async down(db: Kysely<unknown>) {
      await outboxDeliveriesTuning?.undo(db);
    },
  };
}
