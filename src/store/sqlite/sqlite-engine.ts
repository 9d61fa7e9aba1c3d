import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  sql,
  CompiledQuery,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type SqliteDialectConfig,
} from 'kysely';
import { storeUnavailable } from '../../users/errors.ts';
import { nameKey } from '../../users/user.ts';
import type { SqlEngine } from '../sql/sql-engine.ts';
import { SYNC_BUSY_MS, isBusy, retryWhenBusy } from './sqlite-busy.ts';
import { isSqliteUnavailable, isSqliteUniqueViolation } from './sqlite-errors.ts';

export interface SqliteEngineOptions {
  /** A file path or `:memory:`. */
  filename: string;
  /**
   * How long a writer waits for another connection's lock before SQLITE_BUSY: SYNC_BUSY_MS in
   * SQLite's handler, the rest with the event loop free (sqlite-busy.ts).
   */
  busyTimeoutMs: number;
  /** How long one list query may scan before it is abandoned (DATABASE_STATEMENT_TIMEOUT_MS). */
  queryTimeoutMs: number;
}

/** Rows one slice of a scanning list examines: what one turn of the event loop may cost. */
const SCAN_SLICE_ROWS = 2048;

/**
 * `BEGIN IMMEDIATE` takes the write lock up front. A deferred transaction that reads and then
 * writes fails at once with SQLITE_BUSY when another process wrote meanwhile (busy_timeout
 * cannot help there); this way every read-modify-write and migration waits its turn.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  readonly #inTransaction: () => boolean;
  readonly #busyTimeoutMs: number;
  #connection: { inner: DatabaseConnection; retrying: DatabaseConnection } | undefined;

  constructor(config: SqliteDialectConfig, inTransaction: () => boolean, busyTimeoutMs: number) {
    super(config);
    this.#inTransaction = inTransaction;
    this.#busyTimeoutMs = busyTimeoutMs;
  }

  /** The one connection, waiting for another process's write lock without blocking. */
  override async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await super.acquireConnection();
    if (this.#connection?.inner !== inner) {
      const options = { busyTimeoutMs: this.#busyTimeoutMs, inTransaction: this.#inTransaction };
      this.#connection = { inner, retrying: retryWhenBusy(inner, options) };
    }
    return this.#connection.retrying;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  /**
   * On SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM (and some SQLITE_BUSY) SQLite may roll the
   * transaction back by itself (https://www.sqlite.org/lang_transaction.html#response_to_errors_within_a_transaction).
   * A ROLLBACK then fails with "cannot rollback - no transaction is active", and that error
   * would replace the one that says what happened: skip it when there is nothing to undo.
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.#inTransaction()) return;
    await super.rollbackTransaction(connection);
  }
}

/** SQLite's DDL is transactional; Kysely's adapter says no only to be safe for every driver. */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  private readonly database: () => Promise<Database.Database>;
  private readonly inTransaction: () => boolean;
  private readonly busyTimeoutMs: number;

  constructor(
    database: () => Promise<Database.Database>,
    inTransaction: () => boolean,
    busyTimeoutMs: number,
  ) {
    super({ database });
    this.database = database;
    this.inTransaction = inTransaction;
    this.busyTimeoutMs = busyTimeoutMs;
  }

  override createDriver() {
    return new ImmediateSqliteDriver(
      { database: this.database },
      this.inTransaction,
      this.busyTimeoutMs,
    );
  }

  override createAdapter() {
    return new TransactionalDdlSqliteAdapter();
  }
}

const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely prepares every query afresh; preparing is most of the cost of a point read. The
 * queries a store issues are few shapes with bound values, so their statements are kept,
 * except while one is busy (an open iterator), when a fresh one is prepared.
 */
function cacheStatements(db: Database.Database): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((source: string) => {
    const cached = cache.get(source);
    if (cached && !cached.busy) return cached;
    const statement = prepare(source);
    if (!cached) {
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear();
      cache.set(source, statement);
    }
    return statement;
  }) as Database.Database['prepare'];
}

/** `syncBusyMs`: how long SQLite's own handler waits for the write lock, blocking. */
function open(options: SqliteEngineOptions, syncBusyMs: number): Database.Database {
  const memory = options.filename === ':memory:';
  if (!memory) mkdirSync(dirname(options.filename), { recursive: true });
  // Opening waits for another process's lock the whole busy timeout, blocking: it runs once,
  // before the process serves, and its pragmas (the journal mode) may need the lock. Past it,
  // SQLite's handler waits only SYNC_BUSY_MS and the rest is waited with the event loop free.
  const db = new Database(options.filename, { timeout: Math.trunc(options.busyTimeoutMs) });
  try {
    if (!memory) db.pragma('journal_mode = WAL');
    // FULL: every COMMIT waits for fsync of the WAL, so a write is acknowledged only once it is
    // on the disk, and a disk that fails to store it (an I/O error found at write-back) fails
    // that COMMIT. Under NORMAL such commits were acknowledged from the page cache and lost when
    // the file system went read-only (test/store/sqlite-disk-faults.test.ts). Commits that
    // arrive together share one fsync (sql-commit-group.ts).
    // https://www.sqlite.org/pragma.html#pragma_synchronous
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // Each grouped write runs in a savepoint (sql-commit-group.ts), and SQLite keeps the pages
    // a savepoint may have to restore in a statement journal, spilled to a temporary file past
    // 64 KiB: a pwrite per page per write. Only a savepoint's own rollback reads it; recovery
    // after a crash needs only the WAL. Kept in memory, POST /user took half the CPU here.
    db.pragma('temp_store = MEMORY');
    // SQLite's own default page cache (2 MB) rather than better-sqlite3's 16 MB: pages beyond
    // it come from the OS page cache. Measured here: 20 MB less RSS after the bench's load,
    // throughput unchanged within noise, a 200,000-user import 7% slower and 20 MB smaller.
    db.pragma('cache_size = -2000');
    // Matching folds a name whose key is unset with this (see sqlWhere): the same function
    // writes use. Only this connection has it; triggers never call it, so an older release's
    // connections, which lack it, write as before.
    db.function('users_name_fold', { deterministic: true }, (name) => nameKey(String(name)));
    cacheStatements(db);
    db.pragma(`busy_timeout = ${syncBusyMs}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Migration 0006 on SQLite: after a rename that left the key as it was (a release that
 * predates the column), the key is set NULL; an insert by such a release leaves it NULL
 * already. The trigger cannot fold (it runs on the writer's connection, which may lack
 * users_name_fold), so a change of case only, whose key stays the same, is cleared too:
 * matching still folds the row, and the next migrate (every start, on SQLite) refills it.
 * The partial index finds those rows for fillNameKeys.
 */
const sqliteNameKeyGuard: SqlEngine['nameKeyGuard'] = {
  async create(db) {
    await sql`create trigger users_name_key_stale after update of name on users
      for each row when new.name is not old.name and new.name_key is old.name_key
      begin update users set name_key = null where id = new.id; end`.execute(db);
    await sql`create index users_name_key_unset on users (id) where name_key is null`.execute(db);
  },
  async drop(db) {
    await sql`drop index if exists users_name_key_unset`.execute(db);
    await sql`drop trigger if exists users_name_key_stale`.execute(db);
  },
};

/**
 * SQLite through better-sqlite3. The file opens on first use, so creating it never throws.
 * Open one store per file per process: better-sqlite3 waits for locks synchronously, so a
 * second connection in the same process would block the event loop its lock holder needs.
 */
export function createSqliteEngine(options: SqliteEngineOptions): SqlEngine {
  let opened: Database.Database | undefined;
  // SQLite's own handler blocks the thread: at most SYNC_BUSY_MS, the rest is waited here.
  const syncBusyMs = Math.trunc(Math.min(options.busyTimeoutMs, SYNC_BUSY_MS));
  return {
    kind: 'sqlite',
    capabilities: { embedded: true },
    groupCommits: true,
    scanSlices: { rows: SCAN_SLICE_ROWS, deadlineMs: options.queryTimeoutMs },
    dialect: new ImmediateSqliteDialect(
      async () => {
        try {
          opened = open(options, syncBusyMs);
          return opened;
        } catch (error) {
          // A directory we may not create, a read-only or full disk: the store is unusable
          // until someone fixes the host, which is what STORE_UNAVAILABLE says.
          throw storeUnavailable(error);
        }
      },
      () => opened?.inTransaction ?? false,
      options.busyTimeoutMs,
    ),
    // A committed write of one page (the header's user_version, set to what it is): whether
    // the file, its journal and the disk take writes again after a failed one.
    probeWrite: async (db) => {
      await db.transaction().execute(async (trx) => {
        const { rows } = await sql<{ user_version: number }>`pragma user_version`.execute(trx);
        const version = Math.trunc(Number(rows[0]?.user_version ?? 0));
        await sql.raw(`pragma user_version = ${version}`).execute(trx);
      });
    },
    // better-sqlite3 answers synchronously, so between two statements nothing else can run on
    // the connection; only an open transaction (awaiting its next statement) makes a read
    // wait, or it would see that transaction's uncommitted rows.
    // A read that finds the file locked (rare in WAL: a recovery under way) goes through Kysely,
    // whose connection waits without blocking.
    read: <R>(query: CompiledQuery<R>) => {
      if (!opened?.open || opened.inTransaction) return undefined;
      try {
        return opened.prepare(query.sql).all(query.parameters) as R[];
      } catch (error) {
        if (isBusy(error)) return undefined;
        throw error;
      }
    },
    // SQLite has no array type: the ids go as one JSON array, which json_each opens.
    anyOf: {
      where: (column, list) =>
        sql<boolean>`${sql.ref(column)} in (select value from json_each(${list}))`,
      bind: (values) => JSON.stringify(values),
    },
    // The pragmas are set around the work, on the process's one connection, which nothing else
    // uses meanwhile (synchronous cannot change inside a transaction); FULL and the short
    // blocking wait are back before it is released. No blocking wait for the write lock
    // either: every wait is the event loop's (sqlite-busy.ts), so a worker reads webhook answers
    // and frees slots while its claim or its outcomes wait for the web process's commits. With
    // changes at half the create rate, a worker spent about 40 % of its time blocked in those
    // waits; without them (SQLite, 4,500 changes a second) the lag p99 was 357 and 382 ms
    // against 311, 514 and 933 ms (the last run profiled), and a delivery cost 0.22 ms of worker
    // CPU against 0.23-0.29.
    bookkeeping: (db, work) =>
      db.connection().execute(async (connection) => {
        await sql`pragma synchronous = NORMAL`.execute(connection);
        await sql`pragma busy_timeout = 0`.execute(connection);
        try {
          return await work(connection);
        } finally {
          await sql.raw(`pragma busy_timeout = ${syncBusyMs}`).execute(connection);
          await sql`pragma synchronous = FULL`.execute(connection);
        }
      }),
    nameKeyGuard: sqliteNameKeyGuard,
    isUnavailable: isSqliteUnavailable,
    isUniqueViolation: isSqliteUniqueViolation,
  };
}
