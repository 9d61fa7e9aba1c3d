import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other run shares; clean() deletes only keys under it (never FLUSHALL). */
export function redisNamespace(): { prefix: string; clean(redis: Redis): Promise<void> } {
  const prefix = `t12f:${randomBytes(6).toString('hex')}:`;
  return {
    prefix,
    async clean(redis) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    },
  };
}

/**
 * Whether the test Redis answers; when it does not, a failing test under CI and a visible skip
 * locally, as for PostgreSQL.
 */
export async function redisAvailable(): Promise<boolean> {
  const redis = new Redis(TEST_REDIS_URL, {
    lazyConnect: true,
    // Generous: the files that ask run their first tests meanwhile, and a CI machine busy with
    // other work once took over a second to connect ("Connection is closed") to a Redis that was up.
    connectTimeout: 5000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch (error) {
    const reason = `Redis unreachable at ${TEST_REDIS_URL} (${String(error)}); set TEST_REDIS_URL`;
    if (process.env.CI) {
      test('redis — when CI runs without Redis, then the suite fails', () => {
        throw new Error(reason);
      });
    } else {
      console.warn(`# ${reason}: skipping the Redis tests`);
      test('redis — when Redis is unreachable, then its tests are skipped', (t) => t.skip(reason));
    }
    return false;
  } finally {
    redis.disconnect();
  }
}
