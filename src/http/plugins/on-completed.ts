import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const REPLY = Symbol('reply');

type Listener = (request: FastifyRequest, reply: FastifyReply) => void;
/** Each instance's listeners, in the order they were added. */
interface Listeners {
  received: Listener[];
  completed: Listener[];
}
const LISTENERS = new WeakMap<FastifyInstance, Listeners>();

/**
 * One `onRequest`, one `onResponse` and one `onRequestAbort` hook per instance, running the
 * listeners added by `onReceived` and `onCompleted` in the order they were added: each hook
 * costs every request a step of Fastify's hook runner (a callback, a `next` closure), and the
 * plugins that only note something on every request need none of it. Fastify gives an
 * instance's hooks to all of its routes, whenever they were declared, so the listeners reach the
 * same routes. The hooks sit where the first listener was added, so listeners see each request
 * at that point of the hook order.
 */
function listenersOf(app: FastifyInstance): Listeners {
  const known = LISTENERS.get(app);
  if (known) return known;
  const listeners: Listeners = { received: [], completed: [] };
  LISTENERS.set(app, listeners);
  const { received, completed } = listeners;
  if (!app.hasRequestDecorator(REPLY)) app.decorateRequest(REPLY, null);
  app.addHook('onRequest', (request, reply, done) => {
    request[REPLY] = reply;
    for (let i = 0; i < received.length; i++) received[i]!(request, reply);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    for (let i = 0; i < completed.length; i++) completed[i]!(request, reply);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    const reply = request[REPLY];
    // A finished response has had its `onResponse`.
    if (reply && !reply.raw.writableFinished) {
      reply.code(499);
      for (let i = 0; i < completed.length; i++) completed[i]!(request, reply);
    }
    done();
  });
  return listeners;
}

/**
 * Runs `listener` on every request as it arrives (an `onRequest` step that cannot fail or
 * answer: it may only note something or set a header).
 */
export function onReceived(app: FastifyInstance, listener: Listener): void {
  listenersOf(app).received.push(listener);
}

/**
 * Fastify runs `onResponse` only when a response finishes; a client that drops mid-body gets no
 * response, so its request would leave no access line, no duration and an open span. This runs
 * `listener` once per request either way: on `onResponse`, or when the request is aborted before
 * a response finished, as status 499 (the "client closed request" of common proxies), since
 * no status was ever sent.
 */
export function onCompleted(app: FastifyInstance, listener: Listener): void {
  listenersOf(app).completed.push(listener);
}

declare module 'fastify' {
  interface FastifyRequest {
    [REPLY]: FastifyReply | null;
  }
}
