export interface RetryPolicy {
  maxAttempts: number;
  /** Counted from when the delivery became pending (fan-out or redelivery). */
  maxAgeMs: number;
  baseMs: number;
  maxMs: number;
}

/**
 * When to try a delivery again after its `attempts`-th attempt failed, or undefined to give up
 * (a dead letter). Exponential backoff with "equal jitter": half of the delay is fixed, half
 * random, so retries keep growing while a burst of failures spreads out instead of returning
 * in lockstep. A `Retry-After` from the receiver is honoured, up to the policy's longest delay.
 */
export function nextAttemptAt(
  policy: RetryPolicy,
  failure: { attempts: number; pendingSince: string; now: Date; retryAfterMs?: number | undefined },
  random: () => number = Math.random,
): string | undefined {
  if (failure.attempts >= policy.maxAttempts) return undefined;
  const exponential = Math.min(
    policy.maxMs,
    policy.baseMs * 2 ** Math.max(0, failure.attempts - 1),
  );
  let delay = exponential / 2 + (random() * exponential) / 2;
  if (failure.retryAfterMs !== undefined) {
    delay = Math.max(delay, Math.min(failure.retryAfterMs, policy.maxMs));
  }
  const at = failure.now.getTime() + delay;
  if (at - Date.parse(failure.pendingSince) > policy.maxAgeMs) return undefined;
  return new Date(at).toISOString();
}
