import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FieldError } from '../users/errors.ts';
import {
  classify,
  problem,
  ProblemError,
  PROBLEMS,
  RETRY_AFTER_SECONDS,
  type ProblemCode,
} from './problems.ts';
import { pathOf, requestIdOf } from './plugins/request-context.ts';
import { cutArrivingBody } from './plugins/request-deadline.ts';

/**
 * Every problem document is sent from this file (route errors, unknown routes, what Fastify or
 * Node's parser refuse before routing, /readyz's 503), and counted in `http_problems_total`.
 * `extra` adds members, as /readyz's `checks`.
 */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  found: { code: ProblemCode; detail: string; errors?: FieldError[] | undefined },
  extra: Record<string, unknown> = {},
): FastifyReply {
  const { status } = PROBLEMS[found.code];
  if (status === 503) reply.header('retry-after', RETRY_AFTER_SECONDS);
  // A refused credential must not be cached by a shared cache for another client.
  if (status === 401 || status === 403) reply.header('cache-control', 'no-store');
  request.server.countProblem(found.code);
  const instance = pathOf(request.url);
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      ...problem(found.code, found.detail, {
        instance,
        requestId: request.id,
        errors: found.errors,
      }),
      ...extra,
    });
}

/** Fastify's error handler: anything thrown while serving a route, classified. */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const found = classify(error);
  if (found.code === 'INTERNAL_ERROR') request.log.error({ err: error }, 'request failed');
  else if (PROBLEMS[found.code].status >= 500)
    request.log.warn({ err: error, code: found.code }, 'request refused');
  return sendProblem(request, reply, found);
}

/** Fastify's not-found handler. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return sendProblem(request, reply, {
    code: 'ROUTE_NOT_FOUND',
    detail: `No route serves ${request.method} ${pathOf(request.url)}.`,
  });
}

/** Fastify's `frameworkErrors`: a malformed URL is a 400; a path segment too long to be any id, a 404. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH')
    void sendProblem(request, reply, { code: 'ROUTE_NOT_FOUND', detail: 'No such resource.' });
  else void sendProblem(request, reply, { code: 'BAD_REQUEST', detail: 'The URL cannot be read.' });
}

/** What Node's HTTP parser refused, as a catalogue code (see `clientError` in Node's docs). */
function codeOf(error: NodeJS.ErrnoException): ProblemCode {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  return 'BAD_REQUEST';
}

const DETAILS: Partial<Record<ProblemCode, string>> = {
  REQUEST_TIMEOUT: 'The request took too long to arrive.',
  HEADERS_TOO_LARGE: 'The request headers are larger than this service accepts.',
  BAD_REQUEST: 'The request is not valid HTTP/1.1.',
};

/**
 * Fastify's `clientErrorHandler`: a request Node's parser refuses before routing (headers too
 * large, a duplicate Content-Length, a bare LF, headers too slow) gets a problem document like any
 * other error, then the socket is closed, since what follows on it cannot be framed. A deadline
 * that passes in the middle of a body is the request's own: the body is cut and the request
 * answers 408 through the error handler (see request-deadline.ts), so it is counted once and its
 * problem document carries the request's id and path, as its access line does.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error, socket: Socket): void {
  const errno = error as NodeJS.ErrnoException;
  if (errno.code === 'ECONNRESET' || socket.destroyed) return;
  const code = codeOf(errno);
  if (code === 'REQUEST_TIMEOUT' && cutArrivingBody(socket, new ProblemError(code, DETAILS[code]!)))
    return;
  const { status } = PROBLEMS[code];
  this.log.debug({ err: error, code }, 'client error');
  this.countProblem(code);
  // Neither the URL nor an id can be trusted from a request that did not parse.
  const body = JSON.stringify(
    problem(code, DETAILS[code] ?? 'Bad request.', {
      instance: '',
      requestId: requestIdOf({ headers: {} }),
    }),
  );
  // Node's own fallback writes only when no response has begun on this socket; so does this.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/problem+json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(error);
}
