import { createHash } from 'node:crypto';
import { sql, PostgresDialect, type CompiledQuery, type Kysely } from 'kysely';
import pg from 'pg';
import type { SqlEngine } from '../sql/sql-engine.ts';
import type { SqlDatabase } from '../sql/sql-schema.ts';
import {
  postgresMatchIndexes,
  postgresNameKeyGuard,
  postgresWriteKeys,
} from './postgres-match-indexes.ts';
import { postgresOutboxTuning } from './postgres-outbox-tuning.ts';
import { isPostgresUnavailable, isPostgresUniqueViolation } from './postgres-errors.ts';

export interface PostgresEngineOptions {
  url: string;
  poolMax: number;
  connectTimeoutMs: number;
  /** 0 leaves the server's default. */
  statementTimeoutMs: number;
  /** Errors of idle pooled connections (the server went away); the pool drops them itself. */
  onBackgroundError?: (error: unknown) => void;
}

/** Most connections of the delivery worker's bookkeeping pool, on top of DATABASE_POOL_MAX. */
export const BOOKKEEPING_CONNECTIONS = 3;

/**
 * When the outbox's deliveries were last vacuumed by anyone (a worker's VACUUM or autovacuum),
 * as the server's statistics tell: the same text until the next VACUUM ends.
 */
async function lastVacuumOf(db: Kysely<SqlDatabase>): Promise<string> {
  const { rows } = await sql<{ at: string | null }>`select
      greatest(last_vacuum, last_autovacuum)::text as at
    from pg_stat_user_tables where relid = 'outbox_deliveries'::regclass`.execute(db);
  return rows[0]?.at ?? '';
}

/**
 * PostgreSQL through a pg Pool. The pool connects lazily, so creating it never throws nor waits,
 * and it recovers by itself when the server returns: broken clients are discarded, new ones are
 * opened on demand.
 */
export function createPostgresEngine(options: PostgresEngineOptions): SqlEngine {
  const report = options.onBackgroundError ?? (() => undefined);
  /** The last VACUUM of the outbox this process saw end (see tidyOutbox). */
  let tidiedAt: string | undefined;
  const openPool = (settings: { options?: string; max?: number } = {}) => {
    const opened = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax,
      connectionTimeoutMillis: options.connectTimeoutMs,
      statement_timeout: options.statementTimeoutMs,
      application_name: '12factor-app',
      keepAlive: true,
      ...settings,
    });
    // Without these listeners an idle client's error (server restart, pg_terminate_backend)
    // is an unhandled 'error' event, which kills the process.
    opened.on('error', report);
    // A checked-out client can fail between two queries of a transaction, while pg-pool's idle
    // listener is detached; the next query fails and reports it, this only keeps the process up.
    opened.on('connect', (client) => client.on('error', () => undefined));
    return opened;
  };
  const pool = openPool();
  /**
   * The delivery worker's bookkeeping statements' own pool, opened by the first of them (so
   * only in a worker): its sessions commit without waiting for the WAL's flush
   * (`synchronous_commit = off`; see SqlEngine.bookkeeping for why that is safe there). At
   * most BOOKKEEPING_CONNECTIONS: a worker's loop runs one fan-out or claim at a time, and its
   * outcomes one UPDATE per URL, which wait for a connection rather than open more.
   */
  let bookkeepingPool: pg.Pool | undefined;

  // Each hot read and one-statement write by name: a connection parses and plans it the first time it runs it, then
  // only binds and executes (pg prepares a named query once per connection). The server's
  // CPU is shared with everything else on the host, so planning a point read anew each time
  // is not free.
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (name === undefined) {
      name = `12f_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
      names.set(text, name);
    }
    return name;
  };

  const named = async <R>(query: CompiledQuery<R>, on = pool) => {
    const result = await on.query({
      name: nameOf(query.sql),
      text: query.sql,
      values: query.parameters as unknown[],
    });
    return result.rows as R[];
  };

  // Reads ask for their timestamps as ISO strings, which is all a record needs of them.
  const read = async <R>(query: CompiledQuery<R>) => {
    const result = await pool.query({
      name: nameOf(query.sql),
      text: query.sql,
      values: query.parameters as unknown[],
      types: ISO_TIMESTAMPS,
    });
    return result.rows as R[];
  };

  return {
    kind: 'postgres',
    outboxSignal: outboxSignal(options, pool),
    capabilities: { embedded: false },
    dialect: new PostgresDialect({ pool }),
    read,
    writeStatement: named,
    bookkeepingStatement: (query) =>
      named(
        query,
        (bookkeepingPool ??= openPool({
          options: '-c synchronous_commit=off',
          max: Math.min(options.poolMax, BOOKKEEPING_CONNECTIONS),
        })),
      ),
    close: async () => {
      await bookkeepingPool?.end();
    },
    pageBounds: (limits, skips) =>
      sql<{
        lim: number;
        off: number;
        k: string;
      }>`unnest(${limits}::int8[], ${skips}::int8[]) with ordinality`.as<'q'>(sql`q(lim, off, k)`),
    anyOf: {
      where: (column, list) => sql<boolean>`${sql.ref(column)} = any(${list})`,
      bind: (values) => values,
    },
    // Byte order, like SQLite's BINARY and MongoDB's simple collation, so a sort gives the same
    // page on every store whatever the database's locale.
    columnTypes: {
      id: sql`char(24) collate "C"`,
      text: sql`text collate "C"`,
      timestamp: sql`timestamptz(3)`,
      sequence: sql`bigint`,
    },
    sequenceKey: (column) => column.primaryKey().generatedAlwaysAsIdentity(),
    rowLocks: true,
    // VACUUM may take longer than a statement may (it is not a request's); it cannot run in a
    // transaction, so the timeout is lifted on its connection for the while.
    //
    // One tidy serves every worker: each asks at the pace of the rows it wrote, so with two
    // workers the tables were vacuumed twice as often as one worker's writes called for, the
    // second VACUUM a second after the first, with little left to clean. A tidy is skipped when
    // the tables were vacuumed since this process last looked (by another worker, or by
    // autovacuum). Measured with changes at half the create rate and two workers: four VACUUMs
    // of 0.7-0.85 s in 10 s, in pairs a second apart; with the check, three of 0.9 s in 12.7 s,
    // none paired. (Each VACUUM scans the outbox's indexes whole, so its cost follows the
    // tables' size, which the clock's purge bounds.)
    tidyOutbox: (db) =>
      db.connection().execute(async (connection) => {
        const vacuumed = await lastVacuumOf(connection);
        if (tidiedAt !== undefined && vacuumed !== tidiedAt) {
          tidiedAt = vacuumed;
          return;
        }
        await sql`set statement_timeout = 0`.execute(connection);
        try {
          await sql`vacuum (analyze) outbox_events, outbox_deliveries`.execute(connection);
        } finally {
          await sql`reset statement_timeout`.execute(connection);
        }
        tidiedAt = await lastVacuumOf(connection);
      }),
    matchIndexes: postgresMatchIndexes,
    nameKeyGuard: postgresNameKeyGuard,
    outboxDeliveriesTuning: postgresOutboxTuning,
    writeNameKeys: postgresWriteKeys,
    bulkInsertNew: async (db, { table, key, columns }) => {
      const names = sql.join(columns.map((column) => sql.ref(column.name)));
      const arrays = sql.join(
        columns.map((column) => sql`${column.values}::${sql.raw(column.type)}[]`),
      );
      const { rows } = await sql<Record<string, unknown>>`insert into ${sql.table(table)} (${names})
        select * from unnest(${arrays}) on conflict do nothing returning ${sql.ref(key)}`.execute(
        db,
      );
      return rows.map((row) => row[key]);
    },
    // Migrations may build indexes for longer than a request may take.
    migrationSession: { before: 'set statement_timeout = 0', after: 'reset statement_timeout' },
    isUnavailable: isPostgresUnavailable,
    isUniqueViolation: isPostgresUniqueViolation,
  };
}

const TIMESTAMPTZ_OID = 1184;
/** PostgreSQL's ISO text of a timestamptz(3) in UTC: `2017-02-13 06:13:53.79+00`. */
const UTC_TEXT = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,3}))?\+00$/;

/**
 * pg's own reading of a timestamptz (a Date, which the store then prints as ISO) costs several
 * times more than rewriting the text, and a page of 30 records has 60 of them. Text in UTC in
 * PostgreSQL's ISO style (the default DateStyle; TimeZone UTC) is rewritten; anything else (another
 * session time zone, a year past 9999) takes pg's parser, so every value reads as before.
 */
const ISO_TIMESTAMPS = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => {
    const parse = pg.types.getTypeParser(oid, format ?? 'text') as (text: string) => unknown;
    if (oid !== TIMESTAMPTZ_OID || format === 'binary') return parse;
    return (text: string) => {
      const utc = UTC_TEXT.exec(text);
      if (!utc) return (parse(text) as Date).toISOString();
      return `${utc[1]}T${utc[2]}.${(utc[3] ?? '').padEnd(3, '0')}Z`;
    };
  },
};

/** The channel writers notify and workers listen on. */
const CHANNEL = 'outbox_events';
const NOTIFY = `notify ${CHANNEL}`;
/** How long a worker's listening connection waits before it reconnects; it polls meanwhile. */
const RELISTEN_MS = 1000;

/**
 * NOTIFY after a write commits, on the pool, at most one at a time per process: writes that
 * commit while one is in flight share the next. Not inside the writing statement, because a
 * transaction that notifies takes a database-wide lock at commit and keeps it until its commit
 * is flushed, so every notifying write would commit one after another, each waiting for its own
 * WAL flush. A lost notification costs a poll interval, nothing more: the event is already in
 * the outbox. A worker LISTENs on a connection of its own, re-opened when it drops.
 */
function outboxSignal(options: PostgresEngineOptions, pool: pg.Pool) {
  let sending = false;
  let again = false;
  const notify = (): void => {
    if (sending) {
      again = true;
      return;
    }
    sending = true;
    pool
      .query(NOTIFY)
      .catch(() => undefined)
      .finally(() => {
        sending = false;
        if (again) {
          again = false;
          notify();
        }
      });
  };
  const listen = async (onNotify: () => void) => {
    let client: pg.Client | undefined;
    let closed = false;
    let retry: NodeJS.Timeout | undefined;
    const relisten = () => {
      client = undefined;
      if (!closed && !retry)
        retry = setTimeout(() => {
          retry = undefined;
          void connect();
        }, RELISTEN_MS);
    };
    const connect = async () => {
      const next = new pg.Client({
        connectionString: options.url,
        connectionTimeoutMillis: options.connectTimeoutMs,
        application_name: '12factor-app',
        keepAlive: true,
      });
      next.on('notification', () => onNotify());
      next.on('error', () => undefined);
      next.on('end', relisten);
      try {
        await next.connect();
        await next.query(`listen ${CHANNEL}`);
        if (closed) await next.end();
        else {
          client = next;
          // Events written while nobody listened are found by this wake-up's look.
          onNotify();
        }
      } catch (error) {
        options.onBackgroundError?.(error);
        await next.end().catch(() => undefined);
        relisten();
      }
    };
    await connect();
    return async () => {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    };
  };
  return { notify, listen };
}
