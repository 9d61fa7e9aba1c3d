import type { FastifyInstance, FastifyReply } from 'fastify';
import { ProblemError } from '../problems.ts';
import { onCompleted, onReceived } from './on-completed.ts';

const PREV = Symbol('older reply awaiting its answer');
const NEXT = Symbol('newer reply awaiting its answer');

/** The deadline is checked this many times within its span (and at most once a second). */
const CHECKS_PER_DEADLINE = 4;

/**
 * A request not answered `timeoutMs` after it arrived is answered 503 RESPONSE_TIMEOUT (a slow
 * or black-holed store), never left hanging; an answer already under way is cut instead, as its
 * status is sent. The handler's own answer, if it ever comes, is then dropped.
 *
 * Fastify's `handlerTimeout` does this with a timer, an AbortController and a 'close' listener
 * made for every request, which cost a point read a few percent of its time and its garbage; and
 * it stops timing a request once its body has been read, since Node then emits the request's
 * 'close', which Fastify takes for the client gone. Here the requests being answered are kept in
 * arrival order, and one timer looks at the oldest every quarter of the deadline: a late request
 * is answered between `timeoutMs` and 1.25 × `timeoutMs` after it arrived.
 */
export function responseDeadline(app: FastifyInstance, options: { timeoutMs: number }): void {
  const { timeoutMs } = options;
  if (!(timeoutMs > 0)) return;
  // The replies not completed yet, oldest first, as a list threaded through the replies
  // themselves (as Node's timer lists are): a Set of them, filled and emptied on every turn,
  // tripled the old generation's collections under load.
  app.decorateReply(PREV, null);
  app.decorateReply(NEXT, null);
  const head = {} as FastifyReply;
  head[PREV] = head[NEXT] = head;
  const unlink = (reply: FastifyReply) => {
    const prev = reply[PREV];
    const next = reply[NEXT];
    if (!prev || !next) return;
    prev[NEXT] = next;
    next[PREV] = prev;
    reply[PREV] = reply[NEXT] = null;
  };
  onReceived(app, (_request, reply) => {
    const last = head[PREV]!;
    reply[PREV] = last;
    reply[NEXT] = head;
    last[NEXT] = reply;
    head[PREV] = reply;
  });
  onCompleted(app, (_request, reply) => unlink(reply));
  const check = () => {
    for (let reply = head[NEXT]!; reply !== head; reply = head[NEXT]!) {
      // Fastify's clock for the reply, from the request's arrival.
      if (reply.elapsedTime < timeoutMs) return;
      unlink(reply);
      if (reply.sent) continue;
      const late = new ProblemError('RESPONSE_TIMEOUT', 'The service took too long to answer.');
      if (reply.raw.headersSent) reply.raw.destroy(late);
      else reply.send(late);
    }
  };
  const timer = setInterval(check, Math.min(1000, timeoutMs / CHECKS_PER_DEADLINE));
  timer.unref();
  app.addHook('onClose', (_instance, done) => {
    clearInterval(timer);
    done();
  });
}

declare module 'fastify' {
  interface FastifyReply {
    [PREV]: FastifyReply | null;
    [NEXT]: FastifyReply | null;
  }
}
