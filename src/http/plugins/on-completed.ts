import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const REPLY = Symbol('reply');

type Listener = (request: FastifyRequest, reply: FastifyReply) => void;
/** Each instance's listeners, in the order they were added. */
const LISTENERS = new WeakMap<FastifyInstance, Listener[]>();

/**
 * Fastify runs `onResponse` only when a response finishes; a client that drops mid-body gets no
 * response, so its request would leave no access line, no duration and an open span. This runs
 * `listener` once per request either way: on `onResponse`, or when the request is aborted before
 * a response finished, as status 499 (the "client closed request" of common proxies), since
 * no status was ever sent.
 */
export function onCompleted(app: FastifyInstance, listener: Listener): void {
  const known = LISTENERS.get(app);
  if (known) {
    known.push(listener);
    return;
  }
  // One pair of hooks per instance, running its listeners in the order they were added: each
  // hook costs every request a step of Fastify's hook runner. Fastify gives an instance's hooks
  // to all of its routes, whenever they were declared, so the listeners reach the same routes.
  const listeners = [listener];
  LISTENERS.set(app, listeners);
  if (!app.hasRequestDecorator(REPLY)) {
    app.decorateRequest(REPLY, null);
    app.addHook('onRequest', (request, reply, done) => {
      request[REPLY] = reply;
      done();
    });
  }
  app.addHook('onResponse', (request, reply, done) => {
    for (const each of listeners) each(request, reply);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    const reply = request[REPLY];
    // A finished response has had its `onResponse`.
    if (reply && !reply.raw.writableFinished) {
      reply.code(499);
      for (const each of listeners) each(request, reply);
    }
    done();
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    [REPLY]: FastifyReply | null;
  }
}
