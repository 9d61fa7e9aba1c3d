import type { ClientSession, Db } from 'mongodb';
import { currentTraceparent } from '../../telemetry/context.ts';
import type { Delivery, DeliveryStatus } from '../../users/outbox.ts';
import type { UserChange, UserEvent } from '../../users/user-events.ts';
import { newEventId, userEvent } from '../user-event-records.ts';
import {
  COUNTERS,
  EVENT_COUNTER,
  OUTBOX_EVENTS,
  type CounterDocument,
  type DeliveryDocument,
  type EventDocument,
} from './mongo-schema.ts';

/**
 * Writes the events of changes, numbered by one `$inc` of the counter. Inside the changes'
 * transaction where the deployment has them; on a standalone server right after the changes,
 * which is the documented weaker guarantee.
 */
export async function recordMongoEvents(
  db: Db,
  changes: readonly UserChange[],
  session: ClientSession | undefined,
): Promise<void> {
  if (changes.length === 0) return;
  const counter = await db
    .collection<CounterDocument>(COUNTERS)
    .findOneAndUpdate(
      { _id: EVENT_COUNTER },
      { $inc: { value: changes.length } },
      { upsert: true, returnDocument: 'after', session },
    );
  if (!counter) throw new Error('the outbox counter did not return a value');
  const first = counter.value - changes.length + 1;
  const traceparent = currentTraceparent();
  await db.collection<EventDocument>(OUTBOX_EVENTS).insertMany(
    changes.map((change, i) => ({
      _id: first + i,
      eventId: newEventId(),
      type: change.type,
      userId: change.userId,
      occurredAt: new Date(change.occurredAt),
      before: change.before,
      after: change.after,
      fannedOutAt: null,
      ...(traceparent && { traceparent }),
    })),
    { session, ordered: true },
  );
}

export const toEvent = (doc: EventDocument): UserEvent =>
  userEvent({
    id: doc.eventId,
    sequence: doc._id,
    type: doc.type,
    occurredAt: doc.occurredAt,
    userId: doc.userId,
    payload: { before: doc.before, after: doc.after } as Pick<UserEvent, 'before' | 'after'>,
    traceparent: doc.traceparent,
  });

export const toDelivery = (doc: DeliveryDocument): Omit<Delivery, 'event'> => ({
  endpoint: doc.endpoint,
  status: doc.status as DeliveryStatus,
  attempts: doc.attempts,
  pendingSince: doc.pendingSince.toISOString(),
  nextAttemptAt: doc.nextAttemptAt.toISOString(),
  lastError: doc.lastError ?? undefined,
  deliveredAt: doc.deliveredAt?.toISOString(),
});
