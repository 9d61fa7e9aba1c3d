import { PassThrough, finished } from 'node:stream';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../problems.ts';

/**
 * One deadline for the whole request, headers and body: Node's own request timeout, which runs
 * from the request's first byte until its last (the parser knows both; nothing above it does).
 * When it passes, Node hands the socket to the client-error handler. In the middle of a body
 * (a request this plugin is watching) that handler cuts the body with `cutArrivingBody`, so the
 * request itself is answered 408 REQUEST_TIMEOUT through the error handler: one problem counted,
 * with the request's own id and path, as in its access line, and its connection closed. Before
 * any request has parsed, the client-error handler answers 408 itself and closes the socket.
 *
 * Node's headers timeout must be set with it: Fastify sets only `requestTimeout`, after the
 * server is made, so the headers timeout stays at its 60 s default, and Node, finding a headers
 * timeout longer than the request timeout, swaps the two: the headers got REQUEST_TIMEOUT_MS and
 * the body 60 s.
 *
 * Node stops checking when the server begins closing, and then also leaves open every
 * connection that is not idle. So at shutdown this plugin answers each body still arriving, or
 * starting to arrive later, 503 DRAINING at once (which closes its connection), closes every
 * connection still sending its headers, or nothing yet, and ends each connection whose answer is
 * in flight once that answer is sent: none can hold a place in the drain.
 */
/** The cut of the body each socket is receiving, while one is arriving. */
const cuts = new WeakMap<Socket, (error: ProblemError) => void>();
/** Cuts waiting for their turn of the event loop, oldest first. */
const due: (() => void)[] = [];
const cutNext = () => {
  due.shift()?.();
  if (due.length > 0) setImmediate(cutNext);
};

/**
 * Fails the body arriving on `socket` with `error`, which its request then answers; false when
 * no body is arriving there (the caller answers the socket itself).
 *
 * Node finds every overdue request in one pass, once a second, so bodies that began together
 * fall due together: answering 50 of them at once held the event loop for tens of
 * milliseconds, and every other client's request with it. So one cut is made per turn of the
 * event loop, with everyone else's input read in between; the last of 50 waits a few
 * milliseconds more.
 */
export function cutArrivingBody(socket: Socket, error: ProblemError): boolean {
  const cut = cuts.get(socket);
  if (!cut) return false;
  // A body that finished arriving meanwhile has been answered; nothing is left to cut.
  due.push(() => cuts.get(socket) === cut && cut(error));
  if (due.length === 1) setImmediate(cutNext);
  return true;
}

export function requestDeadline(app: FastifyInstance, options: { timeoutMs: number }): void {
  const server = app.server;
  server.requestTimeout = options.timeoutMs;
  server.headersTimeout = options.timeoutMs;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const arriving = new Set<(error: ProblemError) => void>();
  const draining = () =>
    new ProblemError('DRAINING', 'The service is shutting down; retry the request.');
  let closing = false;

  app.addHook('preParsing', (request, reply, payload, done) => {
    // No body, or already whole (a small body comes with its headers): nothing to wait for.
    const { headers } = request;
    const hasBody =
      headers['transfer-encoding'] !== undefined || Number(headers['content-length']) > 0;
    if (!hasBody || request.raw.complete) return done(null, payload);
    // A body that starts after the drain began (its request was still in an async hook, such as
    // the rate limit's or a token's check): Node no longer times it, so it is not waited for.
    if (closing) {
      reply.header('connection', 'close');
      return done(draining());
    }
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
    const socket = request.raw.socket;
    const settle = () => {
      arriving.delete(cut);
      if (cuts.get(socket) === cut) cuts.delete(socket);
    };
    arriving.add(cut);
    cuts.set(socket, cut);
    // Only the stream the parser reads says the body is done: a client that drops mid-body
    // closes `payload` early, and that must fail `body` (below), not merely end the watch.
    body.on('end', settle);
    body.on('close', settle);
    // A reply sent before the body is read (a later hook refused it) needs no cut either.
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
    closing = true;
    for (const cut of [...arriving]) cut(draining());
    for (const socket of sockets) {
      const response = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
      // No response on the socket: idle between requests (Node closes those too), or a request
      // whose headers have not all arrived, which no timer watches any more.
      if (!response) socket.destroy();
      // A request answered during the drain ends its connection: kept alive, its client could
      // trickle the headers of a next request, which no timer watches any more either.
      else if (!response.headersSent) response.shouldKeepAlive = false;
      else response.once('finish', () => socket.destroySoon());
    }
    done();
  });
}
