import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import { redactUrl } from '../store/index.ts';

/**
 * The Redis the rate limiter shares its counters through (REDIS_URL, a backing service). No
 * offline queue and a command timeout of REDIS_TIMEOUT_MS: while Redis is away a command fails at
 * once, and while it hangs within that timeout, and the limiter counts per process meanwhile,
 * instead of every request waiting on a reconnect.
 */
export async function connectRedis(
  url: string,
  options: { logger: Logger; commandTimeoutMs: number },
): Promise<Redis> {
  const { logger } = options;
  // Loaded only where REDIS_URL is set: ioredis costs every other start ~25 ms.
  const { Redis } = await import('ioredis');
  const log = logger.child({ redis: redactUrl(url) });
  const redis = new Redis(url, {
    connectTimeout: 500,
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  let up: boolean | undefined;
  redis.on('ready', () => {
    up = true;
    log.info('redis ready');
  });
  // ioredis reconnects by itself; one line per outage, not one per retry.
  redis.on('error', (error) => {
    if (up === false) return;
    up = false;
    log.warn({ err: error }, 'redis unreachable');
  });
  return redis;
}
