import { PassThrough, finished } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../problems.ts';

/**
 * Node's `requestTimeout` does cover a body that stalls, but it is checked only every
 * `connectionsCheckingInterval`, so a trickling client holds its socket up to one interval past
 * the timeout; and at shutdown Node has no way to turn away a body still arriving, which would
 * hold a place in the drain until its own deadline. So each body still arriving is read through
 * a stream this plugin can fail: at REQUEST_TIMEOUT_MS after the headers, by its own timer, with
 * 408 REQUEST_TIMEOUT, and when the server begins closing, at once with 503 DRAINING. Either
 * answer closes the connection, so the rest of the body is never read.
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
    // Only the stream the parser reads says the body is done: a client that drops mid-body
    // closes `payload` early, and that must fail `body` (below), not merely stop the clock.
    body.on('end', settle);
    body.on('close', settle);
    // A reply sent before the body is read (a later hook refused it) needs no deadline either.
    reply.raw.on('close', settle);
    // `pipe()` passes on neither an error nor an early close, so without this the parser would
    // wait for the rest of an abandoned upload forever and the request would never complete.
    // Not `pipeline()`: it would destroy the request, and with it the socket a 408 or 503 needs.
    finished(payload, (error) => {
      if (error && !body.destroyed) body.destroy(error);
    });
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
