import type { FastifyInstance } from 'fastify';

/**
 * `OPTIONS` on any route answers 204 with `Allow` naming the methods its path serves
 * (RFC 9110 §9.3.7). Routing happens before onRequest hooks, so the header is set in one, ahead
 * of @fastify/cors: a CORS preflight, which that plugin answers in its own hook, carries `Allow`
 * too. Call this before the first route is declared, and `serve` after the last.
 */
export function allowedMethods(app: FastifyInstance) {
  const byPath = new Map<string, string>();
  const methodsOf = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    if (route.url === '*') return;
    const methods = methodsOf.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    methodsOf.set(route.url, methods);
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (request.method === 'OPTIONS') {
      const allow = byPath.get(request.routeOptions.url ?? '');
      if (allow) reply.header('allow', allow);
    }
    done();
  });
  return {
    serve(): void {
      for (const [url, methods] of [...methodsOf]) {
        if (methods.has('OPTIONS')) continue;
        byPath.set(url, [...methods, 'OPTIONS'].join(', '));
        app.options(url, { schema: { hide: true } }, (_request, reply) => reply.code(204).send());
      }
    },
  };
}
