import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildTestApp } from '../support/app.ts';

/**
 * Every route the app serves (read from the router itself, so a new route is fuzzed without
 * anyone remembering to add it), under auth, with hostile headers, paths and bodies: never a
 * 5xx, never a polluted prototype, and a refused request changes no data.
 */
const WRITER = 'fuzz-writer-token-000000000001';
const READER = 'fuzz-reader-token-000000000002';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** `printRoutes({ commonPrefix: false })` as [method, path] pairs. */
function routesOf(tree: string): [Method, string][] {
  const stack: string[] = [];
  const routes: [Method, string][] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    for (const method of match[3]!.split(', ')) routes.push([method as Method, stack.join('')]);
  }
  return routes;
}

test('hostile routes — when every route gets fuzzed requests, then no 5xx, no pollution, and refused requests change nothing', async (t) => {
  const app = await buildTestApp({
    access: {
      apiTokens: [
        { token: WRITER, scope: 'write' },
        { token: READER, scope: 'read' },
      ],
    },
    corsOrigins: ['https://admin.example.com'],
  });
  t.after(() => app.close());
  const routes = routesOf(app.app.printRoutes({ commonPrefix: false }));
  for (const expected of ['/healthz', '/readyz', '/metrics', '/version', '/user', '/user/:id']) {
    assert.ok(
      routes.some(([, path]) => path === expected),
      `${expected} in ${JSON.stringify(routes)}`,
    );
  }
  const seeded = await app.app.inject({
    method: 'POST',
    url: '/user?name=keep&email=keep@example.com',
    headers: { authorization: `Bearer ${WRITER}` },
  });
  const existing = seeded.json().id as string;
  const snapshot = async () =>
    (await app.app.inject({ method: 'GET', url: '/user?limit=1000' })).body;

  const segment = fc.oneof(
    fc.constantFrom(
      existing,
      '..',
      '%2e%2e',
      '..%2F..%2Fetc%2Fpasswd',
      '%00',
      '%ZZ',
      'a'.repeat(300),
    ),
    fc.string({ maxLength: 30 }).map(encodeURIComponent),
  );
  const header = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.constantFrom(
      `Bearer ${WRITER}`,
      `Bearer ${READER}`,
      'Bearer',
      'Basic Og==',
      '"; DROP',
      '{"$gt":""}',
    ),
  );
  const body = fc.oneof(
    fc.json({ depthSize: 'large' }),
    fc.string({ maxLength: 500 }),
    fc.constantFrom(
      '{"name":"p","__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{"admin":true}}}',
      '{"name":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
      'name=p&__proto__[admin]=1',
      'x'.repeat(2 * 1024 * 1024),
    ),
  );
  const request = fc.record({
    route: fc.constantFrom(...routes),
    segment,
    query: fc.string({ maxLength: 80 }).map((q) => encodeURIComponent(q).replaceAll('%3D', '=')),
    authorization: fc.option(header, { nil: undefined }),
    contentType: fc.constantFrom(
      'application/json',
      'application/x-www-form-urlencoded',
      'text/plain',
      'application/json; charset=utf-16',
      'multipart/form-data; boundary=x',
    ),
    accept: fc.constantFrom('*/*', 'application/json', 'text/html', 'image/png', ';;;'),
    ifMatch: fc.option(header, { nil: undefined }),
    origin: fc.option(
      fc.constantFrom('https://admin.example.com', 'https://evil.example', 'null'),
      {
        nil: undefined,
      },
    ),
    requestId: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
    body,
  });

  const counts = { runs: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const [method, pattern] = r.route;
      const path = pattern
        .replace(':id', r.segment)
        .replace('*', `${r.segment}/${r.segment}`)
        .replace(/^\*$/, '/user');
      const headers: Record<string, string> = { 'content-type': r.contentType, accept: r.accept };
      for (const [name, value] of [
        ['authorization', r.authorization],
        ['if-match', r.ifMatch],
        ['origin', r.origin],
        ['x-request-id', r.requestId],
      ] as const) {
        if (value !== undefined) headers[name] = value;
      }
      const before = await snapshot();
      const res = await app.app.inject({
        method,
        url: `${path}?${r.query}`,
        headers,
        ...(method !== 'GET' && method !== 'HEAD' && { payload: r.body }),
      });
      counts.runs++;
      assert.ok(
        res.statusCode < 500,
        `${method} ${path} → ${res.statusCode} ${res.body.slice(0, 300)}`,
      );
      assert.equal(({} as Record<string, unknown>).admin, undefined, 'Object.prototype polluted');
      if (res.statusCode >= 400) {
        counts.refused++;
        assert.equal(await snapshot(), before, `${method} ${path} was refused but changed data`);
      } else if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(method) && path.startsWith('/user')) {
        // An accepted write by the fuzzer's valid token: undo it so later runs see the same data.
        const id = res.json().id as string;
        await app.app.inject({
          method: 'DELETE',
          url: `/user/${id}`,
          headers: { authorization: `Bearer ${WRITER}` },
        });
        if (id === existing) throw new fc.PreconditionFailure();
      }
    }),
    { seed: 20261125, numRuns: 1000, endOnFailure: true },
  );
  t.diagnostic(
    `${counts.runs} fuzzed requests over ${routes.length} route/method pairs, ${counts.refused} refused, 0 5xx`,
  );
});
