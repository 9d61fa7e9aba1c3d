import { Counter, Gauge, collectDefaultMetrics, type Registry } from 'prom-client';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { droppedLogLines } from '../../log/logger.ts';
import { BoundHistogram, type HistogramSeries } from '../../metrics/bound-histogram.ts';
import { routeOf } from './request-context.ts';
import { onCompleted } from './on-completed.ts';

/**
 * Prometheus metrics for the web process: request durations by route and status, requests in
 * flight, process metrics. Routes are labelled by their pattern (`/user/:id`), never the raw
 * URL, so a scan of random paths cannot explode the series count.
 */
export function metrics(
  app: FastifyInstance,
  registry: Registry,
  options: {
    guard?: onRequestHookHandler | undefined;
    /** Requests being answered right now, read at scrape time. */
    inFlight?: () => number;
  } = {},
): void {
  collectDefaultMetrics({ register: registry });
  const duration = new BoundHistogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route and status.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Read at scrape time from the server's own count (src/http/plugins/connections.ts), which
  // already follows every response to its end: a gauge update on every request and response
  // would hash its (empty) label set each time, and a listener of its own on every response
  // cost each request a closure's registration.
  const inFlight = options.inFlight ?? (() => 0);
  new Gauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests being served right now.',
    registers: [registry],
    collect() {
      this.set(inFlight());
    },
  });
  const problems = new Counter({
    name: 'http_problems_total',
    help: 'Problem documents sent, by stable error code.',
    labelNames: ['code'],
    registers: [registry],
  });
  // Read at scrape time from the logger's own count: the writer must not call into metrics.
  let droppedReported = 0;
  new Counter({
    name: 'log_lines_dropped_total',
    help: "Log lines dropped because stdout's reader fell too far behind.",
    registers: [registry],
    collect() {
      const dropped = droppedLogLines();
      this.inc(dropped - droppedReported);
      droppedReported = dropped;
    },
  });
  app.decorate('countProblem', (code: string) => problems.inc({ code }));

  // One series per method, route and status, made on first use; routes are patterns, so there
  // are few of them.
  const series = new Map<string, HistogramSeries>();
  onCompleted(app, (request, reply) => {
    const route = routeOf(request);
    const key = `${request.method} ${reply.statusCode} ${route}`;
    let found = series.get(key);
    if (!found) {
      found = duration.series({
        method: request.method,
        route,
        status_code: String(reply.statusCode),
      });
      series.set(key, found);
    }
    found.observe(reply.elapsedTime / 1000);
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
