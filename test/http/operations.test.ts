import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Validator } from '@seriousme/openapi-schema-validator';
import { buildTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
before(async () => {
  t = await buildTestApp();
});
after(() => t.close());

test('healthz — when alive, then 200 without touching the store', async () => {
  const res = await t.app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { status: 'ok' });
});

test('readyz — when ready, then 200; when draining, then 503 with Retry-After, counted like any problem', async () => {
  const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200);
  assert.equal(ready.json().store, 'sqlite');
  const other = await buildTestApp();
  try {
    other.lifecycle.drain();
    const res = await other.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '5');
    assert.equal(res.json().code, 'DRAINING');
    assert.equal(res.json().instance, '/readyz');
    const metrics = await other.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /http_problems_total\{code="DRAINING"\} 1/);
  } finally {
    await other.close();
  }
});

test('version — when asked, then package version, commit and store kind', async () => {
  const res = await t.app.inject({ method: 'GET', url: '/version' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().version, '0.0.0-test');
  assert.equal(res.json().commit, 'abc123');
  assert.equal(res.json().store, 'sqlite');
});

test('metrics — when requests were served, then durations by route and status are exported', async () => {
  await t.app.inject({ method: 'POST', url: '/user?name=metered' });
  await t.app.inject({ method: 'GET', url: '/user/ffffffffffffffffffffffff' });
  const res = await t.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(
    res.body,
    /http_request_duration_seconds_count\{method="POST",route="\/user",status_code="201"\} 1/,
  );
  assert.match(
    res.body,
    /http_request_duration_seconds_count\{method="GET",route="\/user\/:id",status_code="404"\} 1/,
  );
  assert.match(res.body, /http_requests_in_flight/);
  assert.match(
    res.body,
    /store_operation_duration_seconds_count\{operation="create",store="sqlite",outcome="ok"\} 1/,
  );
  assert.match(res.body, /process_resident_memory_bytes/);
});

test('openapi — when fetched, then an OpenAPI 3.1 document with the user routes and schemas', async () => {
  const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json();
  assert.equal(doc.openapi, '3.1.0');
  for (const path of ['/user', '/user/{id}', '/healthz', '/readyz', '/version'])
    assert.ok(doc.paths[path], path);
  assert.ok(doc.components.schemas.User);
  assert.ok(doc.components.schemas.Problem);
  const result = await new Validator().validate(doc);
  assert.deepEqual(result.errors ?? [], [], 'a valid OpenAPI 3.1 document');
  assert.equal(result.valid, true);
  const docs = await t.app.inject({ method: 'GET', url: '/docs' });
  assert.ok([200, 302].includes(docs.statusCode));
});

test('docs — when the page and its assets are asked for, then they are served; a path out of their folder gets a problem document', async () => {
  const page = await t.app.inject({ method: 'GET', url: '/docs/' });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /text\/html/);
  for (const asset of ['/docs/static/swagger-ui.css', '/docs/static/logo.svg']) {
    assert.equal((await t.app.inject({ method: 'GET', url: asset })).statusCode, 200, asset);
  }
  for (const url of [
    '/docs/%2e%2e/%2e%2e/package.json',
    '/docs/..%2f..%2fpackage.json',
    '/docs/static/%2e%2e/%2e%2e/package.json',
    '/docs/no-such-file.js',
  ]) {
    const res = await t.app.inject({ method: 'GET', url });
    assert.ok(res.statusCode === 400 || res.statusCode === 404, `${url} → ${res.statusCode}`);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/, url);
    assert.doesNotMatch(res.body, /"dependencies"/, url);
  }
});

test('request id — when the client sends X-Request-Id, then it is echoed and logged', async () => {
  const res = await t.app.inject({
    method: 'GET',
    url: '/user',
    headers: { 'x-request-id': 'trace-42' },
  });
  assert.equal(res.headers['x-request-id'], 'trace-42');
  const line = t.logs.find((l) => l.requestId === 'trace-42' && l.msg === 'request completed');
  assert.ok(line, 'a request log line');
  assert.equal(line.method, 'GET');
  assert.equal(line.route, '/user');
  assert.equal(line.status, 200);
  assert.equal(typeof line.durationMs, 'number');
  const forged = await t.app.inject({
    method: 'GET',
    url: '/user',
    headers: { 'x-request-id': 'bad id\n{"level":60}' },
  });
  assert.match(String(forged.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

test('starting — when the store is not ready yet, then user routes answer 503, health 200', async () => {
  const other = await buildTestApp();
  try {
    Object.defineProperty(other.lifecycle, 'phase', { get: () => 'starting' });
    const res = await other.app.inject({ method: 'GET', url: '/user' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().code, 'STARTING');
    assert.equal(res.headers['retry-after'], '5');
    assert.equal((await other.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  } finally {
    await other.close();
  }
});

test('logs — when a request is refused, then each of its log lines carries its request id', async () => {
  const other = await buildTestApp();
  try {
    Object.defineProperty(other.lifecycle, 'phase', { get: () => 'starting' });
    const res = await other.app.inject({
      method: 'GET',
      url: '/user',
      headers: { 'x-request-id': 'refused-7' },
    });
    assert.equal(res.statusCode, 503);
    const lines = other.logs.filter((l) => l.requestId === 'refused-7');
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [
        ['warn', 'request refused'],
        ['error', 'request completed'],
      ],
    );
  } finally {
    await other.close();
  }
});

test('draining — when the shutdown has begun, then each response closes its connection', async () => {
  const other = await buildTestApp();
  try {
    await other.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = other.app.server.address() as { port: number };
    const agent = new http.Agent({ keepAlive: true });
    const connectionHeader = () =>
      new Promise<string | undefined>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.headers.connection));
          })
          .on('error', reject);
      });
    assert.equal(await connectionHeader(), 'keep-alive');
    other.lifecycle.drain();
    assert.equal(await connectionHeader(), 'close');
    agent.destroy();
  } finally {
    await other.close();
  }
});
