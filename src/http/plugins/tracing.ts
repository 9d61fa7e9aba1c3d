import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type SpanOptions,
} from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { tracer, unrecordedEntry } from '../../telemetry/context.ts';
import { pathOf, QUIET_ROUTES, routeOf } from './request-context.ts';
import { CONTEXT, SPAN } from './request-span.ts';
import { onCompleted, onReceived } from './on-completed.ts';
import { SAFE_METHODS } from '../safe-methods.ts';

/** A request's server span options, made only for a span the SDK makes. */
const serverSpanOptions = (request: FastifyRequest): SpanOptions => ({
  kind: SpanKind.SERVER,
  attributes: {
    [ATTR_HTTP_REQUEST_METHOD]: request.method,
    [ATTR_URL_PATH]: pathOf(request.url),
    [ATTR_URL_SCHEME]: request.protocol,
  },
});

/**
 * A server span per request, after OpenTelemetry's HTTP semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/http/http-spans/): named by method and route
 * pattern, never the raw URL; continuing an incoming W3C `traceparent`. The handler runs inside
 * the span's context (a recorded span's, or a write's), so store calls become its children and
 * its log lines carry its ids.
 * Registered only when tracing is on: with it off, requests pay nothing.
 */
export function tracing(app: FastifyInstance): void {
  app.decorateRequest(SPAN, undefined);
  app.decorateRequest(CONTEXT, undefined);
  // A listener of the instance's one onRequest hook, not a hook of its own (each hook is a step
  // of Fastify's runner on every request). Added first, so the listeners after it (the request
  // id, the in-flight count) and every hook and handler see the request's span.
  onReceived(app, (request) => {
    // Probes and scrapes every few seconds would bury the traces worth reading.
    if (QUIET_ROUTES.has(routeOf(request))) return;
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span =
      unrecordedEntry(parent) ??
      tracer().startSpan(request.method, serverSpanOptions(request), parent);
    request[SPAN] = span;
    // A read past the trace bound runs in no trace context: its context would be read only by
    // its store calls, which record nothing in an unrecorded trace, and by log lines it does
    // not write (its access line takes the ids from the request). Entering a context for it
    // (a context object, two AsyncLocalStorage frames on every request) was a measurable part of
    // what tracing cost it. A write keeps it: its outbox event stores the trace's traceparent.
    if (span.isRecording() || !SAFE_METHODS.has(request.method)) {
      request[CONTEXT] = trace.setSpan(parent, span);
    }
  });
  // Fastify runs a handler from the body parser's callbacks, outside any context the hooks set,
  // so each handler is wrapped to run in its request's context (as @fastify/otel does).
  app.addHook('onRoute', (route) => {
    const handler = route.handler as (...args: unknown[]) => unknown;
    route.handler = function (this: unknown, request: FastifyRequest, reply: unknown) {
      const active = request[CONTEXT];
      if (!active) return handler.call(this, request, reply);
      // A closure, not `with`'s thisArg and arguments: the context manager would bind the
      // handler and spread its arguments, an allocation more on every request.
      return context.with(active, () => handler.call(this, request, reply));
    } as RouteHandlerMethod;
  });
  onCompleted(app, (request, reply) => {
    const span = request[SPAN];
    // An unrecorded trace's span keeps nothing: naming it would only make strings to drop.
    if (span?.isRecording()) {
      const route = routeOf(request);
      const status = reply.statusCode;
      span.updateName(`${request.method} ${route}`);
      span.setAttribute(ATTR_HTTP_ROUTE, route);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      // Server spans: only 5xx is an error; a 4xx is the client's (the conventions' rule).
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  });
}
