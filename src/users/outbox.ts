import type { UserEvent, UserEventType } from './user-events.ts';

/**
 * `pending` until an attempt succeeds (`delivered`) or the retry policy gives up (`dead`, a
 * dead letter kept for inspection and `admin events redeliver`).
 */
export type DeliveryStatus = 'pending' | 'delivered' | 'dead';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'dead'];

/** One event on its way to one endpoint (a URL of WEBHOOK_URLS). */
export interface Delivery {
  endpoint: string;
  event: UserEvent;
  status: DeliveryStatus;
  /** Attempts started so far; a claim starts one, so a crashed attempt counts too. */
  attempts: number;
  /** When it last became pending (fan-out or redelivery): the retry policy's age counts from it. */
  pendingSince: string;
  /** When the next attempt is due (pending only). */
  nextAttemptAt: string;
  lastError?: string | undefined;
  deliveredAt?: string | undefined;
}

export interface DeliveryKey {
  endpoint: string;
  sequence: number;
}

export interface ClaimOptions {
  endpoint: string;
  /** Who holds the lease: a worker's unique id. */
  owner: string;
  limit: number;
  now: string;
  /** The lease ends at `now + leaseMs`; another worker may then claim the delivery again. */
  leaseMs: number;
}

/** When a lease taken at `now` ends. */
export function leaseUntil(options: Pick<ClaimOptions, 'now' | 'leaseMs'>): string {
  return new Date(Date.parse(options.now) + options.leaseMs).toISOString();
}

/** The longest failure text kept per delivery: enough to diagnose, never a whole HTML page. */
export const MAX_ERROR_LENGTH = 300;

export function clipError(error: string): string {
  return error.length > MAX_ERROR_LENGTH ? `${error.slice(0, MAX_ERROR_LENGTH - 1)}…` : error;
}

export interface FailOptions {
  owner: string;
  error: string;
  /** When to try again; undefined makes the delivery a dead letter. */
  retryAt: string | undefined;
}

export interface EventFilter {
  type?: UserEventType | undefined;
  userId?: string | undefined;
  /** Events having at least one delivery in this state. */
  status?: DeliveryStatus | undefined;
  /** Only deliveries to this endpoint (and, with `status`, events having one in that state). */
  endpoint?: string | undefined;
  /** Events with a sequence above this one, for paging. */
  afterSequence?: number | undefined;
  limit: number;
}

export interface EventListing {
  event: UserEvent;
  /** Empty until a worker fans the event out to its endpoints. */
  deliveries: Omit<Delivery, 'event'>[];
}

export interface RedeliverOptions {
  endpoint?: string | undefined;
  /** One event; without it, every dead letter (of `endpoint`, when given). */
  sequence?: number | undefined;
  now: string;
}

export interface PurgeOptions {
  /** Events that occurred before this instant may go. */
  before: string;
  /**
   * The endpoints in use: an event stays while one of them has it pending or dead. With none,
   * events need not be fanned out to go (nobody is listening).
   */
  endpoints: readonly string[];
  /** Rows per statement, so a large purge never holds locks for long. */
  batchSize: number;
}

export interface OutboxStats {
  /** Events no worker has fanned out yet. */
  unfannedEvents: number;
  pendingDeliveries: number;
  deadLetters: number;
  /** When the oldest event still waiting (unfanned or pending) occurred; undefined if none. */
  oldestWaitingAt: string | undefined;
}

/**
 * The store side of the transactional outbox (docs/adr/0005-transactional-outbox.md). Every UserStore writes a UserEvent in
 * the transaction of each create, update and delete; this port lets the worker deliver them and
 * the clock keep the outbox small. Every adapter passes test/store/contract-outbox.ts.
 *
 * Ordering: a delivery is never claimed while an earlier event of the same user is unfanned or
 * pending for the same endpoint, so each endpoint receives a user's events in sequence order.
 * A dead letter no longer holds later events back.
 */
export interface Outbox {
  /**
   * Creates a pending delivery per endpoint for up to `limit` events not yet fanned out, oldest
   * first, and marks them fanned out, atomically. Returns how many events it fanned out.
   */
  fanOut(options: { endpoints: readonly string[]; now: string; limit: number }): Promise<number>;
  /** Atomically leases up to `limit` due deliveries to `endpoint`, oldest first. */
  claim(options: ClaimOptions): Promise<Delivery[]>;
  /** Marks a delivery delivered; false when `owner` no longer holds its lease. */
  complete(key: DeliveryKey, options: { owner: string; now: string }): Promise<boolean>;
  /** Records a failed attempt; false when `owner` no longer holds the lease. */
  fail(key: DeliveryKey, options: FailOptions): Promise<boolean>;
  /** Events, oldest first, with their deliveries. */
  list(filter: EventFilter): Promise<EventListing[]>;
  /** Makes dead letters pending again, due at once, with a fresh retry budget; returns how many. */
  redeliver(options: RedeliverOptions): Promise<number>;
  /** Deletes old, settled events; returns how many. */
  purge(options: PurgeOptions): Promise<number>;
  stats(): Promise<OutboxStats>;
  /**
   * Where the store can tell (PostgreSQL: LISTEN), calls `wake` soon after any process writes
   * events, so a worker need not wait for its next poll; answers a function that stops it.
   * A hint only: a wake-up may be lost (a dropped connection), so workers still poll.
   */
  watch?(wake: () => void): Promise<() => Promise<void>>;
}
