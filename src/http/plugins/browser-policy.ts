import type { FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';
import cors from '@fastify/cors';

/**
 * What browsers may do with the API's answers. The API serves JSON, never documents, so its
 * CSP allows nothing at all; the page at / and the docs at /docs replace it with their own
 * (src/http/plugins/page.ts, @fastify/swagger-ui's staticCSP), which load only this origin.
 */
export async function browserPolicy(
  app: FastifyInstance,
  settings: { corsOrigins: readonly string[] },
): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  // Closed by default: without CORS_ORIGINS no other origin's script may read an answer.
  if (settings.corsOrigins.length === 0) return;
  await app.register(cors, {
    origin: [...settings.corsOrigins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'authorization',
      'content-type',
      'idempotency-key',
      'if-match',
      'if-none-match',
      'x-request-id',
    ],
    exposedHeaders: [
      'etag',
      'idempotent-replayed',
      'location',
      'link',
      'x-total-count',
      'x-request-id',
      'retry-after',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
    ],
    // Bearer tokens, not cookies: no credentialed requests are needed.
    credentials: false,
    maxAge: 600,
  });
}
