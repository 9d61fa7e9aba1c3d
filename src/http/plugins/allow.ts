import type { FastifyInstance } from 'fastify';

/**
 * `OPTIONS` on any route answers 204 with `Allow` naming the methods its path serves
 * (RFC 9110 §9.3.7). With CORS on, @fastify/cors answers every OPTIONS in its own onRequest hook,
 * before any route: then `Allow` is set by a hook of ours that runs ahead of it (routing happens
 * before onRequest hooks), and only then, so other requests pay for no extra hook. Call this
 * before the first route is declared, and `serve` after the last.
 */
export function allowedMethods(app: FastifyInstance, options: { beforeCors: boolean }) {
  const byPath = new Map<string, string>();
  const methodsOf = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    if (route.url === '*') return;
    const methods = methodsOf.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    methodsOf.set(route.url, methods);
  });
  if (options.beforeCors) {
    app.addHook('onRequest', (request, reply, done) => {
      if (request.method === 'OPTIONS') {
        const allow = byPath.get(request.routeOptions.url ?? '');
        if (allow) reply.header('allow', allow);
      }
      done();
    });
  }
  return {
    serve(): void {
      for (const [url, methods] of [...methodsOf]) {
        if (methods.has('OPTIONS')) continue;
        const allow = [...methods, 'OPTIONS'].join(', ');
        byPath.set(url, allow);
        app.options(url, { schema: { hide: true } }, (_request, reply) =>
          reply.code(204).header('allow', allow).send(),
        );
      }
    },
  };
}
