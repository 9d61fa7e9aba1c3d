import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import cors from '@fastify/cors';
import { onReceived } from './on-completed.ts';

/**
 * Helmet's headers do not depend on the request, so they are worked out once and set from a
 * plain object on each reply; running helmet's middleware per request (as the Fastify plugin
 * does, rebuilding it each time) cost about 5% of a point read.
 */
function securityHeaders(options: Parameters<typeof helmet>[0]): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(options)(
    {} as IncomingMessage,
    response as unknown as ServerResponse,
    (error?: unknown) => {
      if (error) throw error;
    },
  );
  return headers;
}

/**
 * What browsers may do with the API's answers. The API serves JSON, never documents, so its
 * CSP allows nothing at all; the page at / and the docs at /docs replace it with their own
 * (src/http/plugins/page.ts, @fastify/swagger-ui's staticCSP), which load only this origin.
 */
export async function browserPolicy(
  app: FastifyInstance,
  settings: { corsOrigins: readonly string[] },
): Promise<void> {
  const headers = securityHeaders({
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
    // Headers that only change how a browser treats a document (window groups, DNS prefetch of
    // its links, IE8 downloads, Flash policy files, the retired XSS auditor) say nothing about
    // a JSON answer; OWASP's REST Security Cheat Sheet lists the ones above for APIs. Each
    // costs every answer its bytes and its validation. The page sets its own document headers.
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
  // Names and values as lists: reply.headers() would list the object's keys on every request.
  const names = Object.keys(headers);
  const values = Object.values(headers);
  onReceived(app, (_request, reply) => {
    for (let i = 0; i < names.length; i++) reply.header(names[i]!, values[i]);
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
    // A plain OPTIONS (no Origin, no Access-Control-Request-Method) is not a preflight refused
    // with a 400: it is answered 204 with the route's `Allow` (src/http/plugins/allow.ts).
    strictPreflight: false,
  });
}
