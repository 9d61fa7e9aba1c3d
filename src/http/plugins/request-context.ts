import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { traceIdsOf } from './request-span.ts';
import { onCompleted, onReceived } from './on-completed.ts';
import { accessLine } from '../../log/access-line.ts';
import type { Logger } from '../../log/logger.ts';

// An incoming id is honoured only if it is short and plain, so logs cannot be forged through it.
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Probe and scrape routes: logged at debug, not traced. */
export const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export function requestIdOf(request: { headers: Record<string, unknown> }): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && ACCEPTABLE_ID.test(incoming) ? incoming : randomUUID();
}

const ROUTE = Symbol('route pattern');

/**
 * The route pattern that served a request (`/user/:id`), never its raw URL. Kept on the request
 * once known: Fastify builds a whole new routeOptions object on every read, and the access line
 * and the metrics both ask.
 */
export function routeOf(request: FastifyRequest): string {
  return (request[ROUTE] ||= request.routeOptions.url ?? 'unmatched');
}

/** The path of a request URL, without its query string. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * One log line per request (factor XI): request id, method, route, status, duration. Probe and
 * scrape traffic is logged at debug so it does not drown the stream.
 */
export function requestContext(app: FastifyInstance): void {
  // Declared up front, so every request has the same shape whether or not routeOf is asked.
  app.decorateRequest(ROUTE, '');
  // The access line carries only the fields below, none of them a credential, so it skips the
  // redaction pass every other line gets: that pass cost more than writing the line itself.
  const access = accessLine(app.log.child({}, { redact: [] }) as Logger, 'request completed');
  onReceived(app, (request, reply) => {
    reply.header('x-request-id', request.id);
    if (request.log.level === 'trace') {
      request.log.trace({ method: request.method, path: pathOf(request.url) }, 'request received');
    }
  });
  onCompleted(app, (request, reply) => {
    const route = routeOf(request);
    const ids = traceIdsOf(request);
    const level = QUIET_ROUTES.has(route) ? 'debug' : reply.statusCode >= 500 ? 'error' : 'info';
    // One literal of fixed shape, fields absent left undefined (pino writes no undefined field):
    // spreading optional objects into it made V8 copy them at run time and left the line in
    // dictionary mode, whose every key pino's serializer then looked up the slow way.
    access(level, {
      requestId: request.id,
      method: request.method,
      route,
      path: pathOf(request.url),
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      // Who wrote, for the audit trail: `token#n` or `jwt:<sub>`, never the credential.
      principal: request.principal?.subject,
      trace_id: ids?.traceId,
      span_id: ids?.spanId,
    });
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    [ROUTE]: string;
  }
}
