import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { SqlSchemaTools } from './index.ts';

/**
 * The transactional outbox (docs/adr/0005-transactional-outbox.md): one row per change in `outbox_events`, one row per event
 * and endpoint in `outbox_deliveries` once a worker fans it out, and `clock_ticks`, which lets
 * only one clock run a job's tick.
 */
export function createOutbox({ types, sequenceKey }: SqlSchemaTools): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('outbox_events')
        .addColumn('sequence', types.sequence, (column) => sequenceKey(column).notNull())
        .addColumn('id', types.id, (column) => column.notNull().unique())
        .addColumn('type', types.text, (column) => column.notNull())
        .addColumn('user_id', types.id, (column) => column.notNull())
        .addColumn('occurred_at', types.timestamp, (column) => column.notNull())
        .addColumn('payload', types.text, (column) => column.notNull())
        .addColumn('fanned_out_at', types.timestamp)
        .execute();
      // The per-user ordering check: earlier events of one user.
      await db.schema
        .createIndex('outbox_events_user_sequence')
        .on('outbox_events')
        .columns(['user_id', 'sequence'])
        .execute();
      // Partial: the worker's fan-out scans only events it has not fanned out yet.
      await db.schema
        .createIndex('outbox_events_unfanned')
        .on('outbox_events')
        .column('sequence')
        .where(sql.ref('fanned_out_at'), 'is', null)
        .execute();
      await db.schema
        .createIndex('outbox_events_occurred_at')
        .on('outbox_events')
        .column('occurred_at')
        .execute();

      await db.schema
        .createTable('outbox_deliveries')
        .addColumn('endpoint', types.text, (column) => column.notNull())
        .addColumn('event_sequence', types.sequence, (column) =>
          column.notNull().references('outbox_events.sequence').onDelete('cascade'),
        )
        .addColumn('user_id', types.id, (column) => column.notNull())
        .addColumn('status', types.text, (column) => column.notNull())
        .addColumn('attempts', 'integer', (column) => column.notNull().defaultTo(0))
        // Fan-out or redelivery time: the retry policy's age limit counts from it.
        .addColumn('pending_since', types.timestamp, (column) => column.notNull())
        .addColumn('next_attempt_at', types.timestamp, (column) => column.notNull())
        .addColumn('lease_owner', types.text)
        .addColumn('lease_until', types.timestamp)
        .addColumn('last_error', types.text)
        .addColumn('delivered_at', types.timestamp)
        .addPrimaryKeyConstraint('outbox_deliveries_pk', ['endpoint', 'event_sequence'])
        .execute();
      // Claims and the ordering check read only pending rows: a small, hot, partial index.
      await db.schema
        .createIndex('outbox_deliveries_pending')
        .on('outbox_deliveries')
        .columns(['endpoint', 'user_id', 'event_sequence'])
        .where(sql.ref('status'), '=', 'pending')
        .execute();
      await db.schema
        .createIndex('outbox_deliveries_due')
        .on('outbox_deliveries')
        .columns(['endpoint', 'event_sequence'])
        .where(sql.ref('status'), '=', 'pending')
        .execute();
      await db.schema
        .createIndex('outbox_deliveries_dead')
        .on('outbox_deliveries')
        .columns(['endpoint', 'event_sequence'])
        .where(sql.ref('status'), '=', 'dead')
        .execute();
      // Purge deletes events; the foreign key's cascade (since 0007 on PostgreSQL, a trigger)
      // looks their deliveries up by sequence.
      await db.schema
        .createIndex('outbox_deliveries_event')
        .on('outbox_deliveries')
        .column('event_sequence')
        .execute();

      await db.schema
        .createTable('clock_ticks')
        .addColumn('job', types.text, (column) => column.notNull())
        .addColumn('tick', types.timestamp, (column) => column.notNull())
        .addColumn('owner', types.text, (column) => column.notNull())
        .addColumn('claimed_at', types.timestamp, (column) => column.notNull())
        .addPrimaryKeyConstraint('clock_ticks_pk', ['job', 'tick'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('clock_ticks').execute();
      await db.schema.dropTable('outbox_deliveries').execute();
      await db.schema.dropTable('outbox_events').execute();
    },
  };
}
