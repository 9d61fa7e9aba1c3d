import { anyCause, errorCode, errorMessage, isConnectionError } from '../connection-errors.ts';
import type { UniqueIndex } from '../sql/sql-engine.ts';

// SQLSTATEs meaning "the server is not there for us right now":
// https://www.postgresql.org/docs/current/errcodes-appendix.html
const UNAVAILABLE_STATES: ReadonlySet<string> = new Set([
  '57P01', // admin_shutdown (also pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '53300', // too_many_connections
  '57014', // query_canceled: statement_timeout, the server is too slow to answer in time
]);

// pg raises these without a code; its messages are the only signal.
const UNAVAILABLE_MESSAGES = [
  'Connection terminated', // includes "… unexpectedly" and "… due to connection timeout"
  'timeout exceeded when trying to connect', // pool checkout
  'Client has encountered a connection error and is not queryable',
  'Connection ended unexpectedly',
];

export function isPostgresUnavailable(error: unknown): boolean {
  return (
    isConnectionError(error) ||
    anyCause(error, (e) => {
      const code = errorCode(e);
      if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_STATES.has(code)))
        return true;
      const message = errorMessage(e);
      return UNAVAILABLE_MESSAGES.some((text) => message.startsWith(text));
    })
  );
}

export function isPostgresUniqueViolation(error: unknown, index: UniqueIndex): boolean {
  return (
    errorCode(error) === '23505' && (error as { constraint?: unknown }).constraint === index.name
  );
}
