import type { User } from './user.ts';

export const USER_EVENT_TYPES = ['user.created', 'user.updated', 'user.deleted'] as const;
export type UserEventType = (typeof USER_EVENT_TYPES)[number];

/**
 * One change to a user, written by the store in the same transaction as the change (the
 * transactional outbox, docs/adr/0005-transactional-outbox.md): if the change fails there is no event; if it commits, so
 * does the event.
 */
export interface UserEvent {
  /** 24 lowercase hex, unique; the `webhook-id` receivers de-duplicate on. */
  id: string;
  /**
   * Per store, strictly increasing. Two changes to one user get sequences in the order they
   * committed; across users the order of numbers need not be the order of commits.
   */
  sequence: number;
  type: UserEventType;
  /** When the change happened (ISO-8601): the record's new `updatedAt`, or the deletion time. */
  occurredAt: string;
  userId: string;
  /** The record before the change; null for `user.created`. */
  before: User | null;
  /** The record after the change; null for `user.deleted`. */
  after: User | null;
  /**
   * The W3C `traceparent` of the traced request that made the change, when tracing was on: the
   * worker links its delivery spans to that trace.
   */
  traceparent?: string;
}

/** What a store needs to record an event; it assigns the id and the sequence. */
export type UserChange = Pick<UserEvent, 'type' | 'occurredAt' | 'userId' | 'before' | 'after'>;

export function createdEvent(user: User): UserChange {
  return {
    type: 'user.created',
    occurredAt: user.createdAt,
    userId: user.id,
    before: null,
    after: user,
  };
}

export function updatedEvent(before: User, after: User): UserChange {
  return { type: 'user.updated', occurredAt: after.updatedAt, userId: after.id, before, after };
}

export function deletedEvent(before: User, occurredAt: string): UserChange {
  return { type: 'user.deleted', occurredAt, userId: before.id, before, after: null };
}
