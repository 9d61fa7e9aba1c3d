import {
  MongoError,
  MongoErrorLabel,
  MongoNetworkError,
  MongoServerError,
  MongoServerSelectionError,
} from 'mongodb';
import { anyCause, isConnectionError } from '../connection-errors.ts';

// Server codes for "not available right now": shutting down, stepped down, unreachable
// members, and the time limits: MaxTimeMSExpired (our per-query limit) and ExceededTimeLimit
// (a lock or a ticket not obtained in time, also what a replica set answers while it is busy).
// https://www.mongodb.com/docs/manual/reference/error-codes/
const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

export function isMongoUnavailable(error: unknown): boolean {
  return (
    isConnectionError(error) ||
    anyCause(
      error,
      (e) =>
        e instanceof MongoNetworkError || // includes MongoNetworkTimeoutError
        e instanceof MongoServerSelectionError ||
        (e instanceof MongoServerError &&
          typeof e.code === 'number' &&
          UNAVAILABLE_CODES.has(e.code)) ||
        // Still transient after withTransaction's own retries (a write conflict that kept
        // recurring, an election): the store is busy, not the request wrong, so 503 and retry.
        // https://www.mongodb.com/docs/manual/core/transactions-in-applications/
        (e instanceof MongoError && e.hasErrorLabel(MongoErrorLabel.TransientTransactionError)),
    )
  );
}

/** E11000 on the given index; MongoDB reports the key pattern (4.4+) and names the index in the message. */
export function isDuplicateKey(error: unknown, index?: { name: string; field: string }): boolean {
  if (!(error instanceof MongoServerError) || error.code !== 11000) return false;
  if (index === undefined) return true;
  const keyPattern = (error as { keyPattern?: Record<string, unknown> }).keyPattern;
  return keyPattern ? Object.hasOwn(keyPattern, index.field) : error.message.includes(index.name);
}
