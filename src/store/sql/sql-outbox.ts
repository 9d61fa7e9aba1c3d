import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
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
  TickClaim,
} from '../../users/outbox.ts';
import type { UserChange, UserEvent } from '../../users/user-events.ts';
import { toIso } from '../user-records.ts';
import { addMs, clipError, eventPayload, newEventId, userEvent } from '../user-event-records.ts';
import type { SqlEngine } from './sql-engine.ts';
import {
  sequenceOf,
  type OutboxDeliveriesTable,
  type OutboxEventsTable,
  type SqlDatabase,
} from './sql-schema.ts';

type Guard = <T>(operation: () => Promise<T>) => Promise<T>;
type Db = Kysely<SqlDatabase> | Transaction<SqlDatabase>;

/** Rows per statement: six parameters each keeps every statement under SQLite's 32,766. */
const ROWS_PER_STATEMENT = 1000;
const ONE = sql<number>`1`;

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );

const eventRow = (change: UserChange) => ({
  id: newEventId(),
  type: change.type,
  user_id: change.userId,
  occurred_at: change.occurredAt,
  payload: eventPayload(change),
  fanned_out_at: null,
});

/** Writes a change's event; called inside the transaction that makes the change. */
export async function recordEvent(
  trx: Transaction<SqlDatabase>,
  change: UserChange,
): Promise<void> {
  await trx.insertInto('outbox_events').values(eventRow(change)).execute();
}

/** Many events in few statements, for importMany; in the import's transaction. */
export async function recordEvents(
  trx: Transaction<SqlDatabase>,
  changes: readonly UserChange[],
): Promise<void> {
  for (const part of chunks(changes, ROWS_PER_STATEMENT))
    await trx.insertInto('outbox_events').values(part.map(eventRow)).execute();
}

const toEvent = (row: Selectable<OutboxEventsTable>): UserEvent =>
  userEvent({
    id: row.id,
    sequence: sequenceOf(row.sequence),
    type: row.type,
    occurredAt: row.occurred_at,
    userId: row.user_id,
    payload: row.payload,
  });

const optionalIso = (value: string | Date | null) => (value === null ? undefined : toIso(value));

const toDelivery = (row: Selectable<OutboxDeliveriesTable>): Omit<Delivery, 'event'> => ({
  endpoint: row.endpoint,
  status: row.status as DeliveryStatus,
  attempts: row.attempts,
  pendingSince: toIso(row.pending_since),
  nextAttemptAt: toIso(row.next_attempt_at),
  lastError: row.last_error ?? undefined,
  deliveredAt: optionalIso(row.delivered_at),
});

/**
 * The Outbox on the shared Kysely store. Claims are one atomic statement: an UPDATE of the rows
 * a subquery picks, `FOR UPDATE SKIP LOCKED` where the engine has row locks (PostgreSQL), so
 * concurrent workers never wait on each other nor take the same row; SQLite's single writer
 * (`BEGIN IMMEDIATE`) makes the same UPDATE … RETURNING atomic by itself.
 */
export class SqlOutbox implements Outbox {
  private readonly db: Kysely<SqlDatabase>;
  private readonly engine: SqlEngine;
  private readonly guard: Guard;

  constructor(db: Kysely<SqlDatabase>, engine: SqlEngine, guard: Guard) {
    this.db = db;
    this.engine = engine;
    this.guard = guard;
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
            lease_until: addMs(now, options.leaseMs),
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
    return this.guard(async () => {
      let query = this.db.selectFrom('outbox_events as e').selectAll('e');
      if (filter.type !== undefined) query = query.where('e.type', '=', filter.type);
      if (filter.userId !== undefined) query = query.where('e.user_id', '=', filter.userId);
      if (filter.afterSequence !== undefined)
        query = query.where('e.sequence', '>', filter.afterSequence);
      if (filter.status !== undefined || filter.endpoint !== undefined) {
        query = query.where(({ exists, selectFrom }) => {
          let deliveries = selectFrom('outbox_deliveries as d')
            .select(ONE.as('one'))
            .whereRef('d.event_sequence', '=', 'e.sequence');
          if (filter.status !== undefined)
            deliveries = deliveries.where('d.status', '=', filter.status);
          if (filter.endpoint !== undefined)
            deliveries = deliveries.where('d.endpoint', '=', filter.endpoint);
          return exists(deliveries);
        });
      }
      const events = await query.orderBy('e.sequence').limit(filter.limit).execute();
      if (events.length === 0) return [];
      let deliveries = this.db
        .selectFrom('outbox_deliveries')
        .selectAll()
        .where(
          'event_sequence',
          'in',
          events.map((row) => sequenceOf(row.sequence)),
        );
      if (filter.endpoint !== undefined)
        deliveries = deliveries.where('endpoint', '=', filter.endpoint);
      const rows = await deliveries.orderBy('endpoint').execute();
      return events.map((row) => {
        const sequence = sequenceOf(row.sequence);
        return {
          event: toEvent(row),
          deliveries: rows.filter((d) => sequenceOf(d.event_sequence) === sequence).map(toDelivery),
        };
      });
    });
  }

  redeliver(options: RedeliverOptions): Promise<number> {
    return this.guard(async () => {
      let query = this.db
        .updateTable('outbox_deliveries')
        .set({
          status: 'pending',
          attempts: 0,
          pending_since: options.now,
          next_attempt_at: options.now,
          lease_owner: null,
          lease_until: null,
        })
        .where('status', '=', 'dead');
      if (options.endpoint !== undefined) query = query.where('endpoint', '=', options.endpoint);
      if (options.sequence !== undefined)
        query = query.where('event_sequence', '=', options.sequence);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
  }

  purge(options: PurgeOptions): Promise<number> {
    return this.guard(async () => {
      let purged = 0;
      for (;;) {
        let doomed = this.db
          .selectFrom('outbox_events as e')
          .select('e.sequence')
          .where('e.occurred_at', '<', options.before)
          .orderBy('e.sequence')
          .limit(options.batchSize);
        if (options.endpoints.length > 0) {
          doomed = doomed
            .where('e.fanned_out_at', 'is not', null)
            .where(({ not, exists, selectFrom }) =>
              not(
                exists(
                  selectFrom('outbox_deliveries as d')
                    .select(ONE.as('one'))
                    .whereRef('d.event_sequence', '=', 'e.sequence')
                    .where('d.status', 'in', ['pending', 'dead'])
                    .where('d.endpoint', 'in', [...options.endpoints]),
                ),
              ),
            );
        }
        const result = await this.db
          .deleteFrom('outbox_events')
          .where('sequence', 'in', doomed)
          .executeTakeFirst();
        const deleted = Number(result.numDeletedRows);
        purged += deleted;
        if (deleted < options.batchSize) break;
      }
      await this.db.deleteFrom('clock_ticks').where('tick', '<', options.before).execute();
      return purged;
    });
  }

  stats(): Promise<OutboxStats> {
    return this.guard(async () => {
      const count = (db: Db, status: DeliveryStatus) =>
        db
          .selectFrom('outbox_deliveries')
          .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
          .where('status', '=', status)
          .executeTakeFirstOrThrow();
      const [unfanned, pending, dead, oldestUnfanned, oldestPending] = await Promise.all([
        this.db
          .selectFrom('outbox_events')
          .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
          .where('fanned_out_at', 'is', null)
          .executeTakeFirstOrThrow(),
        count(this.db, 'pending'),
        count(this.db, 'dead'),
        this.db
          .selectFrom('outbox_events')
          .select('occurred_at')
          .where('fanned_out_at', 'is', null)
          .orderBy('sequence')
          .limit(1)
          .executeTakeFirst(),
        // Sequences follow time closely enough: the lowest pending one is the oldest waiting.
        this.db
          .selectFrom('outbox_events')
          .select('occurred_at')
          .where('sequence', '=', (eb) =>
            eb
              .selectFrom('outbox_deliveries')
              .select((inner) => inner.fn.min('event_sequence').as('first'))
              .where('status', '=', 'pending'),
          )
          .executeTakeFirst(),
      ]);
      const times = [oldestUnfanned, oldestPending].flatMap((row) =>
        row ? [toIso(row.occurred_at)] : [],
      );
      return {
        unfannedEvents: Number(unfanned.n),
        pendingDeliveries: Number(pending.n),
        deadLetters: Number(dead.n),
        oldestWaitingAt: times.sort()[0],
      };
    });
  }

  claimTick(claim: TickClaim): Promise<boolean> {
    return this.guard(async () => {
      const result = await this.db
        .insertInto('clock_ticks')
        .values({ job: claim.job, tick: claim.tick, owner: claim.owner, claimed_at: claim.now })
        .onConflict((oc) => oc.columns(['job', 'tick']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    });
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
