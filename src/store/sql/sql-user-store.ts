import { Kysely, sql } from 'kysely';
import { emailTaken, isDomainError, storeUnavailable } from '../../users/errors.ts';
import type { User, UserChanges } from '../../users/user.ts';
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
import { userRecord } from '../user-records.ts';
import type { SqlEngine } from './sql-engine.ts';
import { createKeyed, purgeExpiredKeys } from './sql-idempotency.ts';
import { importSqlBatch } from './sql-import.ts';
import { SqlMigrator } from './sql-migrator.ts';
import { CommitGroup } from './sql-commit-group.ts';
import { ReadBatch } from './read-batch.ts';
import { SqlOutbox } from './sql-outbox.ts';
import { sqlClockTicks } from './sql-clock-ticks.ts';
import { SqlRecordStatements, toUser } from './sql-record-statements.ts';
import { StatementWrites, TransactionWrites, type RecordWrites } from './sql-record-writes.ts';
import { EMAIL_KEY_INDEX, USER_COLUMNS, type SqlDatabase } from './sql-schema.ts';
import { needsScan, slicedList } from './sql-sliced-list.ts';
import { listStatements, PageStatements } from './sql-list-query.ts';
import { PageBatch } from './sql-page-batch.ts';

/** A row of a list's page: the record, and the count of every match. */
type PageRow = Parameters<typeof toUser>[0] & { total: number | string | bigint };

/**
 * The UserStore for every SQL engine (SQLite, PostgreSQL), on Kysely. Engine differences live in
 * the SqlEngine hooks, never in `if (engine === …)` here.
 */
export class SqlUserStore implements UserStore {
  readonly kind: string;
  readonly capabilities: StoreCapabilities;
  readonly outbox: Outbox;
  readonly ticks: ClockTicks;
  private readonly engine: SqlEngine;
  private readonly db: Kysely<SqlDatabase>;
  private readonly migrator: SqlMigrator;
  /** Reads by id that arrive together, as one query. */
  private readonly byId: ReadBatch<string, User>;
  /** Why the last write failed, while the store refused writes; undefined once one succeeds. */
  private writeFailure: unknown = undefined;
  /** One record's writes, each with its event: one statement or one transaction, per engine. */
  private readonly writes: RecordWrites;
  private readonly pages: PageStatements;
  /** Where-less pages that arrive together, as one statement, where the engine can. */
  private readonly pageBatch: PageBatch | undefined;

  constructor(engine: SqlEngine) {
    this.kind = engine.kind;
    this.capabilities = engine.capabilities;
    this.engine = engine;
    this.db = new Kysely<SqlDatabase>({ dialect: engine.dialect });
    this.migrator = new SqlMigrator(this.db as Kysely<unknown>, engine);
    this.outbox = new SqlOutbox(this.db, engine, (operation) => this.guard(operation));
    this.ticks = sqlClockTicks(this.db, (operation) => this.guard(operation));
    // The hottest query: the same statement for every batch, its ids bound as its one value,
    // so it is compiled once and each batch only binds its ids.
    const byIds = this.db
      .selectFrom('users')
      .select(USER_COLUMNS)
      .where(() => engine.anyOf.where('id', engine.anyOf.bind([])))
      .compile();
    if (byIds.parameters.length !== 1) throw new Error('anyOf must bind exactly one parameter');
    this.byId = new ReadBatch(async (ids) => {
      const query: typeof byIds = { ...byIds, parameters: [engine.anyOf.bind(ids)] };
      const rows = (await engine.read?.(query)) ?? (await this.db.executeQuery(query)).rows;
      return new Map(rows.map((row) => [row.id, toUser(row)]));
    });
    this.writes = this.recordWrites(engine);
    this.pages = new PageStatements(this.db);
    const read = engine.read;
    this.pageBatch =
      engine.pageBounds && read
        ? new PageBatch(this.db, engine.pageBounds, async (query) => (await read(query)) ?? [])
        : undefined;
  }

  private recordWrites(engine: SqlEngine): RecordWrites {
    if (engine.writeStatement)
      return new StatementWrites(engine.writeStatement, (error) => engine.isUnavailable(error));
    // A transaction per write, or one shared by the writes that arrive together.
    const group = engine.groupCommits ? new CommitGroup(this.db) : undefined;
    return new TransactionWrites(
      new SqlRecordStatements(this.db, { rowLocks: engine.rowLocks }),
      (work) => group?.run(work) ?? this.db.transaction().execute(work),
    );
  }

  list(query: ListQuery): Promise<Page> {
    return this.guard(async () => {
      const where = query.where;
      const slices = this.engine.scanSlices;
      if (where && slices && needsScan(where))
        return slicedList(this.db, this.engine, { ...query, where }, slices);
      const total = async () =>
        Number((await listStatements(this.db, query).count.executeTakeFirstOrThrow()).total);
      if (query.limit === 0) return { users: [], total: await total() };
      const batched = this.pageBatch?.page(query);
      if (batched) return batched;
      // A where-less page by its compiled statement (prepared by name on PostgreSQL), if any.
      const compiled = this.pages.page(query);
      const rows = ((compiled && (await this.engine.read?.(compiled))) ??
        (await listStatements(this.db, query).page.execute())) as PageRow[];
      // An empty page carries no count: none match if it started at the first, else the count
      // is asked on its own.
      if (rows.length > 0) return { users: rows.map(toUser), total: Number(rows[0]!.total) };
      return { users: [], total: query.skip === 0 ? 0 : await total() };
    });
  }

  get(id: string): Promise<User | undefined> {
    // The hottest call: the batch's promise with guard()'s translation, without its async frame.
    return this.byId.get(id).catch(this.translate);
  }

  create(user: NewUser): Promise<User> {
    return this.guardWrite(async () => {
      const record = userRecord(user);
      await this.writes.create(record);
      return record;
    });
  }

  createOnce(user: NewUser, idempotency: IdempotencyKey): Promise<CreateResult> {
    return this.guardWrite(async () => {
      const outcome = await createKeyed({ db: this.db, writes: this.writes }, user, idempotency);
      if ('created' in outcome) return { user: outcome.created, replayed: false };
      const { userId, record } = outcome.replay;
      return { user: (await this.get(userId)) ?? record, replayed: true };
    });
  }

  purgeIdempotencyKeys(options: PurgeKeysOptions): Promise<number> {
    return this.guard(() => purgeExpiredKeys(this.db, options));
  }

  update(id: string, changes: UserChanges, options: UpdateOptions): Promise<User | undefined> {
    return this.guardWrite(() => this.writes.update(id, changes, options));
  }

  remove(id: string, options: RemoveOptions = {}): Promise<User | undefined> {
    return this.guardWrite(() => this.writes.remove(id, options));
  }

  async *stream(options: StreamOptions = {}): AsyncGenerator<User> {
    const pageSize = options.pageSize ?? 1000;
    let after: string | undefined;
    for (;;) {
      const rows = await this.guard(() => {
        let query = this.db.selectFrom('users').select(USER_COLUMNS).orderBy('id').limit(pageSize);
        if (after !== undefined) query = query.where('id', '>', after);
        return query.execute();
      });
      for (const row of rows) yield toUser(row);
      if (rows.length < pageSize) return;
      after = rows.at(-1)?.id;
    }
  }

  count(): Promise<number> {
    return this.guard(async () => {
      const { total } = await this.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number | string | bigint>().as('total'))
        .executeTakeFirstOrThrow();
      return Number(total);
    });
  }

  importMany(users: readonly NewUser[], options: ImportOptions): Promise<ImportResult> {
    return this.guardWrite(() => importSqlBatch(this.db, this.engine, users, options));
  }

  ping(): Promise<void> {
    return this.guard(async () => {
      await sql`select 1`.execute(this.db);
      if (this.writeFailure !== undefined && this.engine.probeWrite) {
        await this.guardWrite(() => this.engine.probeWrite!(this.db));
      }
    });
  }

  migrationStatus(): Promise<MigrationStatus> {
    return this.guard(() => this.migrator.status());
  }

  migrate(): Promise<MigrationStatus> {
    return this.guard(() => this.migrator.migrate());
  }

  rollback(): Promise<MigrationStatus> {
    return this.guard(() => this.migrator.rollback());
  }

  async close(): Promise<void> {
    await this.db.destroy();
    await this.engine.close?.();
  }

  /**
   * A write through guard(), remembering whether it failed with the store unavailable (a full,
   * read-only or failing disk): until a write succeeds again, ping() probes with one.
   */
  private async guardWrite<T>(operation: () => Promise<T>): Promise<T> {
    try {
      const result = await this.guard(operation);
      this.writeFailure = undefined;
      // Committed: workers listening may look for its event now rather than at their next poll.
      this.engine.outboxSignal?.notify();
      return result;
    } catch (error) {
      if (isDomainError(error, 'STORE_UNAVAILABLE')) this.writeFailure = error;
      throw error;
    }
  }

  /**
   * Turns engine errors into domain errors: a duplicate e-mail key is EMAIL_TAKEN, a lost or
   * refused connection STORE_UNAVAILABLE; anything else is a bug and propagates unchanged.
   */
  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      return this.translate(error);
    }
  }

  private readonly translate = (error: unknown): never => {
    if (isDomainError(error)) throw error;
    if (this.engine.isUniqueViolation(error, EMAIL_KEY_INDEX)) throw emailTaken();
    if (this.engine.isUnavailable(error)) throw storeUnavailable(error);
    throw error;
  };
}
