import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { SqlColumnTypes } from '../sql-engine.ts';

/**
 * The W3C `traceparent` of the traced request that made a change, kept with its event so the
 * worker's delivery span can link to it (https://www.w3.org/TR/trace-context/#traceparent-header).
 * Null when tracing was off. Adding a nullable column rewrites no row on either engine.
 */
export function addEventTraceContext(types: SqlColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('outbox_events').addColumn('trace_parent', types.text).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('outbox_events').dropColumn('trace_parent').execute();
    },
  };
}
