import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { page, PAGE_CSP } from '../../src/http/plugins/page.ts';
import { classify, problem, PROBLEMS } from '../../src/http/problems.ts';

/** The plugin alone on a fixture build, with the app's problem documents for errors. */
async function serve(
  t: { after: (fn: () => unknown) => void },
  files: Record<string, string>,
  options: { trustProxy?: boolean } = {},
) {
  const root = mkdtempSync(join(tmpdir(), '12f-public-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const app = Fastify(options);
  const send = (code: keyof typeof PROBLEMS, detail: string, url: string) =>
    problem(code, detail, { instance: url, requestId: 'test' });
  app.setErrorHandler((error, request, reply) => {
    const found = classify(error);
    return reply
      .code(PROBLEMS[found.code].status)
      .send(send(found.code, found.detail, request.url));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(send('ROUTE_NOT_FOUND', 'No such resource.', request.url)),
  );
  await page(app, { root });
  t.after(() => app.close());
  return app;
}

const BUILT = {
  'index.html':
    '<!doctype html><title>t</title><script type="module" src="/assets/i-AbC12345.js"></script>',
  'assets/i-AbC12345.js': 'export {};',
  'assets/.secret': 'no',
};

test('page plugin — when the page is built, then / is no-cache HTML under the strict CSP', async (t) => {
  const app = await serve(t, BUILT);
  const res = await app.inject('/?q=ada');
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  assert.equal(res.headers['cache-control'], 'no-cache');
  assert.equal(res.headers['content-security-policy'], PAGE_CSP);
  assert.equal(res.headers['x-frame-options'], 'DENY');
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  const etag = String(res.headers.etag);
  const again = await app.inject({ url: '/', headers: { 'if-none-match': etag } });
  assert.equal(again.statusCode, 304, 'revalidation is cheap');
});

test('page plugin — when / is asked for by a host name over http, then Cross-Origin-Opener-Policy is sent only where browsers apply it', async (t) => {
  const app = await serve(t, BUILT);
  const opener = async (host: string) =>
    (await app.inject({ url: '/', headers: { host } })).headers['cross-origin-opener-policy'];
  // A browser ignores it there and logs a console error saying so.
  assert.equal(await opener('192.0.2.2:1337'), undefined);
  assert.equal(await opener('users.example.test'), undefined);
  assert.equal(await opener('localhost:1337'), 'same-origin');
  assert.equal(await opener('app.localhost:1337'), 'same-origin');
  assert.equal(await opener('127.0.0.1:1337'), 'same-origin');
  assert.equal(await opener('[::1]:1337'), 'same-origin');
  // Behind a TLS-terminating proxy that TRUST_PROXY trusts, the origin is https.
  const proxied = await serve(t, BUILT, { trustProxy: true });
  const res = await proxied.inject({
    url: '/',
    headers: { host: 'users.example.test', 'x-forwarded-proto': 'https' },
  });
  assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin');
});

test('page plugin — when a hashed asset is asked for, then it may be cached for a year', async (t) => {
  const app = await serve(t, BUILT);
  const res = await app.inject('/assets/i-AbC12345.js');
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /javascript/);
  assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
});

test('page plugin — when a path is not an asset, then it is a 404 problem, never a file outside', async (t) => {
  const app = await serve(t, BUILT);
  for (const url of [
    '/assets/nope.js',
    '/assets/.secret',
    '/assets/../index.html',
    '/assets/%2e%2e/%2e%2e/package.json',
    '/index.html',
  ]) {
    const res = await app.inject(url);
    assert.equal(res.statusCode, 404, url);
    assert.equal(res.json().code, 'ROUTE_NOT_FOUND', url);
  }
});

test('page plugin — when dist/public was not built, then / is a 404 problem saying how to build', async (t) => {
  const app = await serve(t, {});
  const res = await app.inject('/');
  assert.equal(res.statusCode, 404);
  const body = res.json();
  assert.equal(body.code, 'ROUTE_NOT_FOUND');
  assert.match(body.detail, /npm run build/);
});
