/**
 * The methods that change nothing (RFC 9110, section 9.2.1): auth asks only `read` of them, and
 * they record no outbox event (so tracing need not keep a context for one).
 */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
