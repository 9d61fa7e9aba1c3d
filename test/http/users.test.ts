import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.ts';
import { jsonPage } from '../../src/users/user-store.ts';

let t: TestApp;
before(async () => {
  t = await buildTestApp();
});
after(() => t.close());

const create = (url: string, payload?: unknown) =>
  t.app.inject({
    method: 'POST',
    url,
    ...(payload !== undefined && { payload: payload as object }),
  });

test('tutorial — when the four curl calls run verbatim, then they answer as Sails did', async () => {
  // curl -XPOST http://localhost:1337/user?name=bingo
  const created = await t.app.inject({ method: 'POST', url: '/user?name=bingo' });
  assert.equal(created.statusCode, 201);
  const record = created.json();
  assert.deepEqual(Object.keys(record), ['name', 'createdAt', 'updatedAt', 'id']);
  assert.equal(record.name, 'bingo');
  assert.match(record.id, /^[0-9a-f]{24}$/);
  assert.match(record.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(created.headers.location, `/user/${record.id}`);

  // curl http://localhost:1337/user
  const list = await t.app.inject({ method: 'GET', url: '/user' });
  assert.equal(list.statusCode, 200);
  assert.ok(Array.isArray(list.json()));
  assert.ok(list.json().some((u: { id: string }) => u.id === record.id));

  // curl -XPUT http://localhost:1337/user/<id>?name=bingohuang
  const updated = await t.app.inject({ method: 'PUT', url: `/user/${record.id}?name=bingohuang` });
  assert.equal(updated.statusCode, 200);
  assert.equal(updated.json().name, 'bingohuang');
  assert.equal(updated.json().createdAt, record.createdAt);
  assert.ok(updated.json().updatedAt > record.updatedAt);
  assert.deepEqual(Object.keys(updated.json()), ['name', 'createdAt', 'updatedAt', 'id']);

  // curl -XDELETE http://localhost:1337/user/<id>
  const deleted = await t.app.inject({ method: 'DELETE', url: `/user/${record.id}` });
  assert.equal(deleted.statusCode, 200);
  assert.deepEqual(deleted.json(), updated.json());
  const gone = await t.app.inject({ method: 'GET', url: `/user/${record.id}` });
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(gone.json().code, 'USER_NOT_FOUND');
});

test('create — when attributes come as JSON, form or query, then the body wins on a clash', async () => {
  const json = await create('/user?name=fromquery', { name: ' fromjson ', email: 'J@Example.com' });
  assert.equal(json.statusCode, 201);
  assert.equal(json.json().name, 'fromjson');
  assert.deepEqual(Object.keys(json.json()), ['name', 'email', 'createdAt', 'updatedAt', 'id']);
  const form = await t.app.inject({
    method: 'POST',
    url: '/user',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'name=formed',
  });
  assert.equal(form.statusCode, 201);
  assert.equal(form.json().name, 'formed');
});

test('create — when a client sends id or timestamps, then they are ignored', async () => {
  const res = await create('/user', {
    name: 'sneaky',
    id: '000000000000000000000000',
    createdAt: '2000-01-01T00:00:00.000Z',
  });
  assert.equal(res.statusCode, 201);
  assert.notEqual(res.json().id, '000000000000000000000000');
  assert.notEqual(res.json().createdAt, '2000-01-01T00:00:00.000Z');
});

test('create — when the e-mail differs only in case from a taken one, then 409', async () => {
  assert.equal((await create('/user', { name: 'a', email: 'dup@example.com' })).statusCode, 201);
  const res = await create('/user', { name: 'b', email: 'DUP@example.COM' });
  assert.equal(res.statusCode, 409);
  assert.equal(res.json().code, 'EMAIL_TAKEN');
  assert.deepEqual(res.json().errors, [{ field: 'email', message: 'is already taken' }]);
});

test('create — when input is invalid, then 400 names each field', async () => {
  const res = await create('/user', { email: 'not-an-address', age: 3, colour: 'red' });
  assert.equal(res.statusCode, 400);
  const body = res.json();
  assert.equal(body.code, 'VALIDATION_FAILED');
  const fields = body.errors.map((e: { field: string }) => e.field).sort();
  assert.deepEqual(fields, ['age', 'colour', 'email', 'name']);
  for (const key of ['type', 'title', 'status', 'detail', 'instance']) assert.ok(key in body, key);
  assert.equal(body.status, 400);
  assert.equal(body.instance, '/user');
  assert.equal((await create('/user', { name: '   ' })).statusCode, 400);
  assert.equal((await create('/user', { name: 'x'.repeat(101) })).statusCode, 400);
  assert.equal((await create('/user', [{ name: 'bulk' }])).statusCode, 400);
});

test('read — when the ETag still matches, then 304; when the id is malformed, then 404', async () => {
  const user = (await create('/user', { name: 'etag' })).json();
  const first = await t.app.inject({ method: 'GET', url: `/user/${user.id}` });
  assert.match(String(first.headers.etag), /^"[A-Za-z0-9_-]+"$/);
  const again = await t.app.inject({
    method: 'GET',
    url: `/user/${user.id}`,
    headers: { 'if-none-match': String(first.headers.etag) },
  });
  assert.equal(again.statusCode, 304);
  const malformed = await t.app.inject({ method: 'GET', url: '/user/not-an-id' });
  assert.equal(malformed.statusCode, 404);
  assert.equal(malformed.json().code, 'USER_NOT_FOUND');
});

test('update — when If-Match is stale, then 412 and nothing changes', async () => {
  const user = (await create('/user', { name: 'v1' })).json();
  const etag = String(
    (await t.app.inject({ method: 'GET', url: `/user/${user.id}` })).headers.etag,
  );
  const ok = await t.app.inject({
    method: 'PATCH',
    url: `/user/${user.id}`,
    headers: { 'if-match': etag },
    payload: { name: 'v2' },
  });
  assert.equal(ok.statusCode, 200);
  const stale = await t.app.inject({
    method: 'PUT',
    url: `/user/${user.id}`,
    headers: { 'if-match': etag },
    payload: { name: 'v3' },
  });
  assert.equal(stale.statusCode, 412);
  const staleDelete = await t.app.inject({
    method: 'DELETE',
    url: `/user/${user.id}`,
    headers: { 'if-match': etag },
  });
  assert.equal(staleDelete.statusCode, 412);
  const now = await t.app.inject({ method: 'GET', url: `/user/${user.id}` });
  assert.equal(now.json().name, 'v2');
});

test('update — when nothing to change or the id is unknown, then 400 or 404', async () => {
  const user = (await create('/user', { name: 'still' })).json();
  assert.equal((await t.app.inject({ method: 'PUT', url: `/user/${user.id}` })).statusCode, 400);
  const unknown = await t.app.inject({
    method: 'PUT',
    url: '/user/58a41d952f53291200b9e065?name=x',
  });
  assert.equal(unknown.statusCode, 404);
});

test('update — when email is null, then the address is cleared', async () => {
  const user = (await create('/user', { name: 'mail', email: 'clear@example.com' })).json();
  const res = await t.app.inject({
    method: 'PATCH',
    url: `/user/${user.id}`,
    payload: { email: null },
  });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().email, undefined);
});

test('list — when paging, then X-Total-Count and Link headers describe the pages', async () => {
  for (let i = 0; i < 7; i++) await create('/user', { name: `page-${i}` });
  const res = await t.app.inject({
    method: 'GET',
    url:
      '/user?where=' +
      encodeURIComponent('{"name":{"startsWith":"page-"}}') +
      '&limit=3&skip=3&sort=name%20DESC',
  });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['x-total-count'], '7');
  assert.deepEqual(
    res.json().map((u: { name: string }) => u.name),
    ['page-3', 'page-2', 'page-1'],
  );
  const link = String(res.headers.link);
  assert.match(link, /skip=6&limit=3>; rel="next"|limit=3&skip=6>; rel="next"|rel="next"/);
  assert.match(link, /rel="prev"/);
  assert.match(link, /skip=0/);
});

test('list — when parameters are invalid or unknown, then 400 (never a silent [])', async () => {
  for (const url of [
    '/user?limit=abc',
    '/user?limit=5000',
    '/user?skip=-1',
    '/user?sort=age',
    '/user?where=%7Bbad',
    '/user?where=' + encodeURIComponent('{"name":{"$regex":".*"}}'),
    '/user?age=3',
    '/user?name=a&name=b',
  ]) {
    const res = await t.app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 400, url);
    assert.equal(res.json().code, 'VALIDATION_FAILED', url);
  }
});

test('errors — when the route, method or media type is wrong, then a problem document', async () => {
  const cases: [string, string, Record<string, string>, string | undefined, number, string][] = [
    ['GET', '/nowhere', {}, undefined, 404, 'ROUTE_NOT_FOUND'],
    ['GET', '/user/create?name=x', {}, undefined, 404, 'USER_NOT_FOUND'],
    ['POST', '/user', { 'content-type': 'application/json' }, '{"name":', 400, 'MALFORMED_BODY'],
    ['POST', '/user', { 'content-type': 'text/plain' }, 'name=x', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'POST',
      '/user',
      { 'content-type': 'application/json' },
      '{"__proto__":{"x":1},"name":"p"}',
      400,
      'MALFORMED_BODY',
    ],
  ];
  for (const [method, url, headers, payload, status, code] of cases) {
    const res = await t.app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload !== undefined && { payload }),
    });
    assert.equal(res.statusCode, status, `${method} ${url}`);
    assert.equal(res.json().code, code, `${method} ${url}`);
    assert.doesNotMatch(res.body, /at .*\.ts:\d+|node_modules|\/work\//);
  }
});

test('errors — when the body is over the limit, then 413', async () => {
  const small = await buildTestApp({ bodyLimitBytes: 2048 });
  try {
    const res = await small.app.inject({
      method: 'POST',
      url: '/user',
      payload: { name: 'x'.repeat(4096) },
    });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().code, 'BODY_TOO_LARGE');
  } finally {
    await small.close();
  }
});

test('list — when the store hands a page printed as JSON, then that text is the body, not the records serialized again', async (t) => {
  // An escape JSON.stringify never writes (é as \u00e9): re-serialized, the body would differ.
  const printed =
    '[{"name":"caf\\u00e9","createdAt":"2017-02-13T06:13:53.791Z","updatedAt":"2017-02-13T06:13:53.791Z","id":"58a41d952f53291200b9e065"}]';
  const printing = await buildTestApp({
    wrapStore: (store) =>
      new Proxy(store, {
        get: (target, key, receiver) =>
          key === 'list' ? async () => jsonPage(printed, 41) : Reflect.get(target, key, receiver),
      }),
  });
  t.after(() => printing.close());
  const res = await printing.app.inject({ method: 'GET', url: '/user?limit=1' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, printed);
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(res.headers['x-total-count'], '41');
  assert.equal(res.json()[0].name, 'café');
});
