import {
  sql,
  type ColumnDefinitionBuilder,
  type CompiledQuery,
  type Dialect,
  type Expression,
  type Kysely,
  type SqlBool,
} from 'kysely';
import type { StoreCapabilities } from '../../users/user-store.ts';
import type { SqlDatabase } from './sql-schema.ts';
import type { PageBounds } from './sql-page-batch.ts';
import type { SliceOptions } from './sql-sliced-list.ts';

export interface SqlColumnTypes {
  id: Expression<unknown>;
  text: Expression<unknown>;
  timestamp: Expression<unknown>;
  /** An integer wide enough for any outbox sequence (64 bits). */
  sequence: Expression<unknown>;
}

/** Rows for one multi-row INSERT, column by column. */
export interface BulkRows {
  table: string;
  /** The column whose values the insert answers for the rows it wrote. */
  key: string;
  /** Each column's name, its element type for an array cast, and its values, one per row. */
  columns: readonly { name: string; type: 'text' | 'timestamptz'; values: readonly unknown[] }[];
}

export interface UniqueIndex {
  table: string;
  column: string;
  name: string;
}

/**
 * What one SQL engine brings to the shared Kysely store: its dialect, and hooks for the few
 * places where engines really differ. Every optional hook has a default that suits SQLite.
 */
export interface SqlEngine {
  readonly kind: string;
  readonly dialect: Dialect;
  readonly capabilities: StoreCapabilities;
  /** Column types used by migrations. Changing them later needs a new migration. */
  readonly columnTypes?: Partial<SqlColumnTypes>;
  /**
   * Makes a `sequence`-typed column the primary key, assigned by the engine, increasing and
   * never reused even after the highest rows are deleted (the outbox's event sequence).
   */
  readonly sequenceKey?: (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
  /** Whether `SELECT … FOR UPDATE` exists; without it, transactions must lock otherwise. */
  readonly rowLocks?: boolean;
  /**
   * Builds indexes that serve text matching (`LIKE` on the folded keys) where the engine has
   * them. Runs after every migrate, on a connection outside any transaction, and must be
   * idempotent and block no write for long; it calls `fill` (fillNameKeys) before building the
   * indexes on the keys. `drop` removes them (migration 0004's `down`). Without it, matching
   * scans, in the engine, within the query budget, and the migrator only calls `fill`.
   */
  readonly matchIndexes?: {
    build: (db: Kysely<unknown>, fill: () => Promise<unknown>) => Promise<void>;
    drop: (db: Kysely<unknown>) => Promise<void>;
  };
  /**
   * Migration 0006: a trigger that sets `users.name_key` NULL whenever a write (from a release
   * that predates the column) leaves it stale, and a SQL function `users_name_fold(name)` that
   * folds as nameKey does, which matching applies to the rows whose key is NULL (see sqlWhere).
   */
  readonly nameKeyGuard: {
    create: (db: Kysely<unknown>) => Promise<void>;
    drop: (db: Kysely<unknown>) => Promise<void>;
  };
  /**
   * Migration 0007: storage settings for `outbox_deliveries` where the engine has them, so the
   * claim's lease and the fan-out cost the store less (postgres-outbox-tuning.ts). Without it,
   * the migration changes nothing.
   */
  readonly outboxDeliveriesTuning?: {
    apply: (db: Kysely<unknown>) => Promise<void>;
    undo: (db: Kysely<unknown>) => Promise<void>;
  };
  /** Writes one committed batch of folded keys (fillNameKeys); by default, row by row. */
  readonly writeNameKeys?: (
    db: Kysely<unknown>,
    rows: readonly { id: string; name: string; key: string }[],
  ) => Promise<void>;
  /**
   * Inserts the rows that collide with no unique index (`ON CONFLICT DO NOTHING`) in one
   * statement and answers their `key` values. Without it, a multi-row VALUES list (one
   * placeholder per value); PostgreSQL passes one array per column to `unnest` instead: seven
   * parameters whatever the row count, several times faster to parse and plan.
   */
  readonly bulkInsertNew?: (db: Kysely<SqlDatabase>, rows: BulkRows) => Promise<unknown[]>;
  /**
   * Whether one-record writes that arrive together share a transaction and its COMMIT, each in
   * a savepoint (CommitGroup). Worth it where a commit costs far more than a statement: SQLite
   * writes every page a transaction touched to its WAL at each commit, and has one writer anyway.
   */
  readonly groupCommits?: boolean;
  /**
   * Runs one of the store's hot read-only queries by a shorter path than Kysely's when the engine
   * has one (SQLite: at once, on its one connection; PostgreSQL: as a prepared statement);
   * `undefined` when it cannot, and the caller goes through Kysely as usual.
   */
  readonly read?: <R>(query: CompiledQuery<R>) => R[] | Promise<R[]> | undefined;
  /**
   * Where the engine can bind every page's bounds as arrays (PostgreSQL: `unnest … with
   * ordinality`): where-less list pages that arrive together are one statement (PageBatch), run
   * by `read`.
   */
  readonly pageBounds?: PageBounds;
  /**
   * Present where the engine has data-modifying CTEs (PostgreSQL): one-record writes are then one
   * statement per kind for the writes that arrive together, rows and events together, run outside
   * any transaction by this function (prepared by name), instead of a transaction of several per
   * write (StatementWrites); an outbox claim is one statement too.
   */
  readonly writeStatement?: (query: CompiledQuery) => Promise<unknown[]>;
  /**
   * `writeStatement` for the delivery worker's bookkeeping (fan-out, claims, outcomes), on
   * sessions whose commits do not wait for the disk: what `bookkeeping` does for the engines
   * whose outbox runs on Kysely.
   */
  readonly bookkeepingStatement?: (query: CompiledQuery) => Promise<unknown[]>;
  /** Closes what the engine opened besides the dialect's connections; after those are closed. */
  readonly close?: () => Promise<void>;
  /**
   * Wakes workers when events were written (PostgreSQL: NOTIFY after the write committed,
   * LISTEN in the worker), where the engine can; without it, workers find events by polling.
   */
  readonly outboxSignal?: {
    /** A write with an event committed; cheap to call after every one. */
    notify(): void;
    listen(onNotify: () => void): Promise<() => Promise<void>>;
  };
  /**
   * `column` equal to any value of a list bound as one parameter whatever its length, so every
   * batch of reads by id (ReadBatch), of claims or of completions is the same statement,
   * compiled and prepared once, where `in (?, ?, …)` is a new statement for every length.
   */
  readonly anyOf: {
    /** The condition, with `list` (a value `bind` made) as its one parameter. */
    where: (column: string, list: unknown) => Expression<SqlBool>;
    /** A list of values as that one parameter. */
    bind: (values: readonly (string | number)[]) => unknown;
  };
  /**
   * For an engine that answers synchronously and cannot interrupt a statement (SQLite): lists
   * whose filter must scan the table run in slices, the event loop turning between them, within
   * a deadline (see slicedList). Engines with a server-side statement timeout leave it unset.
   */
  readonly scanSlices?: SliceOptions;
  /**
   * A small committed write. After a write failed with the store unavailable (a full or
   * read-only disk), ping() runs it, so readiness fails until writes work again; without it
   * ping() only reads.
   */
  readonly probeWrite?: (db: Kysely<SqlDatabase>) => Promise<void>;
  /**
   * Runs the delivery worker's bookkeeping (fan-out, leases, outcomes) on a connection whose
   * commits do not wait for the disk (SQLite: `synchronous = NORMAL` for the while), where every
   * other write waits for its fsync, and on SQLite waits for it holding the one write lock. In
   * WAL mode the database stays consistent and keeps a prefix of its commits whatever happens;
   * only a crash of the machine itself can lose the last of these, and then deliveries are
   * fanned out, leased or sent again: at least once still holds, and the events themselves
   * are written by the web process's durable commits. Without it, `work` runs on `db`.
   */
  readonly bookkeeping?: <T>(
    db: Kysely<SqlDatabase>,
    work: (db: Kysely<SqlDatabase>) => Promise<T>,
  ) => Promise<T>;
  /**
   * Tidies the outbox tables where the engine keeps the old versions of changed rows
   * (PostgreSQL: VACUUM, which also refreshes the planner's statistics): the worker asks for it
   * while the rows it writes outgrow what was last tidied. An engine that reclaims rows as it
   * writes them and plans without statistics leaves it unset.
   */
  readonly tidyOutbox?: (db: Kysely<SqlDatabase>) => Promise<void>;
  /** Statements around a migration run on its connection (e.g. lifting statement_timeout). */
  readonly migrationSession?: { before: string; after: string };
  readonly isUnavailable: (error: unknown) => boolean;
  readonly isUniqueViolation: (error: unknown, index: UniqueIndex) => boolean;
}

const DEFAULT_COLUMN_TYPES: SqlColumnTypes = {
  id: sql`char(24)`,
  text: sql`text`,
  // ISO-8601 strings sort and compare correctly as text; engines with a real type override it.
  timestamp: sql`text`,
  sequence: sql`integer`,
};

export function columnTypes(engine: SqlEngine): SqlColumnTypes {
  return { ...DEFAULT_COLUMN_TYPES, ...engine.columnTypes };
}

/** SQLite: `integer primary key autoincrement`, whose AUTOINCREMENT forbids reusing a rowid. */
export function sequenceKeyOf(
  engine: SqlEngine,
): (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  return engine.sequenceKey ?? ((column) => column.primaryKey().autoIncrement());
}
