import { setTimeout as sleep } from 'node:timers/promises';
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely';
import { errorCode } from '../connection-errors.ts';

/**
 * How long SQLite's own busy handler may wait for another connection's write lock before the
 * waiting goes on here. Its wait blocks the thread, so the whole event loop: a worker stalled
 * there read no webhook answers and freed no slot; a web process answered nothing. SQLite also
 * sleeps ever longer between tries (25, 50, then 100 ms), so a writer that lost a few times
 * slept through the moments the lock was free while the other processes took it: waits of a
 * second were measured with the web process's writes and two workers on one file.
 */
export const SYNC_BUSY_MS = 2;

/**
 * The pause between tries here. A try costs microseconds (a BEGIN IMMEDIATE refused at once), and
 * the lock is free only in the gaps between the other processes' transactions, which hold it for
 * a commit's fsync: pauses growing to 4 ms missed most gaps. Same-run A/B (bench:events, SQLite,
 * changes at 4,500 a second, three rounds): lag p99 0.43, 0.82 and 1.2 s with 1 ms, against 1.1,
 * 2.4 and 3.0 s with pauses of 1, 1, 2, 2, then 4 ms.
 */
const RETRY_MS = 1;

/** Whether SQLite said another connection holds the lock (any extended SQLITE_BUSY code). */
export function isBusy(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'SQLITE_BUSY' || (typeof code === 'string' && code.startsWith('SQLITE_BUSY_'));
}

/**
 * `connection`, whose statements that find the database locked are tried again after a pause
 * that leaves the event loop free, until `busyTimeoutMs` has passed since the first try; then
 * the last SQLITE_BUSY is thrown, as SQLite's own handler would have. Only a statement that
 * failed outside any transaction is tried again: it changed nothing (a statement is atomic, a
 * BEGIN that failed began nothing). Inside a transaction the caller decides, as before.
 */
export function retryWhenBusy(
  connection: DatabaseConnection,
  options: { busyTimeoutMs: number; inTransaction: () => boolean },
): DatabaseConnection {
  return {
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      const started = performance.now();
      for (;;) {
        try {
          return await connection.executeQuery<R>(query);
        } catch (error) {
          const waited = performance.now() - started;
          if (
            !isBusy(error) ||
            options.inTransaction() ||
            waited + RETRY_MS > options.busyTimeoutMs
          )
            throw error;
          await sleep(RETRY_MS);
        }
      }
    },
    streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
  };
}
