import type { Kysely } from 'kysely';
import type {
  ClaimOptions,
  Delivery,
  DeliveryKey,
  DeliveryStatus,
  EventFilter,
  EventListing,
  FailOptions,
  Outbox,
  OutboxStats,
  PurgeOptions,
  RedeliverOptions,
} from '../../users/outbox.ts';
import { clipError, leaseUntil } from '../../users/outbox.ts';
import type { SqlEngine } from './sql-engine.ts';
import { ONE, ROWS_PER_STATEMENT, chunks, toDelivery, toEvent } from './sql-outbox-rows.ts';
import { listEvents, outboxStats, purgeSettled, redeliverDead } from './sql-outbox-upkeep.ts';
import { sequenceOf, type SqlDatabase } from './sql-schema.ts';

export { recordEvents } from './sql-outbox-rows.ts';

type Guard = <T>(operation: () => Promise<T>) => Promise<T>;
/**
 * The Outbox on the shared Kysely store. A claim picks the due rows and leases them in one
 * transaction, the pick `FOR UPDATE SKIP LOCKED` where the engine has row locks (PostgreSQL), so
 * concurrent workers never wait on each other nor take the same row; SQLite's single writer
 * (`BEGIN IMMEDIATE`) makes the transaction atomic by itself.
 */
export class SqlOutbox implements Outbox {
  private readonly db: Kysely<SqlDatabase>;
  private readonly engine: SqlEngine;
  private readonly guard: Guard;

  readonly watch?: (wake: () => void) => Promise<() => Promise<void>>;

  constructor(db: Kysely<SqlDatabase>, engine: SqlEngine, guard: Guard) {
    this.db = db;
    this.engine = engine;
    this.guard = guard;
    const signal = engine.outboxSignal;
    if (signal) this.watch = (wake) => signal.listen(wake);
  }

  fanOut(options: { endpoints: readonly string[]; now: string; limit: number }): Promise<number> {
    return this.guard(async () => {
      // A plain read first: most calls find nothing, and need not take SQLite's write lock.
      const waiting = await this.db
        .selectFrom('outbox_events')
        .select('sequence')
        .where('fanned_out_at', 'is', null)
        .limit(1)
        .executeTakeFirst();
      if (!waiting) return 0;
      return this.db.transaction().execute(async (trx) => {
        let query = trx
          .selectFrom('outbox_events')
          .select(['sequence', 'user_id'])
          .where('fanned_out_at', 'is', null)
          .orderBy('sequence')
          .limit(options.limit);
        if (this.engine.rowLocks) query = query.forUpdate().skipLocked();
        const events = await query.execute();
        if (events.length === 0) return 0;
        const rows = events.flatMap((event) =>
          options.endpoints.map((endpoint) => ({
            endpoint,
            event_sequence: sequenceOf(event.sequence),
            user_id: event.user_id,
            status: 'pending',
            attempts: 0,
            pending_since: options.now,
            next_attempt_at: options.now,
          })),
        );
        for (const part of chunks(rows, ROWS_PER_STATEMENT)) {
          await trx
            .insertInto('outbox_deliveries')
            .values(part)
            .onConflict((oc) => oc.columns(['endpoint', 'event_sequence']).doNothing())
            .execute();
        }
        for (const part of chunks(events, ROWS_PER_STATEMENT)) {
          await trx
            .updateTable('outbox_events')
            .set({ fanned_out_at: options.now })
            .where(
              'sequence',
              'in',
              part.map((e) => sequenceOf(e.sequence)),
            )
            .execute();
        }
        return events.length;
      });
    });
  }

  claim(options: ClaimOptions): Promise<Delivery[]> {
    const { endpoint, owner, limit, now } = options;
    return this.guard(async () => {
      // As in fanOut: nothing due, no write transaction.
      const due = await this.db
        .selectFrom('outbox_deliveries')
        .select('event_sequence')
        .where('endpoint', '=', endpoint)
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
        .limit(1)
        .executeTakeFirst();
      if (!due) return [];
      return this.db.transaction().execute(async (trx) => {
        let due = trx
          .selectFrom('outbox_deliveries as d')
          .select('d.event_sequence')
          .where('d.endpoint', '=', endpoint)
          .where('d.status', '=', 'pending')
          .where('d.next_attempt_at', '<=', now)
          .where((eb) => eb.or([eb('d.lease_until', 'is', null), eb('d.lease_until', '<=', now)]))
          // Per-user order: nothing earlier of this user may still be pending here…
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('outbox_deliveries as p')
                  .select(ONE.as('one'))
                  .whereRef('p.endpoint', '=', 'd.endpoint')
                  .whereRef('p.user_id', '=', 'd.user_id')
                  .where('p.status', '=', 'pending')
                  .whereRef('p.event_sequence', '<', 'd.event_sequence'),
              ),
            ),
          )
          // …nor waiting to be fanned out (another worker may be fanning it out right now).
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('outbox_events as e')
                  .select(ONE.as('one'))
                  .whereRef('e.user_id', '=', 'd.user_id')
                  .where('e.fanned_out_at', 'is', null)
                  .whereRef('e.sequence', '<', 'd.event_sequence'),
              ),
            ),
          )
          .orderBy('d.event_sequence')
          .limit(limit);
        if (this.engine.rowLocks) due = due.forUpdate().skipLocked();
        // Two statements, not UPDATE … IN (subquery): as a subquery the planner may rescan the
        // locking select once per row, which on a large backlog took seconds.
        const picked = (await due.execute()).map((row) => sequenceOf(row.event_sequence));
        if (picked.length === 0) return [];
        const leased = await trx
          .updateTable('outbox_deliveries')
          .set((eb) => ({
            lease_owner: owner,
            lease_until: leaseUntil(options),
            attempts: eb('attempts', '+', 1),
          }))
          .where('endpoint', '=', endpoint)
          .where('event_sequence', 'in', picked)
          .returningAll()
          .execute();
        if (leased.length === 0) return [];
        const events = await trx
          .selectFrom('outbox_events')
          .selectAll()
          .where(
            'sequence',
            'in',
            leased.map((row) => sequenceOf(row.event_sequence)),
          )
          .execute();
        const bySequence = new Map(events.map((row) => [sequenceOf(row.sequence), toEvent(row)]));
        return leased
          .flatMap((row) => {
            const event = bySequence.get(sequenceOf(row.event_sequence));
            return event ? [{ ...toDelivery(row), event }] : [];
          })
          .sort((a, b) => a.event.sequence - b.event.sequence);
      });
    });
  }

  complete(key: DeliveryKey, options: { owner: string; now: string }): Promise<boolean> {
    return this.settle(key, options.owner, {
      status: 'delivered',
      delivered_at: options.now,
      last_error: null,
    });
  }

  fail(key: DeliveryKey, options: FailOptions): Promise<boolean> {
    const error = clipError(options.error);
    return this.settle(
      key,
      options.owner,
      options.retryAt === undefined
        ? { status: 'dead', last_error: error }
        : { status: 'pending', next_attempt_at: options.retryAt, last_error: error },
    );
  }

  list(filter: EventFilter): Promise<EventListing[]> {
    return this.guard(() => listEvents(this.db, filter));
  }

  redeliver(options: RedeliverOptions): Promise<number> {
    return this.guard(() => redeliverDead(this.db, options));
  }

  purge(options: PurgeOptions): Promise<number> {
    return this.guard(() => purgeSettled(this.db, options));
  }

  stats(): Promise<OutboxStats> {
    return this.guard(() => outboxStats(this.db));
  }

  /** Ends an attempt, only if `owner` still holds the lease: a late worker changes nothing. */
  private settle(
    key: DeliveryKey,
    owner: string,
    changes: Partial<{
      status: DeliveryStatus;
      delivered_at: string;
      next_attempt_at: string;
      last_error: string | null;
    }>,
  ): Promise<boolean> {
    return this.guard(async () => {
      const result = await this.db
        .updateTable('outbox_deliveries')
        .set({ ...changes, lease_owner: null, lease_until: null })
        .where('endpoint', '=', key.endpoint)
        .where('event_sequence', '=', key.sequence)
        .where('lease_owner', '=', owner)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }
}
