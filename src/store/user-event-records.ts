import { ObjectId } from 'bson';
import type { User } from '../users/user.ts';
import type { UserChange, UserEvent, UserEventType } from '../users/user-events.ts';
import { toIso } from './user-records.ts';

/** Time-ordered and unique across processes and stores, like user ids. */
export function newEventId(): string {
  return new ObjectId().toHexString();
}

/** The longest failure text kept per delivery: enough to diagnose, never a whole HTML page. */
export const MAX_ERROR_LENGTH = 500;

export function clipError(error: string): string {
  return error.length > MAX_ERROR_LENGTH ? `${error.slice(0, MAX_ERROR_LENGTH - 1)}…` : error;
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

/** `now + ms` as ISO-8601. */
export function addMs(iso: string, ms: number): string {
  return new Date(Date.parse(iso) + ms).toISOString();
}
