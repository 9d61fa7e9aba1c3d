import { CompiledQuery, type Kysely, type Selectable } from 'kysely';
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
import {
  sequenceOf,
  type OutboxDeliveriesTable,
  type OutboxEventsTable,
  type SqlDatabase,
} from './sql-schema.ts';
import { ReadBatch } from './read-batch.ts';

export { recordEvents } from './sql-outbox-rows.ts';

/**
 * A claim as one statement where the engine has data-modifying CTEs (PostgreSQL): the due
 * deliveries as the two-statement claim below picks them (the same per-user order, row locks
 * skipping those another worker holds), leased, and answered with their events, in one round
 * trip and no transaction of its own. `picked` is materialized, so the locking select runs once
 * whatever plan the update gets.
 */
const CLAIM = `with picked as materialized (
    select d.endpoint, d.event_sequence from outbox_deliveries d
    where d.endpoint = $1 and d.status = 'pending' and d.next_attempt_at <= $2::timestamptz
      and (d.lease_until is null or d.lease_until <= $2::timestamptz)
      and not exists (select 1 from outbox_deliveries p
        where p.endpoint = d.endpoint and p.user_id = d.user_id and p.status = 'pending'
          and p.event_sequence < d.event_sequence)
      and not exists (select 1 from outbox_events e
        where e.user_id = d.user_id and e.fanned_out_at is null and e.sequence < d.event_sequence)
    order by d.event_sequence
    limit $3
    for update skip locked),
  leased as (
    update outbox_deliveries o
    set lease_owner = $4, lease_until = $5::timestamptz, attempts = o.attempts + 1
    from picked p where o.endpoint = p.endpoint and o.event_sequence = p.event_sequence
    returning o.*)
  select l.*, e.sequence, e.id, e.type, e.occurred_at, e.payload, e.trace_parent
  from leased l join outbox_events e on e.sequence = l.event_sequence
  order by l.event_sequence`;

type Guard = <T>(operation: () => Promise<T>) => Promise<T>;
/**
 * The Outbox on the shared Kysely store. On PostgreSQL a claim is one statement (CLAIM above), its
 * pick `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on each other nor take the same
 * row; on SQLite it picks the due rows and leases them in one transaction, which the single writer
 * (`BEGIN IMMEDIATE`) makes atomic by itself.
 */
export class SqlOutbox implements Outbox {
  private readonly db: Kysely<SqlDatabase>;
  private readonly engine: SqlEngine;
  private readonly guard: Guard;
  /**
   * Completions that arrive together, as one UPDATE per worker and URL: one round trip and one
   * commit for the webhooks that finished in the same turn of the event loop, where each took
   * its own. Keyed by owner, URL and sequence; each one's time waits in `completedAt`.
   */
  private readonly completions = new ReadBatch<string, true>((keys) => this.completeMany(keys));
  private readonly completedAt = new Map<string, string>();

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
    const statement = this.engine.writeStatement;
    if (statement)
      return this.guard(async () => {
        const rows = (await statement(
          CompiledQuery.raw(CLAIM, [endpoint, now, limit, owner, leaseUntil(options)]),
        )) as (Selectable<OutboxDeliveriesTable> & Selectable<OutboxEventsTable>)[];
        return rows.map((row) => ({ ...toDelivery(row), event: toEvent(row) }));
      });
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
    const id = JSON.stringify([options.owner, key.endpoint, key.sequence]);
    this.completedAt.set(id, options.now);
    return this.guard(async () => (await this.completions.get(id)) === true);
  }

  /**
   * Marks delivered the leases of `ids` their owner still holds, and answers those. The batch is
   * recorded as delivered at the latest of its completions' times: none is later than its
   * commit.
   */
  private async completeMany(ids: string[]): Promise<Map<string, true>> {
    let now = '';
    const groups = new Map<string, { owner: string; endpoint: string; sequences: number[] }>();
    for (const id of ids) {
      const at = this.completedAt.get(id)!;
      this.completedAt.delete(id);
      if (at > now) now = at;
      const [owner, endpoint, sequence] = JSON.parse(id) as [string, string, number];
      const group = JSON.stringify([owner, endpoint]);
      const found = groups.get(group) ?? { owner, endpoint, sequences: [] };
      found.sequences.push(sequence);
      groups.set(group, found);
    }
    const settled = new Map<string, true>();
    for (const { owner, endpoint, sequences } of groups.values()) {
      const rows = await this.db
        .updateTable('outbox_deliveries')
        .set({
          status: 'delivered',
          delivered_at: now,
          last_error: null,
          lease_owner: null,
          lease_until: null,
        })
        .where('endpoint', '=', endpoint)
        .where('event_sequence', 'in', sequences)
        .where('lease_owner', '=', owner)
        .where('status', '=', 'pending')
        .returning('event_sequence')
        .execute();
      for (const row of rows)
        settled.set(JSON.stringify([owner, endpoint, sequenceOf(row.event_sequence)]), true);
    }
    return settled;
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
