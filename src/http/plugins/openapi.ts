import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Release } from '../routes/operations.ts';
import { ALWAYS_PRESENT } from '../../users/user.ts';

/**
 * The OpenAPI 3.1 document is generated from the route schemas (the same ones that validate and
 * serialize), served at /openapi.json, with a docs page at /docs. The UI's assets ship inside
 * the package: nothing is loaded from outside the service.
 */
export async function openapi(app: FastifyInstance, release: Release): Promise<void> {
  await app.register(swagger, {
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
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    baseDir: assets,
    logo: { type: 'image/svg+xml', content: await readFile(join(assets, 'logo.svg')) },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
