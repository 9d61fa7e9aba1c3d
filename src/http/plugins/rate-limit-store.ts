import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import type { FastifyBaseLogger } from 'fastify';
import type {
  FastifyRateLimitOptions,
  FastifyRateLimitStore,
  FastifyRateLimitStoreCtor,
} from '@fastify/rate-limit';
import LocalStore from '@fastify/rate-limit/store/LocalStore.js';
import RedisStore from '@fastify/rate-limit/store/RedisStore.js';

type Store = InstanceType<typeof LocalStore>;
type Callback = Parameters<Store['incr']>[1];
type RouteOptions = Parameters<FastifyRateLimitStore['child']>[0];

/** While per process, how often Redis is asked whether it is back. */
const PROBE_EVERY_MS = 1000;
/**
 * The longest a request waits for Redis's count. Redis answers in well under a millisecond on a
 * healthy network; past this the request is answered from this process's own count instead of
 * waiting out REDIS_TIMEOUT_MS, which decides only when Redis counts as away.
 */
export const REDIS_WAIT_MS = 10;

/**
 * Which counters the limiter uses right now: Redis's, shared by every process, or this process's
 * own while Redis is down or does not answer within its timeout. One per limiter; it logs and
 * shows each change once, and finds its way back to Redis by itself.
 */
class CounterSource {
  perProcess = false;
  readonly redis: Redis;
  private readonly log: FastifyBaseLogger;
  private probe: NodeJS.Timeout | undefined;
  constructor(redis: Redis, log: FastifyBaseLogger) {
    this.redis = redis;
    this.log = log;
    // A reconnect is worth checking at once rather than at the next probe.
    redis.on('ready', () => void (this.perProcess && this.check()));
  }

  /** Redis failed a command (down, refused, or timed out): count per process until it answers. */
  fail(error: Error): void {
    if (this.perProcess) return;
    this.perProcess = true;
    this.log.warn(
      { err: error },
      'rate limits count per process: Redis does not answer; retrying every second',
    );
    this.probe = setInterval(() => void this.check(), PROBE_EVERY_MS).unref();
  }

  private async check(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    try {
      await this.redis.ping();
    } catch {
      return;
    }
    if (!this.perProcess) return;
    this.perProcess = false;
    clearInterval(this.probe);
    this.log.info('rate limits shared through Redis again');
  }

  close(): void {
    clearInterval(this.probe);
  }
}

/**
 * A rate-limit store (the contract @fastify/rate-limit documents for custom stores) that counts
 * in Redis and falls back to per-process counters while Redis is away: at once when the client
 * is not connected, and when Redis hangs, once a command has gone unanswered for
 * REDIS_TIMEOUT_MS (ioredis's command timeout). No request waits that long: one that has no
 * answer from Redis within REDIS_WAIT_MS is answered from this process's own count, which is
 * kept all along, while its command runs on and decides whether Redis is away. Requests are
 * still limited meanwhile, by each process on its own, instead of passing unlimited.
 */
class FallbackStore implements FastifyRateLimitStore {
  private readonly source: CounterSource;
  private readonly shared: Store;
  private readonly local: Store;
  private readonly waitMs: number;
  constructor(source: CounterSource, shared: Store, local: Store, waitMs: number) {
    this.source = source;
    this.shared = shared;
    this.local = local;
    this.waitMs = waitMs;
  }

  incr(key: string, callback: Callback, timeWindow: number, max: number): void {
    this.count('incr', key, callback, timeWindow, max);
  }

  read(key: string, callback: Callback, timeWindow: number, max: number): void {
    this.count('read', key, callback, timeWindow, max);
  }

  private count(
    method: 'incr' | 'read',
    key: string,
    callback: Callback,
    timeWindow: number,
    max: number,
  ): void {
    if (this.source.perProcess || this.source.redis.status !== 'ready') {
      if (!this.source.perProcess)
        this.source.fail(new Error(`Redis is ${this.source.redis.status}`));
      this.local[method](key, callback, timeWindow, max);
      return;
    }
    // This process's own count is kept all along, so a switch to it (a Redis command that timed
    // out while the event loop was busy, say) carries on from this process's share rather than
    // granting every client a fresh budget; and back on Redis, which missed what was counted
    // here meanwhile, the larger of the two counts holds. (LocalStore answers synchronously.)
    let own: Parameters<Callback>[1];
    if (method === 'incr')
      this.local.incr(key, (_error, result) => (own = result), timeWindow, max);
    let answered = false;
    const answer: Callback = (error, result) => {
      if (answered) return;
      answered = true;
      clearTimeout(wait);
      callback(error, result);
    };
    const fromOwnCount = () => this.local.read(key, answer, timeWindow, max);
    // Checked after the poll phase (setImmediate), so that an answer from Redis that came in while
    // the event loop was busy is taken first rather than lost to the timer.
    const wait = setTimeout(() => setImmediate(() => answered || fromOwnCount()), this.waitMs);
    this.shared[method](
      key,
      (error, result) => {
        if (!error)
          return answer(null, own && result && own.current > result.current ? own : result);
        this.source.fail(error);
        // Already counted here above: read the count rather than count twice.
        fromOwnCount();
      },
      timeWindow,
      max,
    );
  }

  child(routeOptions: RouteOptions): FallbackStore {
    return new FallbackStore(
      this.source,
      this.shared.child(routeOptions) as Store,
      this.local.child(routeOptions) as Store,
      this.waitMs,
    );
  }
}

/**
 * The store class to hand @fastify/rate-limit (it calls `new Store(globalParams)`), and a
 * `close` for shutdown. The gauge `rate_limit_per_process` is 1 while counting per process.
 */
export function fallbackStore(options: {
  redis: Redis;
  namespace: string;
  log: FastifyBaseLogger;
  registry?: Registry | undefined;
  /** The longest a request waits for Redis; REDIS_WAIT_MS unless a test needs every count shared. */
  waitMs?: number | undefined;
}): { Store: FastifyRateLimitStoreCtor; close(): void } {
  const source = new CounterSource(options.redis, options.log);
  new Gauge({
    name: 'rate_limit_per_process',
    help: '1 while the rate limiter counts per process because Redis does not answer, else 0.',
    registers: options.registry ? [options.registry] : [],
    collect() {
      this.set(source.perProcess ? 1 : 0);
    },
  });
  class Store extends FallbackStore {
    constructor(settings: FastifyRateLimitOptions) {
      // The plugin passes its resolved settings, which carry these two though the type does not.
      const params = settings as { continueExceeding?: boolean; exponentialBackoff?: boolean };
      const continueExceeding = params.continueExceeding ?? false;
      const exponentialBackoff = params.exponentialBackoff ?? false;
      super(
        source,
        new RedisStore(continueExceeding, exponentialBackoff, options.redis, options.namespace),
        new LocalStore(continueExceeding, exponentialBackoff),
        options.waitMs ?? REDIS_WAIT_MS,
      );
    }
  }
  return { Store, close: () => source.close() };
}
