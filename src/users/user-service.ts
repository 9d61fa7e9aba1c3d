import { ObjectId } from 'bson';
import { userNotFound } from './errors.ts';
import { isUserId, type User, type UserChanges, type UserInput } from './user.ts';
import { LIMIT_DEFAULT, type ListQuery } from './list-query.ts';
import type {
  CreateResult,
  IdempotencyKey,
  ImportOptions,
  ImportResult,
  NewUser,
  Page,
  StreamOptions,
  UserStore,
} from './user-store.ts';

export interface UserServiceOptions {
  store: UserStore;
  /** Injected so tests can pin time. */
  now?: () => Date;
  newId?: () => string;
  /** How long an Idempotency-Key is remembered (IDEMPOTENCY_TTL_MS); 24 h by default. */
  idempotencyTtlMs?: number;
}

/** A create request's Idempotency-Key, as the caller's layer identified it. */
export type CreateKey = Pick<IdempotencyKey, 'scope' | 'key' | 'fingerprint'>;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface WriteOptions {
  /** Apply only if the record's `updatedAt` is still this (optimistic concurrency). */
  ifUpdatedAt?: string | undefined;
}

/** The use cases of the user directory; every process type (web, admin) goes through it. */
export class UserService {
  private readonly store: UserStore;
  private readonly now: () => Date;
  private readonly newId: () => string;
  private readonly idempotencyTtlMs: number;

  constructor(options: UserServiceOptions) {
    this.store = options.store;
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? (() => new ObjectId().toHexString());
    this.idempotencyTtlMs = options.idempotencyTtlMs ?? DAY_MS;
  }

  /** Missing parts take the API's defaults, so `users.list({ limit: 1 })` works in the console. */
  list(query: Partial<ListQuery> = {}): Promise<Page> {
    return this.store.list({ where: undefined, sort: [], limit: LIMIT_DEFAULT, skip: 0, ...query });
  }

  async get(id: string): Promise<User> {
    // A malformed id cannot exist: answer as for any unknown id, without asking the store.
    const user = isUserId(id) ? await this.store.get(id) : undefined;
    if (!user) throw userNotFound(id);
    return user;
  }

  create(input: UserInput): Promise<User> {
    return this.store.create(this.newUser(input, this.now()));
  }

  /**
   * A create that a retry under the same key cannot repeat (docs/reliability.md, "Retried creates"): the first call creates,
   * later ones within IDEMPOTENCY_TTL_MS replay that user (`replayed: true`); the same key with
   * another fingerprint throws IDEMPOTENCY_KEY_REUSED.
   */
  createOnce(input: UserInput, key: CreateKey): Promise<CreateResult> {
    const now = this.now();
    return this.store.createOnce(this.newUser(input, now), {
      ...key,
      now: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.idempotencyTtlMs).toISOString(),
    });
  }

  async update(id: string, changes: UserChanges, options: WriteOptions = {}): Promise<User> {
    const user = isUserId(id)
      ? await this.store.update(id, changes, {
          now: this.now().toISOString(),
          ifUpdatedAt: options.ifUpdatedAt,
        })
      : undefined;
    if (!user) throw userNotFound(id);
    return user;
  }

  async remove(id: string, options: WriteOptions = {}): Promise<User> {
    const user = isUserId(id)
      ? await this.store.remove(id, {
          ifUpdatedAt: options.ifUpdatedAt,
          now: this.now().toISOString(),
        })
      : undefined;
    if (!user) throw userNotFound(id);
    return user;
  }

  /** Every user in id order, page by page: memory stays flat however many there are. */
  stream(options?: StreamOptions): AsyncIterable<User> {
    return this.store.stream(options);
  }

  count(): Promise<number> {
    return this.store.count();
  }

  /**
   * Complete records moved from another store or a backup: ids and timestamps are kept, one
   * transaction per call. The caller validates them first (the admin import does, line by line).
   */
  importMany(users: readonly NewUser[], options: ImportOptions): Promise<ImportResult> {
    return this.store.importMany(users, options);
  }

  private newUser(input: UserInput, at: Date): NewUser {
    const now = at.toISOString();
    return {
      id: this.newId(),
      name: input.name,
      email: input.email ?? undefined,
      createdAt: now,
      updatedAt: now,
    };
  }
}
