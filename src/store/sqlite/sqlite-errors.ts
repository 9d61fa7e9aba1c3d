import { errorCode, errorMessage } from '../connection-errors.ts';
import type { UniqueIndex } from '../sql/sql-engine.ts';

// Primary result codes (better-sqlite3 reports extended ones, e.g. SQLITE_BUSY_SNAPSHOT):
// the file cannot be opened, is locked past busy_timeout, the disk is failing or full, or the
// file or its directory became read-only.
const UNAVAILABLE = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_READONLY',
  'SQLITE_PROTOCOL',
];

export function isSqliteUnavailable(error: unknown): boolean {
  const code = errorCode(error);
  return (
    typeof code === 'string' &&
    UNAVAILABLE.some((prefix) => code === prefix || code.startsWith(`${prefix}_`))
  );
}

/**
 * SQLite names the columns of a violated unique index, not the index, and only in the message
 * ("UNIQUE constraint failed: users.email_key"): the one place we must read message text.
 */
export function isSqliteUniqueViolation(error: unknown, index: UniqueIndex): boolean {
  return (
    errorCode(error) === 'SQLITE_CONSTRAINT_UNIQUE' &&
    errorMessage(error).endsWith(`: ${index.table}.${index.column}`)
  );
}
