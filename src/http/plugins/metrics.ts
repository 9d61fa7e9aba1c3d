import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';

/**
 * Prometheus metrics for the web process: request durations by route and status, requests in
 * flight, process metrics. Routes are labelled by their pattern (`/user/:id`), never the raw
 * URL, so a scan of random paths cannot explode the series count.
 */
export function metrics(
  app: FastifyInstance,
  registry: Registry,
  options: { guard?: onRequestHookHandler | undefined } = {},
): void {
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route and status.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests being served right now.',
    registers: [registry],
  });
  const problems = new Counter({
    name: 'http_problems_total',
    help: 'Problem documents sent, by stable error code.',
    labelNames: ['code'],
    registers: [registry],
  });
  app.decorate('countProblem', (code: string) => problems.inc({ code }));

  app.addHook('onRequest', (_request, reply, done) => {
    inFlight.inc();
    // 'close' fires for finished and aborted responses alike, so the gauge never drifts.
    reply.raw.once('close', () => inFlight.dec());
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
  // Open by default like /healthz; METRICS_REQUIRE_AUTH puts it behind a read token.
  const onRequest = options.guard ? { onRequest: options.guard } : {};
  app.get('/metrics', { schema: { hide: true }, ...onRequest }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    countProblem(code: string): void;
  }
}
