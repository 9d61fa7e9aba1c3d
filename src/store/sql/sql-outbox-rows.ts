import { sql, type Selectable, type Transaction } from 'kysely';
import type { Delivery, DeliveryStatus } from '../../users/outbox.ts';
import type { UserChange, UserEvent } from '../../users/user-events.ts';
import { currentTraceparent } from '../../telemetry/context.ts';
import { toIso } from '../user-records.ts';
import { eventPayload, newEventId, userEvent } from '../user-event-records.ts';
import {
  sequenceOf,
  type OutboxDeliveriesTable,
  type OutboxEventsTable,
  type SqlDatabase,
} from './sql-schema.ts';

/** Rows per statement: six parameters each keeps every statement under SQLite's 32,766. */
export const ROWS_PER_STATEMENT = 1000;
export const ONE = sql<number>`1`;
export const ZERO = sql<number>`0`;
/**
 * `'pending'` written into the statement, not bound: the pending rows' indexes are partial
 * (`where status = 'pending'`), and a value bound where it may decide the plan (whether such
 * an index applies) makes SQLite compile the statement anew at each run
 * (https://www.sqlite.org/c3ref/prepare.html, on sqlite3_prepare_v2's third advantage). Bound,
 * the claim's probe took 29 µs instead of 2, its pick about four times as long.
 */
export const PENDING = sql.lit('pending');

export const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );

/** A change's row in outbox_events (one by SqlRecordStatements, many at once by recordEvents). */
export const eventRow = (change: UserChange) => ({
  id: newEventId(),
  type: change.type,
  user_id: change.userId,
  occurred_at: change.occurredAt,
  payload: eventPayload(change),
  fanned_out_at: null,
  trace_parent: currentTraceparent(),
});

/** Many events in few statements, for importMany; in the import's transaction. */
export async function recordEvents(
  trx: Transaction<SqlDatabase>,
  changes: readonly UserChange[],
): Promise<void> {
  for (const part of chunks(changes, ROWS_PER_STATEMENT))
    await trx.insertInto('outbox_events').values(part.map(eventRow)).execute();
}

export const toEvent = (row: Selectable<OutboxEventsTable>): UserEvent =>
  userEvent({
    id: row.id,
    sequence: sequenceOf(row.sequence),
    type: row.type,
    occurredAt: row.occurred_at,
    userId: row.user_id,
    payload: row.payload,
    traceparent: row.trace_parent,
  });

const optionalIso = (value: string | Date | null) => (value === null ? undefined : toIso(value));

export const toDelivery = (row: Selectable<OutboxDeliveriesTable>): Omit<Delivery, 'event'> => ({
  endpoint: row.endpoint,
  status: row.status as DeliveryStatus,
  attempts: row.attempts,
  pendingSince: toIso(row.pending_since),
  nextAttemptAt: toIso(row.next_attempt_at),
  lastError: row.last_error ?? undefined,
  deliveredAt: optionalIso(row.delivered_at),
});
