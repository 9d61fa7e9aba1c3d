import type { FastifyInstance, FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type { Redis } from 'ioredis';
import { ProblemError } from '../problems.ts';
import { routeOf } from './request-context.ts';
import { fallbackStore } from './rate-limit-store.ts';
import type { Registry } from 'prom-client';

export interface LimitSettings {
  /** Requests per client (IP, or X-Forwarded-For under TRUST_PROXY) per window; max 0 is off. */
  rateLimit: { max: number; windowMs: number };
  /** Shares the counters across processes and machines; in-process counters without it. */
  redis?: Redis | undefined;
  /** Redis key prefix; tests use one per run. */
  namespace?: string;
  /** Shed load past this event-loop delay; 0 is off. */
  maxEventLoopDelayMs: number;
  /**
   * The longest a request waits for Redis before its process's own count answers it (default
   * 10 ms); a test of shared counts lengthens it, so that a busy machine cannot split them.
   */
  redisWaitMs?: number;
  /** How often the event loop is sampled (default 1000 ms); tests shorten it. */
  sampleIntervalMs?: number;
}

/**
 * Probes and scrapes are never limited or shed: an orchestrator that sees a 429 or 503 on
 * /healthz would restart a process that is merely busy, making the overload worse.
 */
const OPERATIONAL = new Set(['/healthz', '/readyz', '/metrics', '/version']);
const operational = (request: FastifyRequest) => OPERATIONAL.has(routeOf(request));

/** Rate limiting (429) and load shedding (503), registered before any route. */
export async function limits(
  app: FastifyInstance,
  settings: LimitSettings,
  registry?: Registry,
): Promise<void> {
  if (settings.rateLimit.max > 0) {
    // With Redis, counters are shared; while it is away, each process counts on its own.
    const shared =
      settings.redis &&
      fallbackStore({
        redis: settings.redis,
        namespace: settings.namespace ?? '12factor-app:rate-limit:',
        log: app.log,
        registry,
        waitMs: settings.redisWaitMs,
      });
    if (shared) app.addHook('onClose', (_app, done) => (shared.close(), done()));
    // Loaded only when on: its module graph (ip-address among it) costs every start ~5 ms.
    const { default: rateLimit } = await import('@fastify/rate-limit');
    await app.register(rateLimit, {
      global: true,
      max: settings.rateLimit.max,
      timeWindow: settings.rateLimit.windowMs,
      ...(shared && { store: shared.Store }),
      // A store error cannot happen (the store falls back), but if one did, a request passes.
      skipOnError: true,
      // RateLimit-Limit/-Remaining/-Reset (draft-ietf-httpapi-ratelimit-headers) and Retry-After.
      enableDraftSpec: true,
      allowList: (request) => operational(request),
      errorResponseBuilder: (_request, context) =>
        new ProblemError(
          'RATE_LIMITED',
          `Too many requests from this client; retry in ${context.after}.`,
        ),
    });
  }
  if (settings.maxEventLoopDelayMs > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: settings.maxEventLoopDelayMs,
      ...(settings.sampleIntervalMs && { sampleInterval: settings.sampleIntervalMs }),
      pressureHandler: async (request, _reply, type, value) => {
        if (operational(request)) return;
        request.log.warn({ type, value }, 'shedding load');
        throw new ProblemError('OVERLOADED', 'The service is overloaded; retry shortly.');
      },
    });
  }
}
