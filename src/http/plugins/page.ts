import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemError } from '../problems.ts';
import { onDemand } from './on-demand.ts';
import { PACKAGE_ROOT } from '../../config/package-root.ts';

/**
 * Where `vite build` puts the page, whether this module runs from src/ or the bundled dist/.
 */
export const PAGE_ROOT = join(PACKAGE_ROOT, 'dist', 'public');

/**
 * The page loads only its own hashed files and talks only to this origin; nothing inline, no
 * eval, no framing, and DOM sinks refuse strings (Trusted Types), so injected markup cannot run.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
} as const;

/**
 * Browsers apply Cross-Origin-Opener-Policy only to a potentially trustworthy origin (https, or
 * loopback by name or address) and log a console error for it anywhere else, e.g. the page
 * opened over plain http by a VM's or a LAN's address: it is sent only where it applies.
 */
const OPENER_POLICY = { 'cross-origin-opener-policy': 'same-origin' } as const;
const LOOPBACK_HOST = /^(?:localhost|.+\.localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

function trustworthy(request: FastifyRequest): boolean {
  return request.protocol === 'https' || LOOPBACK_HOST.test(request.hostname);
}

/** Vite names every file under assets/ by its content hash, so a URL never changes meaning. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The user-management page (web/): `/` and its content-hashed assets under `/assets/`.
 * Without a build (tests that did not run `npm run build`) `/` is a 404 problem saying so.
 * The files are served by @fastify/static in an instance of their own, built on the first
 * request for one (`onDemand`): no API answer needs the package, which cost every start its
 * loading. The page's headers are set here, where the request's protocol and host are known.
 */
export async function page(app: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? PAGE_ROOT;
  const schema = { hide: true };
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/', { schema }, async () => {
      throw new ProblemError(
        'ROUTE_NOT_FOUND',
        'The web page is not built on this server; run `npm run build`.',
      );
    });
    return;
  }
  const assets = join(root, 'assets');
  const files = onDemand(async (instance) => {
    const { default: fastifyStatic } = await import('@fastify/static');
    await instance.register(fastifyStatic, {
      root: assets,
      prefix: '/assets/',
      schemaHide: true,
      index: false,
      list: false,
      dotfiles: 'ignore',
      cacheControl: false,
      setHeaders: (reply, path) => {
        reply.header('x-content-type-options', 'nosniff');
        if (path.startsWith(assets + sep)) reply.header('cache-control', IMMUTABLE);
      },
    });
    // index.html names the current hashes: browsers revalidate it every time (ETag → 304).
    instance.get('/', async (_request, reply) =>
      reply
        .header('cache-control', 'no-cache')
        .sendFile('index.html', root, { cacheControl: false }),
    );
  });
  app.get('/assets/*', { schema }, files.forward);
  app.get('/', { schema }, async (request, reply) => {
    reply.headers({ ...PAGE_HEADERS, ...(trustworthy(request) && OPENER_POLICY) });
    return files.forward(request, reply);
  });
}
