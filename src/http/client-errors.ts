import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { problem, PROBLEMS, type ProblemCode } from './problems.ts';
import { requestIdOf } from './plugins/request-context.ts';

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
 * other error, then the socket is closed, since what follows on it cannot be framed.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error, socket: Socket): void {
  const errno = error as NodeJS.ErrnoException;
  if (errno.code === 'ECONNRESET' || socket.destroyed) return;
  const code = codeOf(errno);
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
