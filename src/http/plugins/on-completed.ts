import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const REPLY = Symbol('reply');

/**
 * Fastify runs `onResponse` only when a response finishes; a client that drops mid-body gets no
 * response, so its request would leave no access line, no duration and an open span. This runs
 * `listener` once per request either way: on `onResponse`, or when the request is aborted before
 * a response finished, as status 499 (the "client closed request" of common proxies), since
 * no status was ever sent.
 */
export function onCompleted(
  app: FastifyInstance,
  listener: (request: FastifyRequest, reply: FastifyReply) => void,
): void {
  if (!app.hasRequestDecorator(REPLY)) {
    app.decorateRequest(REPLY, null);
    app.addHook('onRequest', (request, reply, done) => {
      request[REPLY] = reply;
      done();
    });
  }
  app.addHook('onResponse', (request, reply, done) => {
    listener(request, reply);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    const reply = request[REPLY];
    // A finished response has had its `onResponse`.
    if (reply && !reply.raw.writableFinished) {
      reply.code(499);
      listener(request, reply);
    }
    done();
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    [REPLY]: FastifyReply | null;
  }
}
