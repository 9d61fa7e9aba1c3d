import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../problems.ts';

/**
 * Node's `requestTimeout` stops watching a request once its headers are in, so a client that
 * trickles its body would hold its socket (and a place in the drain at shutdown) for as long as
 * it likes. Each body still arriving is read through a stream this plugin can fail: at
 * REQUEST_TIMEOUT_MS after the headers it fails with 408 REQUEST_TIMEOUT, and when the server
 * begins closing, at once with 503 DRAINING. Either answer closes the connection, so the rest of
 * the body is never read.
 */
export function requestDeadline(app: FastifyInstance, options: { timeoutMs: number }): void {
  const arriving = new Set<(error: ProblemError) => void>();

  app.addHook('preParsing', (request, reply, payload, done) => {
    // No body, or already whole (a small body comes with its headers): nothing to wait for.
    const { headers } = request;
    const hasBody =
      headers['transfer-encoding'] !== undefined || Number(headers['content-length']) > 0;
    if (!hasBody || request.raw.complete) return done(null, payload);
    const body = new PassThrough();
    // The body parser listens for errors while it reads; past it, a late cut must not be an
    // unhandled 'error' event, which would end the process.
    body.on('error', () => undefined);
    const cut = (error: ProblemError) => {
      settle();
      payload.unpipe(body);
      payload.pause();
      reply.header('connection', 'close');
      body.destroy(error);
    };
    const timer = setTimeout(
      () => cut(new ProblemError('REQUEST_TIMEOUT', 'The request body took too long to arrive.')),
      Math.max(0, options.timeoutMs - reply.elapsedTime),
    );
    const settle = () => {
      clearTimeout(timer);
      arriving.delete(cut);
    };
    arriving.add(cut);
    payload.on('end', settle);
    payload.on('close', settle);
    body.on('close', settle);
    payload.pipe(body);
    done(null, body);
  });

  app.addHook('preClose', (done) => {
    for (const cut of [...arriving]) {
      cut(new ProblemError('DRAINING', 'The service is shutting down; retry the request.'));
    }
    done();
  });
}
