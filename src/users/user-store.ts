import type { User, UserChanges } from './user.ts';
import type { ListQuery } from './query.ts';

/** A new record, complete: the service assigns the id and timestamps, the store keeps them. */
export interface NewUser {
  id: string;
  name: string;
  email?: string | undefined;
  createdAt: string;
  updatedAt: string;
}

export interface Page {
  users: User[];
  /** How many users match the query's `where`, ignoring `limit` and `skip`. */
  total: number;
}

export interface UpdateOptions {
  /** The time of the change; the store keeps `updatedAt` strictly increasing per record. */
  now: string;
  /** When set, the change applies only if the record's `updatedAt` still equals it. */
  ifUpdatedAt?: string | undefined;
}

export interface RemoveOptions {
  ifUpdatedAt?: string | undefined;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
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
 * Errors: `create`/`update` throw EMAIL_TAKEN on a duplicate address; conditional writes throw
 * PRECONDITION_FAILED; a store that cannot be reached throws STORE_UNAVAILABLE. Reads of an
 * unknown id return `undefined`.
 */
export interface UserStore {
  /** `sqlite`, `postgres` or `mongo`: for logs, metrics and /version. */
  readonly kind: string;
  readonly capabilities: StoreCapabilities;
  list(query: ListQuery): Promise<Page>;
  get(id: string): Promise<User | undefined>;
  create(user: NewUser): Promise<User>;
  update(id: string, changes: UserChanges, options: UpdateOptions): Promise<User | undefined>;
  remove(id: string, options?: RemoveOptions): Promise<User | undefined>;
  /** Resolves when the store answers a trivial query; throws STORE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  migrationStatus(): Promise<MigrationStatus>;
  /** Applies pending migrations under a lock, so two runs at once are safe. */
  migrate(): Promise<MigrationStatus>;
  close(): Promise<void>;
}
