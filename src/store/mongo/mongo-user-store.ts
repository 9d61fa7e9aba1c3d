import { ObjectId, type Collection, type Db } from 'mongodb';
import {
  emailTaken,
  isDomainError,
  storeUnavailable,
  storeUnsupported,
} from '../../users/errors.ts';
import { isUserId, type User, type UserChanges } from '../../users/user.ts';
import type { ListQuery } from '../../users/list-query.ts';
import type { Outbox } from '../../users/outbox.ts';
import type { ClockTicks } from '../../users/clock-ticks.ts';
import type {
  CreateResult,
  IdempotencyKey,
  ImportOptions,
  ImportResult,
  MigrationStatus,
  NewUser,
  Page,
  PurgeKeysOptions,
  RemoveOptions,
  StoreCapabilities,
  StreamOptions,
  UpdateOptions,
  UserStore,
} from '../../users/user-store.ts';
import { unsupportedServer } from '../server-version.ts';
import { MongoConnection } from './mongo-connection.ts';
import { isDuplicateKey, isMongoUnavailable } from './mongo-errors.ts';
import { mongoFilter, mongoSort } from './mongo-filter.ts';
import {
  createKeyedMongo,
  purgeExpiredMongoKeys,
  type KeyedWriteContext,
} from './mongo-idempotency.ts';
import { importMongoBatch } from './mongo-import.ts';
import { MongoMigrator } from './mongo-migrator.ts';
import { MongoOutbox } from './mongo-outbox.ts';
import { mongoClockTicks } from './mongo-clock-ticks.ts';
import { toUser } from './mongo-records.ts';
import { EMAIL_KEY_INDEX, USERS, type UserDocument } from './mongo-schema.ts';
import {
  createMongoUser,
  removeMongoUser,
  updateMongoUser,
  writeWithEvent,
  type MongoWriteTarget,
} from './mongo-user-writes.ts';
import { mongoMigrations } from './migrations/index.ts';

export interface MongoStoreOptions {
  url: string;
  poolMax: number;
  /** Bounds server selection and connecting: how long a call waits for an unreachable server. */
  connectTimeoutMs: number;
  /** maxTimeMS for reads; 0 means no limit. */
  statementTimeoutMs: number;
}

/**
 * The UserStore on the official MongoDB driver (database from the URL's path). Nothing
 * connects before the first call, so an unreachable server never makes creation throw or wait.
 */
export class MongoUserStore implements UserStore {
  readonly kind = 'mongo';
  readonly capabilities: StoreCapabilities = { embedded: false };
  readonly outbox: Outbox;
  readonly ticks: ClockTicks;
  private readonly readOptions: { maxTimeMS?: number };
  private readonly connection: MongoConnection;

  constructor(options: MongoStoreOptions) {
    this.readOptions =
      options.statementTimeoutMs > 0 ? { maxTimeMS: options.statementTimeoutMs } : {};
    this.connection = new MongoConnection(options);
    const guard = <T>(operation: () => Promise<T>) => this.guard(operation);
    this.outbox = new MongoOutbox(() => this.database(), guard);
    this.ticks = mongoClockTicks(() => this.database(), guard);
  }

  private database(): Promise<Db> {
    return this.connection.db();
  }

  private async users(): Promise<Collection<UserDocument>> {
    return (await this.database()).collection<UserDocument>(USERS);
  }

  private async migrator(): Promise<MongoMigrator> {
    return new MongoMigrator(await this.database(), mongoMigrations);
  }

  list(query: ListQuery): Promise<Page> {
    return this.guard(async () => {
      const users = await this.users();
      const filter = mongoFilter(query.where);
      // query.limit is at least 1: MongoDB's limit(0) ("no limit") never reaches the driver.
      const [docs, total] = await Promise.all([
        users
          .find(filter, {
            ...this.readOptions,
            sort: mongoSort(query.sort),
            skip: query.skip,
            limit: query.limit,
          })
          .toArray(),
        users.countDocuments(filter, this.readOptions),
      ]);
      return { users: docs.map(toUser), total };
    });
  }

  get(id: string): Promise<User | undefined> {
    return this.guard(async () => {
      if (!isUserId(id)) return undefined;
      const doc = await (
        await this.users()
      ).findOne({ _id: ObjectId.createFromHexString(id) }, this.readOptions);
      return doc ? toUser(doc) : undefined;
    });
  }

  create(user: NewUser): Promise<User> {
    return this.guard(() => createMongoUser(this.writeTarget(), user));
  }

  createOnce(user: NewUser, idempotency: IdempotencyKey): Promise<CreateResult> {
    return this.guard(async () => {
      const context = {
        db: await this.database(),
        users: await this.users(),
        write: (work: Parameters<KeyedWriteContext['write']>[0]) =>
          writeWithEvent(this.connection, work),
      };
      const outcome = await createKeyedMongo(context, user, idempotency);
      if ('created' in outcome) return { user: outcome.created, replayed: false };
      const { userId, record } = outcome.replay;
      return { user: (await this.get(userId)) ?? record, replayed: true };
    });
  }

  purgeIdempotencyKeys(options: PurgeKeysOptions): Promise<number> {
    return this.guard(async () => purgeExpiredMongoKeys(await this.database(), options));
  }

  update(id: string, changes: UserChanges, options: UpdateOptions): Promise<User | undefined> {
    return this.guard(() => updateMongoUser(this.writeTarget(), id, changes, options));
  }

  remove(id: string, options: RemoveOptions = {}): Promise<User | undefined> {
    return this.guard(() => removeMongoUser(this.writeTarget(), id, options));
  }

  async *stream(options: StreamOptions = {}): AsyncGenerator<User> {
    const pageSize = options.pageSize ?? 1000;
    let after: ObjectId | undefined;
    for (;;) {
      const docs = await this.guard(async () =>
        (await this.users())
          .find(after === undefined ? {} : { _id: { $gt: after } }, {
            ...this.readOptions,
            sort: { _id: 1 },
            limit: pageSize,
          })
          .toArray(),
      );
      for (const doc of docs) yield toUser(doc);
      if (docs.length < pageSize) return;
      after = docs.at(-1)?._id;
    }
  }

  count(): Promise<number> {
    return this.guard(async () => (await this.users()).countDocuments({}, this.readOptions));
  }

  importMany(users: readonly NewUser[], options: ImportOptions): Promise<ImportResult> {
    return this.guard(async () =>
      importMongoBatch({ connection: this.connection, users: await this.users() }, users, options),
    );
  }

  ping(): Promise<void> {
    return this.guard(async () => {
      await (await this.database()).command({ ping: 1 });
    });
  }

  migrationStatus(): Promise<MigrationStatus> {
    return this.guard(async () => (await this.migrator()).status());
  }

  migrate(): Promise<MigrationStatus> {
    return this.guard(async () => (await this.migrator()).migrate());
  }

  rollback(): Promise<MigrationStatus> {
    return this.guard(async () => (await this.migrator()).rollback());
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  private writeTarget(): MongoWriteTarget {
    return { connection: this.connection, users: () => this.users() };
  }

  /**
   * Same classification as the SQL store: E11000 on emailKey, network failures, else a bug;
   * plus a server too old, which is unavailable too, with the versions said plainly.
   */
  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (isDomainError(error)) throw error;
      if (unsupportedServer(error)) throw storeUnsupported(error);
      if (isDuplicateKey(error, EMAIL_KEY_INDEX)) throw emailTaken();
      if (isMongoUnavailable(error)) throw storeUnavailable(error);
      throw error;
    }
  }
}
