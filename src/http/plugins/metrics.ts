import { Counter, Gauge, collectDefaultMetrics, type Registry } from 'prom-client';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { BoundHistogram, type HistogramSeries } from '../../metrics/bound-histogram.ts';
import { routeOf } from './request-context.ts';

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
  const duration = new BoundHistogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route and status.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Counted in a plain number and read at scrape time: a gauge update on every request and
  // response would hash its (empty) label set each time.
  let serving = 0;
  const decrement = () => void serving--;
  new Gauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests being served right now.',
    registers: [registry],
    collect() {
      this.set(serving);
    },
  });
  const problems = new Counter({
    name: 'http_problems_total',
    help: 'Problem documents sent, by stable error code.',
    labelNames: ['code'],
    registers: [registry],
  });
  app.decorate('countProblem', (code: string) => problems.inc({ code }));

  app.addHook('onRequest', (_request, reply, done) => {
    serving++;
    // 'close' fires for finished and aborted responses alike, so the count never drifts.
    reply.raw.on('close', decrement);
    done();
  });
  // One series per route, method and status, made on first use (routes are patterns, so there
  // are few), then found again without building a key on every request.
  const series = new Map<string, Map<string, Map<number, HistogramSeries>>>();
  const seriesOf = (route: string, method: string, status: number) => {
    let byMethod = series.get(route);
    if (!byMethod) series.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let found = byStatus.get(status);
    if (!found) {
      found = duration.series({ method, route, status_code: String(status) });
      byStatus.set(status, found);
    }
    return found;
  };
  app.addHook('onResponse', (request, reply, done) => {
    seriesOf(routeOf(request), request.method, reply.statusCode).observe(reply.elapsedTime / 1000);
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
