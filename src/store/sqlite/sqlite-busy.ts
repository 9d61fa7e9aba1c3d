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

/** Pauses between tries here: the lock is held for a transaction, a few milliseconds. */
const RETRY_MS = [1, 1, 2, 2, 4];

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
      for (let attempt = 0; ; attempt++) {
        try {
          return await connection.executeQuery<R>(query);
        } catch (error) {
          const pause = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]!;
          const waited = performance.now() - started;
          if (!isBusy(error) || options.inTransaction() || waited + pause > options.busyTimeoutMs)
            throw error;
          await sleep(pause);
        }
      }
    },
    streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
  };
}
