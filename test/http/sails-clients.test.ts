import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.ts';

/** What a Sails 0.12 blueprint client sends, and what it must get back. */
describe('user routes (Sails 0.12 clients)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ corsOrigins: ['https://admin.example.com'] });
  });
  after(() => t.close());

  const createOne = async (name: string) => {
    const res = await t.app.inject({ method: 'POST', url: `/user?name=${name}` });
    assert.equal(res.statusCode, 201);
    return res.json() as { id: string; name: string };
  };

  for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
    it(`an empty body sent as ${type} on every write route reads the query string`, async () => {
      const headers = { 'content-type': type };
      const created = await t.app.inject({
        method: 'POST',
        url: '/user?name=empty-body',
        headers,
        payload: '',
      });
      assert.equal(created.statusCode, 201, created.body);
      const { id } = created.json();
      for (const method of ['PUT', 'PATCH', 'POST'] as const) {
        const updated = await t.app.inject({
          method,
          url: `/user/${id}?name=by-${method}`,
          headers,
          payload: '',
        });
        assert.equal(updated.statusCode, 200, `${method}: ${updated.body}`);
        assert.equal(updated.json().name, `by-${method}`);
      }
      const deleted = await t.app.inject({
        method: 'DELETE',
        url: `/user/${id}`,
        headers,
        payload: '',
      });
      assert.equal(deleted.statusCode, 200, deleted.body);
    });
  }

  it('a JSON body that is not empty is still parsed, and malformed JSON is still a 400', async () => {
    const headers = { 'content-type': 'application/json' };
    const ok = await t.app.inject({
      method: 'POST',
      url: '/user',
      headers,
      payload: '{"name":"j"}',
    });
    assert.equal(ok.statusCode, 201);
    const bad = await t.app.inject({ method: 'POST', url: '/user', headers, payload: '{"name":' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, 'MALFORMED_BODY');
    const poisoned = await t.app.inject({
      method: 'POST',
      url: '/user',
      headers,
      payload: '{"name":"p","__proto__":{"admin":true}}',
    });
    assert.equal(poisoned.statusCode, 400);
  });

  it('POST /user/:id updates the record as PUT does', async () => {
    const { id } = await createOne('before');
    const res = await t.app.inject({
      method: 'POST',
      url: `/user/${id}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=after',
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().id, id);
    assert.equal(res.json().name, 'after');
    const read = await t.app.inject({ method: 'GET', url: `/user/${id}` });
    assert.equal(read.json().name, 'after');
    const missing = await t.app.inject({
      method: 'POST',
      url: '/user/0123456789abcdef01234567?name=x',
    });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'USER_NOT_FOUND');
  });

  it('every route answers with or without a trailing slash', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/user/?name=slash' });
    assert.equal(created.statusCode, 201, created.body);
    const { id } = created.json();
    const list = await t.app.inject({ method: 'GET', url: '/user/' });
    assert.equal(list.statusCode, 200, list.body);
    assert.ok(Array.isArray(list.json()));
    assert.equal((await t.app.inject({ method: 'GET', url: `/user/${id}/` })).json().id, id);
    const put = await t.app.inject({ method: 'PUT', url: `/user/${id}/?name=slashed` });
    assert.equal(put.json().name, 'slashed');
    for (const url of ['/healthz/', '/version/', '/openapi.json/']) {
      assert.equal((await t.app.inject({ method: 'GET', url })).statusCode, 200, url);
    }
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/user/${id}/` })).statusCode, 200);
  });

  it('OPTIONS on a route answers 204 with the methods it allows', async () => {
    const { id } = await createOne('options');
    const one = await t.app.inject({ method: 'OPTIONS', url: `/user/${id}` });
    assert.equal(one.statusCode, 204);
    assert.deepEqual(String(one.headers.allow).split(', ').sort(), [
      'DELETE',
      'GET',
      'HEAD',
      'OPTIONS',
      'PATCH',
      'POST',
      'PUT',
    ]);
    const list = await t.app.inject({ method: 'OPTIONS', url: '/user/' });
    assert.equal(list.statusCode, 204);
    assert.deepEqual(String(list.headers.allow).split(', ').sort(), [
      'GET',
      'HEAD',
      'OPTIONS',
      'POST',
    ]);
    const health = await t.app.inject({ method: 'OPTIONS', url: '/healthz' });
    assert.equal(health.statusCode, 204);
    assert.match(String(health.headers.allow), /GET/);
  });

  it('a CORS preflight is still answered as configured, and carries Allow', async () => {
    const res = await t.app.inject({
      method: 'OPTIONS',
      url: '/user',
      headers: { origin: 'https://admin.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['access-control-allow-origin'], 'https://admin.example.com');
    assert.match(String(res.headers['access-control-allow-methods']), /POST/);
  });

  for (const type of [
    'application/vnd.api+json',
    'application/merge-patch+json; charset=utf-8',
    'APPLICATION/LD+JSON',
  ]) {
    it(`a body typed ${type} is parsed as JSON`, async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/user',
        headers: { 'content-type': type },
        payload: '{"name":"suffixed"}',
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().name, 'suffixed');
    });
  }

  it('a type that only mentions +json in a parameter, or text/plain, stays a 415', async () => {
    for (const type of ['text/plain', 'application/octet-stream; x="a+json"']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/user',
        headers: { 'content-type': type },
        payload: '{"name":"no"}',
      });
      assert.equal(res.statusCode, 415, type);
    }
  });

  it('the shortcut routes are not served: /user/create, /user/find and /user/count are ids that do not exist', async () => {
    for (const url of ['/user/create?name=x', '/user/find', '/user/count']) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().code, 'USER_NOT_FOUND', url);
    }
    for (const url of ['/user/update/0123456789abcdef01234567', '/user/destroy/x']) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().code, 'ROUTE_NOT_FOUND', url);
    }
  });
});

describe('user routes without CORS', () => {
  it('OPTIONS still answers 204 with Allow', async (t) => {
    const app = await buildTestApp();
    t.after(() => app.close());
    const res = await app.app.inject({ method: 'OPTIONS', url: '/user/' });
    assert.equal(res.statusCode, 204);
    assert.deepEqual(String(res.headers.allow).split(', ').sort(), [
      'GET',
      'HEAD',
      'OPTIONS',
      'POST',
    ]);
  });
});
