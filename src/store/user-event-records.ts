import { ObjectId } from 'bson';
import type { User } from '../users/user.ts';
import type { UserChange, UserEvent, UserEventType } from '../users/user-events.ts';
import { toIso } from './user-records.ts';

/** Time-ordered and unique across processes and stores, like user ids. */
export function newEventId(): string {
  return new ObjectId().toHexString();
}

/** The stored body of an event: the records before and after, as the API prints them. */
export function eventPayload(change: UserChange): string {
  return JSON.stringify({ before: change.before, after: change.after });
}

export function userEvent(parts: {
  id: string;
  sequence: number;
  type: string;
  occurredAt: string | Date;
  userId: string;
  payload: string | { before: User | null; after: User | null };
  traceparent?: string | null | undefined;
}): UserEvent {
  const payload =
    typeof parts.payload === 'string'
      ? (JSON.parse(parts.payload) as { before: User | null; after: User | null })
      : parts.payload;
  return {
    id: parts.id,
    sequence: parts.sequence,
    type: parts.type as UserEventType,
    occurredAt: toIso(parts.occurredAt),
    userId: parts.userId,
    before: payload.before,
    after: payload.after,
    // Only when present, so an untraced event has the same shape as before tracing existed.
    ...(parts.traceparent && { traceparent: parts.traceparent }),
  };
}
