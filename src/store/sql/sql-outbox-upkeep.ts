import type { Kysely } from 'kysely';
import type {
  DeliveryStatus,
  EventFilter,
  EventListing,
  OutboxStats,
  PurgeOptions,
  RedeliverOptions,
} from '../../users/outbox.ts';
import { toIso } from '../user-records.ts';
import { ONE, toDelivery, toEvent } from './sql-outbox-rows.ts';
import { sequenceOf, type SqlDatabase } from './sql-schema.ts';

/*
 * The outbox's upkeep on the shared Kysely store: what `admin events` and the clock use. The
 * delivery path (fan-out, claims, settling) is in sql-outbox.ts.
 */

/** Events oldest first, with their deliveries (to `filter.endpoint` only, when given). */
export async function listEvents(
  db: Kysely<SqlDatabase>,
  filter: EventFilter,
): Promise<EventListing[]> {
  let query = db.selectFrom('outbox_events as e').selectAll('e');
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
  let deliveries = db
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
}

/** Dead letters pending again, due at once, with a fresh retry budget. */
export async function redeliverDead(
  db: Kysely<SqlDatabase>,
  options: RedeliverOptions,
): Promise<number> {
  let query = db
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
  if (options.sequence !== undefined) query = query.where('event_sequence', '=', options.sequence);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Old events settled for every endpoint in use, in batches. */
export async function purgeSettled(
  db: Kysely<SqlDatabase>,
  options: PurgeOptions,
): Promise<number> {
  let purged = 0;
  for (;;) {
    let doomed = db
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
    const result = await db
      .deleteFrom('outbox_events')
      .where('sequence', 'in', doomed)
      .executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    purged += deleted;
    if (deleted < options.batchSize) break;
  }
  return purged;
}

/** Counts and the oldest waiting event, for the lag gauge and the report. */
export async function outboxStats(db: Kysely<SqlDatabase>): Promise<OutboxStats> {
  const count = (status: DeliveryStatus) =>
    db
      .selectFrom('outbox_deliveries')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('status', '=', status)
      .executeTakeFirstOrThrow();
  const [unfanned, pending, dead, oldestUnfanned, oldestPending] = await Promise.all([
    db
      .selectFrom('outbox_events')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('fanned_out_at', 'is', null)
      .executeTakeFirstOrThrow(),
    count('pending'),
    count('dead'),
    db
      .selectFrom('outbox_events')
      .select('occurred_at')
      .where('fanned_out_at', 'is', null)
      .orderBy('sequence')
      .limit(1)
      .executeTakeFirst(),
    // Sequences follow time closely enough: the lowest pending one is the oldest waiting.
    db
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
}
