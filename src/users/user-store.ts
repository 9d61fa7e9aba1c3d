import type { User, UserChanges } from './user.ts';
import type { ListQuery } from './list-query.ts';
import type { ClockTicks } from './clock-ticks.ts';
import type { Outbox } from './outbox.ts';
import { schemaOutdated } from './errors.ts';

/** A new record, complete: the service assigns the id and timestamps, the store keeps them. */
export interface NewUser {
  id: string;
  name: string;
  email?: string | undefined;
  createdAt: string;
  updatedAt: string;
}

export interface Page {
  readonly users: User[];
  /** How many users match the query's `where`, ignoring `limit` and `skip`. */
  readonly total: number;
  /**
   * The users as the API's JSON array, where the store had the database print them so
   * (jsonPage): the HTTP layer sends this text as it is.
   */
  readonly json?: string;
}

/** Where util.inspect (the console, the REPL) asks an object how to print itself. */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * A page the database printed as the API's JSON (PostgreSQL's batched pages): the HTTP layer
 * sends `json` as it is, with no objects built and nothing serialized, and `users` is parsed from
 * it only if a caller reads it. `json` is not enumerable, so the page compares and spreads as any
 * other page does, and the console prints its records, not a getter.
 */
export function jsonPage(json: string, total: number): Page {
  let users: User[] | undefined;
  const page = {
    get users(): User[] {
      return (users ??= JSON.parse(json) as User[]);
    },
    total,
  };
  return Object.defineProperties(page, {
    json: { value: json },
    [INSPECT]: {
      value: (_depth: number, options: object, inspect: (value: unknown, o: object) => string) =>
        inspect({ users: page.users, total }, options),
    },
  });
}

export interface UpdateOptions {
  /** The time of the change; the store keeps `updatedAt` strictly increasing per record. */
  now: string;
  /** When set, the change applies only if the record's `updatedAt` still equals it. */
  ifUpdatedAt?: string | undefined;
}

export interface RemoveOptions {
  ifUpdatedAt?: string | undefined;
  /** The time of the deletion, recorded in its `user.deleted` event; the store's clock if unset. */
  now?: string | undefined;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

/** How `stream` reads: in pages of `pageSize` users, each page one query after the last id. */
export interface StreamOptions {
  /** Users per query; memory holds about one page. Default 1000. */
  pageSize?: number;
}

/**
 * What `importMany` does with a record whose id already exists with other content:
 * - `newer` replaces it only when the incoming `updatedAt` is later (the default),
 * - `skip` never touches it,
 * - `overwrite` replaces it whatever its `updatedAt`.
 * A record identical to the stored one is always left alone and counted `unchanged`.
 */
export type ImportMode = 'newer' | 'skip' | 'overwrite';
export const IMPORT_MODES: readonly ImportMode[] = ['newer', 'skip', 'overwrite'];

export interface ImportOptions {
  mode: ImportMode;
  /** Do everything but keep nothing: the counts say what the import would do. */
  dryRun?: boolean;
  /**
   * Record a `user.created`/`user.updated` event per written record, as every write does
   * (default true). False for a move between stores: those events were published where the
   * records came from, and subscribers would get every user a second time.
   */
  events?: boolean;
}

export interface ImportResult {
  created: number;
  /** Existing ids replaced by the incoming record (mode `newer` or `overwrite`). */
  updated: number;
  /** Existing ids whose record already equals the incoming one. */
  unchanged: number;
  /** Existing ids that differ but were kept (mode `skip`, or `newer` with the stored one as new or newer). */
  skipped: number;
}

/**
 * An `Idempotency-Key` as the store keeps it (docs/reliability.md, "Retried creates"): the first create under a key records it
 * with the created user, in the same transaction; a later create under the same key replays.
 */
export interface IdempotencyKey {
  /** Whose key it is (the caller's principal; empty for anonymous callers): scopes never collide. */
  scope: string;
  key: string;
  /** Digest of the request the key was first used for; another request under it is refused. */
  fingerprint: string;
  /** The time of this request: a stored key with `expiresAt` at or before it is ignored. */
  now: string;
  /** When a key recorded by this call expires. */
  expiresAt: string;
}

export interface CreateResult {
  user: User;
  /** True when the key was already recorded: no user was created by this call. */
  replayed: boolean;
}

export interface PurgeKeysOptions {
  /** Keys that expired at or before this instant go. */
  now: string;
  /** Rows per statement, so a large purge never holds locks for long. */
  batchSize: number;
}

/** Where stores really differ, the port says so instead of callers testing the engine. */
export interface StoreCapabilities {
  /** The data lives inside this process (SQLite): migrations run at web start. */
  embedded: boolean;
}

/**
 * The port every backing service implements (SQLite and PostgreSQL through one Kysely store,
 * MongoDB through the official driver). Every adapter passes test/store/contract.ts.
 *
 * Every create, update and remove records its UserEvent in the same transaction (see `outbox`).
 *
 * Errors: `create`/`update` throw EMAIL_TAKEN on a duplicate address; conditional writes throw
 * PRECONDITION_FAILED; a store that cannot be reached throws STORE_UNAVAILABLE. Reads of an
 * unknown id return `undefined`.
 */
export interface UserStore {
  /** `sqlite`, `postgres` or `mongo`: for logs, metrics and /version. */
  readonly kind: string;
  readonly capabilities: StoreCapabilities;
  /** The events this store's writes recorded, for the worker, the clock and `admin events`. */
  readonly outbox: Outbox;
  /** Which clock ran which scheduled tick. */
  readonly ticks: ClockTicks;
  list(query: ListQuery): Promise<Page>;
  get(id: string): Promise<User | undefined>;
  create(user: NewUser): Promise<User>;
  /**
   * `create` at most once per unexpired (scope, key): the key and the user are written in one
   * transaction, so of concurrent calls under one key exactly one creates and the others replay.
   * A replay answers the user as stored now, or as first created if it was since removed, with
   * `replayed: true`. A key recorded with another fingerprint throws IDEMPOTENCY_KEY_REUSED. A
   * failed create (EMAIL_TAKEN) records no key, so a retry runs again.
   */
  createOnce(user: NewUser, idempotency: IdempotencyKey): Promise<CreateResult>;
  /** Deletes expired idempotency keys, in batches; returns how many. */
  purgeIdempotencyKeys(options: PurgeKeysOptions): Promise<number>;
  update(id: string, changes: UserChanges, options: UpdateOptions): Promise<User | undefined>;
  remove(id: string, options?: RemoveOptions): Promise<User | undefined>;
  /** Resolves when the store answers a trivial query; throws STORE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  /**
   * Every user in id order, read page by page with keyset pagination (`id > last`, never
   * OFFSET), so memory stays flat however many there are. Users written during the walk appear
   * if their id sorts after the page being read.
   */
  stream(options?: StreamOptions): AsyncIterable<User>;
  /** How many users the store holds. */
  count(): Promise<number>;
  /**
   * Writes complete records (ids and timestamps kept as given) in one transaction: all of the
   * batch or none of it. Idempotent: importing the same records again changes nothing. An
   * address another record holds fails the batch with EMAIL_TAKEN; the same id or e-mail twice
   * in one batch fails it with VALIDATION_FAILED. See ImportMode for existing ids.
   */
  importMany(users: readonly NewUser[], options: ImportOptions): Promise<ImportResult>;
  migrationStatus(): Promise<MigrationStatus>;
  /** Applies pending migrations under a lock, so two runs at once are safe. */
  migrate(): Promise<MigrationStatus>;
  /**
   * Reverts the last applied migration under the same lock; a no-op when none is applied.
   * Destructive (reverting the first drops every user): callers must ask for it explicitly.
   */
  rollback(): Promise<MigrationStatus>;
  close(): Promise<void>;
}

/**
 * The one schema check before a process uses its store. The embedded store migrates itself;
 * elsewhere migrations are a release step (`npm run migrate`) and a schema older than this code
 * throws SCHEMA_OUTDATED. Resolves with the schema's status.
 */
export async function ensureSchema(store: UserStore): Promise<MigrationStatus> {
  if (store.capabilities.embedded) return store.migrate();
  const status = await store.migrationStatus();
  if (status.pending.length > 0) throw schemaOutdated(status.pending);
  return status;
}
