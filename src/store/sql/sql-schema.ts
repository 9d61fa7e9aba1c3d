import type { ColumnType } from 'kysely';
import { emailKey, nameKey, type Field } from '../../users/user.ts';
import type { UniqueIndex } from './sql-engine.ts';

/** Written as ISO strings; read back as TEXT (SQLite) or Date (PostgreSQL timestamptz). */
type Timestamp = ColumnType<string | Date, string, string>;

export interface UsersTable {
  id: string;
  name: string;
  email: string | null;
  email_key: string | null;
  /**
   * nameKey(name), or NULL where a release that predates the column wrote the row (its inserts
   * leave it NULL, and a trigger sets it NULL when its renames leave it stale) until the next
   * migrate fills it again (fillNameKeys); matching reads a NULL key as users_name_fold(name).
   */
  name_key: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Read back as a number (SQLite) or a string (PostgreSQL bigint): see sequenceOf. */
type Sequence = ColumnType<number | string, number | undefined, never>;

export interface OutboxEventsTable {
  sequence: Sequence;
  id: string;
  type: string;
  user_id: string;
  occurred_at: Timestamp;
  /** JSON: `{"before": User | null, "after": User | null}`. */
  payload: string;
  fanned_out_at: Timestamp | null;
  /** The W3C traceparent of the traced request that made the change; null when untraced. */
  trace_parent: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface OutboxDeliveriesTable {
  endpoint: string;
  event_sequence: ColumnType<number | string, number, number>;
  /** Copied from the event so the per-user ordering check needs no join. */
  user_id: string;
  status: string;
  attempts: number;
  pending_since: Timestamp;
  next_attempt_at: Timestamp;
  lease_owner: string | null;
  lease_until: Timestamp | null;
  last_error: string | null;
  delivered_at: Timestamp | null;
}

export interface ClockTicksTable {
  job: string;
  tick: Timestamp;
  owner: string;
  claimed_at: Timestamp;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  fingerprint: string;
  user_id: string;
  /** JSON: the User as first created. */
  record: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface SqlDatabase {
  users: UsersTable;
  outbox_events: OutboxEventsTable;
  outbox_deliveries: OutboxDeliveriesTable;
  clock_ticks: ClockTicksTable;
  idempotency_keys: IdempotencyKeysTable;
}

/** PostgreSQL returns bigint as a string, to be safe past 2^53; outbox sequences stay far below. */
export function sequenceOf(value: number | string | bigint): number {
  return Number(value);
}

export const COLUMNS = {
  name: 'name',
  email: 'email',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  id: 'id',
} as const satisfies Record<Field, keyof UsersTable>;

export const USER_COLUMNS = ['id', 'name', 'email', 'created_at', 'updated_at'] as const;

/**
 * The folded copy of each text field that case-insensitive matching reads, and the fold that
 * made it; a pattern is folded with the same function, so both sides agree exactly. `unset`
 * names the SQL function that folds the field where its key is NULL (see UsersTable.name_key);
 * every release has written `email_key`, so it has none.
 */
export const MATCH_KEYS = {
  name: { column: 'name_key', fold: nameKey, source: 'name', unset: 'users_name_fold' },
  email: { column: 'email_key', fold: emailKey },
} as const satisfies Partial<
  Record<
    Field,
    {
      column: keyof UsersTable;
      fold: (text: string) => string;
      source?: keyof UsersTable;
      unset?: string;
    }
  >
>;

/** Fields that may hold NULL; comparisons on them must say where NULL goes. */
export const NULLABLE_FIELDS: ReadonlySet<Field> = new Set(['email']);

export const EMAIL_KEY_INDEX: UniqueIndex = {
  table: 'users',
  column: 'email_key',
  name: 'users_email_key_unique',
};
