import { sql } from 'kysely';
import type { SqlEngine } from '../sql/sql-engine.ts';

/** Filled to half by inserts, each page keeps room for its rows' next versions. */
const FILL_PERCENT = 50;
const FOREIGN_KEY = 'outbox_deliveries_event_sequence_fkey';

/**
 * Migration 0007 on PostgreSQL: what a delivery costs the server between its fan-out and its
 * answer, at thousands a second.
 *
 * A claim leases each delivery it takes (`lease_owner`, `lease_until`, `attempts`). No index
 * covers those columns, so PostgreSQL can write the new version on the same page and add no
 * index entry (a HOT update), but only if the page has room; filled to the brim by the fan-out's
 * inserts, none had, and every lease added an entry to each of the table's four indexes that
 * hold pending rows, for the claims' scans to walk and VACUUM to remove. Pages now fill to half.
 *
 * The foreign key to `outbox_events` made each fan-out insert look its event up again and lock
 * it, in the statement that has just read that event and is marking it fanned out. Purge deletes
 * an event's deliveries itself (purgeSettled), which is all the key's cascade did.
 */
export const postgresOutboxTuning: NonNullable<SqlEngine['outboxDeliveriesTuning']> = {
  apply: async (db) => {
    await sql`alter table outbox_deliveries set (fillfactor = ${sql.lit(FILL_PERCENT)})`.execute(
      db,
    );
    await sql`alter table outbox_deliveries drop constraint if exists ${sql.ref(FOREIGN_KEY)}`.execute(
      db,
    );
  },
  undo: async (db) => {
    // Deliveries whose event is gone cannot satisfy the key: they go first.
    await sql`delete from outbox_deliveries d
      where not exists (select 1 from outbox_events e where e.sequence = d.event_sequence)`.execute(
      db,
    );
    await sql`alter table outbox_deliveries add constraint ${sql.ref(FOREIGN_KEY)}
      foreign key (event_sequence) references outbox_events (sequence) on delete cascade`.execute(
      db,
    );
    await sql`alter table outbox_deliveries reset (fillfactor)`.execute(db);
  },
};
