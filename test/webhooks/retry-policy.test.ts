import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextAttemptAt, type RetryPolicy } from '../../src/webhooks/retry-policy.ts';

const POLICY: RetryPolicy = { maxAttempts: 5, maxAgeMs: 3_600_000, baseMs: 1000, maxMs: 8000 };
const NOW = new Date('2025-01-01T00:00:00.000Z');
const SINCE = NOW.toISOString();
const delay = (attempts: number, random: number, extra: { retryAfterMs?: number } = {}) => {
  const at = nextAttemptAt(
    POLICY,
    { attempts, pendingSince: SINCE, now: NOW, ...extra },
    () => random,
  );
  return at === undefined ? undefined : Date.parse(at) - NOW.getTime();
};

test('retry policy — when attempts fail, then the delay doubles between half and all of base × 2^(n-1), capped', () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => delay(n, 0)),
    [500, 1000, 2000, 4000],
  );
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => delay(n, 1)),
    [1000, 2000, 4000, 8000],
  );
  const capped = nextAttemptAt(
    { ...POLICY, maxAttempts: 50 },
    { attempts: 30, pendingSince: SINCE, now: NOW },
    () => 1,
  );
  assert.equal(Date.parse(capped ?? '') - NOW.getTime(), 8000);
});

test('retry policy — when the attempts are used up, then it gives up', () => {
  assert.equal(delay(5, 0.5), undefined);
});

test('retry policy — when the next attempt would fall past the age limit, then it gives up', () => {
  const late = new Date(NOW.getTime() + POLICY.maxAgeMs - 100);
  assert.equal(
    nextAttemptAt(POLICY, { attempts: 1, pendingSince: SINCE, now: late }, () => 0),
    undefined,
  );
});

test('retry policy — when the receiver sends Retry-After, then the wait is at least that, up to the longest delay', () => {
  assert.equal(delay(1, 0, { retryAfterMs: 3000 }), 3000);
  assert.equal(delay(1, 0, { retryAfterMs: 60_000 }), 8000);
  assert.equal(delay(3, 1, { retryAfterMs: 10 }), 4000);
});
