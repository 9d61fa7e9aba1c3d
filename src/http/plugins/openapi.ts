import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import { problemRef } from '../schemas.ts';
import { onDemand } from './on-demand.ts';
import type { Release } from '../routes/operations.ts';
import { ALWAYS_PRESENT } from '../../users/user.ts';

/** The <style> in swagger-ui-standalone-preset.js's logo SVG, as the CSP hash of its text. */
const LOGO_STYLE_HASH = `'sha256-${createHash('sha256')
  .update('.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}')
  .digest('base64')}'`;

/** What `openapi` documents: the release and whether (and for what) a token is asked. */
interface DocsSettings {
  release: Release;
  access: { enabled: boolean; readsRequireAuth: boolean };
}

/**
 * The OpenAPI 3.1 document is generated from the route schemas (the same ones that validate and
 * serialize), served at /openapi.json, with a docs page at /docs. The UI's assets ship inside
 * the package: nothing is loaded from outside the service.
 *
 * Neither is needed to answer the API, so neither is loaded at start (@fastify/swagger,
 * swagger-ui, yaml and @fastify/static cost every start a tenth of its time): every route
 * registered from here on is recorded, and the first request for the document or the page
 * builds an instance of their own (`onDemand`) where @fastify/swagger sees the same routes with
 * the same schemas, in the same order, and swagger-ui serves /docs.
 */
export async function openapi(
  app: FastifyInstance,
  release: Release,
  access: DocsSettings['access'],
): Promise<void> {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => void routes.push(route));
  const docs = onDemand((instance) =>
    docsApp(instance, app.getSchemas(), routes, { release, access }),
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () =>
    (await docs.instance()).swagger(),
  );
  app.get('/docs', { schema: { hide: true } }, docs.forward);
  app.get('/docs/*', { schema: { hide: true } }, docs.forward);
}

/** @fastify/swagger over `routes`, and swagger-ui at /docs. */
async function docsApp(
  docs: FastifyInstance,
  schemas: Record<string, unknown>,
  routes: readonly RouteOptions[],
  { release, access }: DocsSettings,
): Promise<void> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([
    import('@fastify/swagger'),
    import('@fastify/swagger-ui'),
  ]);
  for (const schema of Object.values(schemas)) docs.addSchema(schema);
  await docs.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: '12factor-app',
        version: release.version,
        description:
          "The tutorial's `user` REST API. Errors are RFC 9457 problem documents (`application/problem+json`).",
      },
      tags: [
        { name: 'user', description: 'The user directory' },
        { name: 'operations', description: 'Health, readiness, metrics and release' },
      ],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              "A token from `API_TOKENS` or a JWT from `JWT_JWKS_URL`'s issuer. Scopes: `user:read` (lists and reads) and `user:write` (every change; also allows reads). A `token:read` entry in `API_TOKENS` has `user:read` only.",
          },
        },
      },
    },
    // The user routes' security and the errors every one of them may answer, so /docs can send
    // a token and a client generator knows each answer's shape.
    transform: ({ schema, url, route }) => {
      // Documented only: /readyz's answers carry its checks, which a response schema would drop.
      if (url === '/readyz') {
        const response = { 200: { type: 'object', description: 'Ready' }, 503: problemRef };
        return { schema: { ...schema, response } as FastifySchema, url };
      }
      if (!schema?.tags?.includes('user')) return { schema, url };
      const safe = [route.method].flat().every((method) => method === 'GET' || method === 'HEAD');
      const scope = safe ? 'user:read' : 'user:write';
      const required = access.enabled && (!safe || access.readsRequireAuth);
      const response = {
        ...(schema.response as Record<string, unknown>),
        ...(access.enabled ? { 401: problemRef, 403: problemRef } : {}),
        429: problemRef,
        500: problemRef,
        503: problemRef,
      };
      // OpenAPI 3.1 §4.8.30: for schemes other than OAuth, the list names the roles needed; an
      // empty requirement makes the token optional.
      const security = access.enabled
        ? [...(required ? [] : [{}]), { bearer: [scope] }]
        : [{}, { bearer: [scope] }];
      return { schema: { ...schema, response, security } as FastifySchema, url };
    },
    transformObject: (documentObject) => {
      const doc =
        'openapiObject' in documentObject
          ? documentObject.openapiObject
          : documentObject.swaggerObject;
      const user = (doc as { components?: { schemas?: Record<string, { required?: string[] }> } })
        .components?.schemas?.User;
      if (user) user.required = [...ALWAYS_PRESENT];
      return doc;
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  // The plugin is bundled (ADR 7), so it cannot find its assets beside its code: they are
  // served from where npm installed the package.
  const assets = join(
    dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui')),
    'static',
  );
  await docs.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // The plugin's policy upgrades every request to https: over plain http from any host name
    // but localhost (a VM, a LAN address) each asset then fails and the page stays blank. TLS,
    // where there is any, ends at the proxy in front, which is where such a policy belongs.
    // And swagger-ui's small logo is an SVG carrying a <style> element, refused (a console
    // error) unless the policy names its hash.
    transformStaticCSP: (header) =>
      header
        .split(';')
        .map((directive) => directive.trim())
        .filter((directive) => directive !== '' && directive !== 'upgrade-insecure-requests')
        .map((directive) =>
          directive.startsWith('style-src ') ? `${directive} ${LOGO_STYLE_HASH}` : directive,
        )
        .join('; '),
    baseDir: assets,
    logo: { type: 'image/svg+xml', content: await readFile(join(assets, 'logo.svg')) },
  });
  // The same routes as this app's, in the same order, each as it was registered (its HEAD
  // twin too, so none is added here). Hidden ones are left out: never documented, and /docs
  // would clash with swagger-ui's own.
  for (const route of routes) {
    if (route.schema?.hide) continue;
    const { method, url, schema, config } = route;
    docs.route({ method, url, schema, config, exposeHeadRoute: false, handler: async () => null });
  }
}
