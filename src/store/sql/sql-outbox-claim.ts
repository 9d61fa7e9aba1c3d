import { CompiledQuery, type Kysely, type Selectable } from 'kysely';
import type { ClaimOptions, Delivery } from '../../users/outbox.ts';
import { leaseUntil } from '../../users/outbox.ts';
import { ONE, PENDING, toDelivery, toEvent } from './sql-outbox-rows.ts';
import type { SqlEngine } from './sql-engine.ts';
import {
  sequenceOf,
  type OutboxDeliveriesTable,
  type OutboxEventsTable,
  type SqlDatabase,
} from './sql-schema.ts';

type ClaimedRow = Selectable<OutboxDeliveriesTable> & Selectable<OutboxEventsTable>;

/**
 * A claim as one statement where the engine has data-modifying CTEs (PostgreSQL): the due
 * deliveries as the two-statement claim below picks them (the same per-user order, row locks
 * skipping those another worker holds), leased, and answered with their events, in one round
 * trip and no transaction of its own. `picked` is materialized, so the locking select runs once
 * whatever plan the update gets. The update finds its rows by primary key through an array of
 * the picked sequences: joined to `picked` instead, the generic plan PostgreSQL switches a
 * prepared statement to after five runs (it cannot know the LIMIT) hashed the whole
 * outbox_deliveries table on every claim, 27 ms at 20,000 rows, so the drain slowed as the
 * backlog grew. Each per-user check ends in `offset 0`, which keeps it a subplan run per
 * candidate (two index probes by user) rather than an anti-join: planned from statistics taken
 * while few deliveries were pending, the anti-join scanned every pending delivery for each
 * candidate, 40 ms a claim of 40 once 10,000 were pending (0.9 ms as subplans), and a burst of
 * changes made the workers fall ever further behind. The check for a user's events not fanned
 * out yet starts at the oldest such event (`unfanned`, found once a claim): PostgreSQL keeps an
 * entry in `outbox_events_unfanned` for each event fanned out since the last VACUUM, nearly all
 * older than the events still waiting, and the check walked them from the start for every
 * candidate, 82 index pages each (10,577 of a claim's 14,536) with 30,000 fanned out since.
 * Candidates are mostly older than every waiting event, so most checks are now one probe of an
 * empty range (bench:events at a fixed 4,500 changes a second: 19.8 pages a delivery for the
 * claim, against 31-38). The columns are listed, never `*`: the statement is prepared by
 * name on each pooled connection, and a prepared statement whose result gains a column (a
 * migration adding one) fails once per connection ("cached plan must not change result type").
 */
export const CLAIM = `with unfanned as materialized (
    select min(sequence) as first from outbox_events where fanned_out_at is null),
  picked as materialized (
    select d.endpoint, d.event_sequence from outbox_deliveries d
    where d.endpoint = $1 and d.status = 'pending' and d.next_attempt_at <= $2::timestamptz
      and (d.lease_until is null or d.lease_until <= $2::timestamptz)
      and not exists (select 1 from outbox_deliveries p
        where p.endpoint = d.endpoint and p.user_id = d.user_id and p.status = 'pending'
          and p.event_sequence < d.event_sequence offset 0)
      and not exists (select 1 from outbox_events e
        where e.user_id = d.user_id and e.fanned_out_at is null and e.sequence < d.event_sequence
          and e.sequence >= (select first from unfanned)
        offset 0)
    order by d.event_sequence
    limit $3
    for update skip locked),
  leased as (
    update outbox_deliveries o
    set lease_owner = $4, lease_until = $5::timestamptz, attempts = o.attempts + 1
    where o.endpoint = $1 and o.event_sequence = any(array(select event_sequence from picked))
    returning o.endpoint, o.event_sequence, o.status, o.attempts, o.pending_since,
      o.next_attempt_at, o.last_error, o.delivered_at)
  select l.endpoint, l.event_sequence, l.status, l.attempts, l.pending_since, l.next_attempt_at,
    l.last_error, l.delivered_at,
    e.sequence, e.id, e.type, e.user_id, e.occurred_at, e.payload, e.trace_parent
  from leased l join outbox_events e on e.sequence = l.event_sequence
  order by l.event_sequence`;

/** The one-statement claim, run by the engine's `writeStatement` (prepared by name). */
export async function claimInOneStatement(
  statement: (query: CompiledQuery) => Promise<unknown[]>,
  options: ClaimOptions,
): Promise<Delivery[]> {
  const { endpoint, owner, limit, now } = options;
  const rows = (await statement(
    CompiledQuery.raw(CLAIM, [endpoint, now, limit, owner, leaseUntil(options)]),
  )) as ClaimedRow[];
  return rows.map((row) => ({ ...toDelivery(row), event: toEvent(row) }));
}

/**
 * The claim where a claim cannot be one statement (SQLite): a probe that needs no write lock,
 * then the due rows picked and leased in one transaction, which the single writer
 * (`BEGIN IMMEDIATE`) makes atomic by itself; `rowLocks` adds `FOR UPDATE SKIP LOCKED` where the
 * engine has it.
 */
export async function claimInTransaction(
  db: Kysely<SqlDatabase>,
  options: ClaimOptions & { rowLocks: boolean; anyOf: SqlEngine['anyOf'] },
): Promise<Delivery[]> {
  const { endpoint, owner, limit, anyOf } = options;
  // As in fanOut: nothing due, no write transaction.
  if (!(await dueAt(db, options).limit(1).executeTakeFirst())) return [];
  return db.transaction().execute(async (trx) => {
    let due = dueAt(trx, options)
      // Per-user order: nothing earlier of this user may still be pending here…
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('outbox_deliveries as p')
              .select(ONE.as('one'))
              .whereRef('p.endpoint', '=', 'd.endpoint')
              .whereRef('p.user_id', '=', 'd.user_id')
              .where('p.status', '=', PENDING)
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
    if (options.rowLocks) due = due.forUpdate().skipLocked();
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
      // The sequences as one bound list: one statement for every claim's length.
      .where(anyOf.where('event_sequence', anyOf.bind(picked)))
      .returningAll()
      .execute();
    if (leased.length === 0) return [];
    const events = await trx
      .selectFrom('outbox_events')
      .selectAll()
      .where(
        anyOf.where('sequence', anyOf.bind(leased.map((row) => sequenceOf(row.event_sequence)))),
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
}

/** Deliveries to `endpoint` due at `now` and not leased (or their lease run out), as `d`. */
function dueAt(db: Kysely<SqlDatabase>, { endpoint, now }: ClaimOptions) {
  return db
    .selectFrom('outbox_deliveries as d')
    .select('d.event_sequence')
    .where('d.endpoint', '=', endpoint)
    .where('d.status', '=', PENDING)
    .where('d.next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('d.lease_until', 'is', null), eb('d.lease_until', '<=', now)]));
}
