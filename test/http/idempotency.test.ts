import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
before(async () => {
  t = await buildTestApp();
});
after(() => t.close());

const post = (key: string, url: string, payload?: object) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { 'idempotency-key': key },
    ...(payload !== undefined && { payload }),
  });

const countNamed = async (name: string) =>
  Number((await t.app.inject({ url: `/user?name=${name}&limit=1` })).headers['x-total-count']);

test('idempotency — when a create is retried with its key, then the first user is answered again, marked replayed', async () => {
  const first = await post('retry-1', '/user', { name: 'retried', email: 'r@example.com' });
  const second = await post('retry-1', '/user', { name: 'retried', email: 'r@example.com' });
  assert.equal(first.statusCode, 201);
  assert.equal(first.headers['idempotent-replayed'], undefined);
  assert.equal(second.statusCode, 201);
  assert.equal(second.headers['idempotent-replayed'], 'true');
  assert.deepEqual(second.json(), first.json());
  assert.equal(second.headers.location, first.headers.location);
  assert.equal(second.headers.etag, first.headers.etag);
  assert.equal(await countNamed('retried'), 1);
});

test('idempotency — when the same attributes come by query string and then by JSON, then it is the same request', async () => {
  const first = await post('retry-2', '/user?name=shapes');
  const second = await post('retry-2', '/user', { name: ' shapes ' });
  assert.equal(second.headers['idempotent-replayed'], 'true');
  assert.equal(second.json().id, first.json().id);
});

test('idempotency — when a key is reused with other attributes, then 422 IDEMPOTENCY_KEY_REUSED and nothing is created', async () => {
  await post('retry-3', '/user', { name: 'original' });
  const reused = await post('retry-3', '/user', { name: 'different' });
  assert.equal(reused.statusCode, 422);
  assert.equal(reused.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(reused.json().code, 'IDEMPOTENCY_KEY_REUSED');
  assert.equal(await countNamed('different'), 0);
});

test('idempotency — when the key is empty, too long or not printable ASCII, then 400 naming the header', async () => {
  for (const key of ['', 'k'.repeat(256), 'clé', 'tab\there']) {
    const res = await post(key, '/user', { name: 'badkey' });
    assert.equal(res.statusCode, 400, JSON.stringify(key));
    assert.equal(res.json().code, 'VALIDATION_FAILED');
    assert.equal(res.json().errors[0].field, 'idempotency-key');
  }
  assert.equal((await post('k'.repeat(255), '/user', { name: 'longkey' })).statusCode, 201);
  assert.equal(await countNamed('badkey'), 0);
});

test('idempotency — when creates race under one key, then exactly one user is made', async () => {
  const answers = await Promise.all(
    Array.from({ length: 6 }, () => post('retry-race', '/user', { name: 'racer' })),
  );
  assert.deepEqual(new Set(answers.map((a) => a.statusCode)), new Set([201]));
  assert.equal(new Set(answers.map((a) => a.json().id)).size, 1);
  assert.equal(answers.filter((a) => a.headers['idempotent-replayed'] === 'true').length, 5);
  assert.equal(await countNamed('racer'), 1);
});

test('idempotency — when two tokens use the same key, then their keys do not collide', async (ctx) => {
  const [one, two] = ['a'.repeat(32), 'b'.repeat(32)];
  const secured = await buildTestApp({
    access: {
      apiTokens: [
        { token: one, scope: 'write' },
        { token: two, scope: 'write' },
      ],
    },
  });
  ctx.after(() => secured.close());
  const send = (token: string) =>
    secured.app.inject({
      method: 'POST',
      url: '/user?name=scoped',
      headers: { 'idempotency-key': 'shared', authorization: `Bearer ${token}` },
    });
  const a = await send(one);
  const b = await send(two);
  const again = await send(one);
  assert.deepEqual([a.statusCode, b.statusCode], [201, 201]);
  assert.notEqual(a.json().id, b.json().id);
  assert.equal(again.json().id, a.json().id);
  assert.equal(again.headers['idempotent-replayed'], 'true');
});
