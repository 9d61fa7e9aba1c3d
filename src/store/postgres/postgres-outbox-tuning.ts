import { sql } from 'kysely';
import type { SqlEngine } from '../sql/sql-engine.ts';

/** Filled to half by inserts, each page keeps room for its rows' next versions. */
const FILL_PERCENT = 50;
const FOREIGN_KEY = 'outbox_deliveries_event_sequence_fkey';
const CASCADE = 'outbox_events_delete_deliveries';

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
 * it, in the statement that has just read that event and is marking it fanned out. Its other
 * half, deleting an event's deliveries with it, is kept as a trigger run once per statement, so
 * whatever deletes events (purge, of this release or of the one before) still leaves no
 * delivery behind.
 */
export const postgresOutboxTuning: NonNullable<SqlEngine['outboxDeliveriesTuning']> = {
  apply: async (db) => {
    await sql`alter table outbox_deliveries set (fillfactor = ${sql.lit(FILL_PERCENT)})`.execute(
      db,
    );
    await sql`create function ${sql.ref(CASCADE)}() returns trigger language plpgsql as $$
      begin
        delete from outbox_deliveries d using gone where d.event_sequence = gone.sequence;
        return null;
      end $$`.execute(db);
    await sql`create trigger ${sql.ref(CASCADE)} after delete on outbox_events
      referencing old table as gone for each statement
      execute function ${sql.ref(CASCADE)}()`.execute(db);
    await sql`alter table outbox_deliveries drop constraint if exists ${sql.ref(FOREIGN_KEY)}`.execute(
      db,
    );
  },
  undo: async (db) => {
    await sql`drop trigger if exists ${sql.ref(CASCADE)} on outbox_events`.execute(db);
    await sql`drop function if exists ${sql.ref(CASCADE)}()`.execute(db);
    await sql`alter table outbox_deliveries add constraint ${sql.ref(FOREIGN_KEY)}
      foreign key (event_sequence) references outbox_events (sequence) on delete cascade`.execute(
      db,
    );
    await sql`alter table outbox_deliveries reset (fillfactor)`.execute(db);
  },
};
