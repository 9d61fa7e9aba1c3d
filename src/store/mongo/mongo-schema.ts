import type { ObjectId } from 'mongodb';

export const USERS = 'users';
export const MIGRATIONS = 'migrations';

/** A user as stored: no `email`/`emailKey` keys at all when the user has no address. */
export interface UserDocument {
  _id: ObjectId;
  name: string;
  email?: string;
  emailKey?: string;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * The unique index on addresses. It is partial (only documents that have an address take part,
 * as a SQL unique index ignores NULLs), so a query can use it only when it includes the filter
 * expression: https://www.mongodb.com/docs/manual/core/index-partial/#query-coverage
 */
export const EMAIL_KEY_INDEX = {
  name: 'users_email_key_unique',
  field: 'emailKey',
  partialFilterExpression: { emailKey: { $type: 'string' } },
} as const;

export const OUTBOX_EVENTS = 'outbox_events';
export const OUTBOX_DELIVERIES = 'outbox_deliveries';
export const COUNTERS = 'counters';
export const CLOCK_TICKS = 'clock_ticks';
/** The counter document that numbers outbox events. */
export const EVENT_COUNTER = 'outbox_events';

/** A record as the API prints it, embedded in an event. */
interface RecordDocument {
  name: string;
  email?: string;
  createdAt: string;
  updatedAt: string;
  id: string;
}

/** One change; `_id` is its sequence, from the `counters` document. */
export interface EventDocument {
  _id: number;
  eventId: string;
  type: string;
  userId: string;
  occurredAt: Date;
  before: RecordDocument | null;
  after: RecordDocument | null;
  fannedOutAt: Date | null;
  /** The W3C traceparent of the traced request that made the change; absent when untraced. */
  traceparent?: string;
}

/** `_id` is `<sequence> <endpoint>`, so fanning out twice upserts the same document. */
export interface DeliveryDocument {
  _id: string;
  endpoint: string;
  sequence: number;
  userId: string;
  status: string;
  attempts: number;
  pendingSince: Date;
  nextAttemptAt: Date;
  leaseOwner: string | null;
  leaseUntil: Date | null;
  lastError: string | null;
  deliveredAt: Date | null;
}

export interface CounterDocument {
  _id: string;
  value: number;
}

/** `_id` is `<job> <tick>`: the unique key that lets one clock run a tick. */
export interface TickDocument {
  _id: string;
  job: string;
  tick: Date;
  owner: string;
  claimedAt: Date;
}

export const IDEMPOTENCY_KEYS = 'idempotency_keys';

/** One `Idempotency-Key`; a TTL index on `expiresAt` deletes it once expired. */
export interface IdempotencyKeyDocument {
  _id: { scope: string; key: string };
  fingerprint: string;
  userId: string;
  /** The record as first created, replayed if the user is removed before the key expires. */
  record: RecordDocument;
  createdAt: Date;
  expiresAt: Date;
}
