/** Socket-level failures: the peer is gone or unreachable, not a bug in the request. */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const MAX_DEPTH = 5;

/**
 * Whether `test` holds for the error, its `cause` chain, or an AggregateError's members (Node's
 * happy-eyeballs connect reports one failure per address that way).
 */
export function anyCause(
  error: unknown,
  test: (candidate: unknown) => boolean,
  depth = 0,
): boolean {
  if (error === undefined || error === null || depth > MAX_DEPTH) return false;
  if (test(error)) return true;
  if (error instanceof AggregateError && error.errors.some((e) => anyCause(e, test, depth + 1)))
    return true;
  return error instanceof Error && anyCause(error.cause, test, depth + 1);
}

export function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : '';
}

export function isConnectionError(error: unknown): boolean {
  return anyCause(error, (e) => {
    const code = errorCode(e);
    return typeof code === 'string' && CONNECTION_CODES.has(code);
  });
}
