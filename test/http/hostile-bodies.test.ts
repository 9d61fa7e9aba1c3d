import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp } from '../support/app.ts';
import { MAX_ATTRIBUTES } from '../../src/http/body-bounds.ts';
import { MAX_FIELD_ERRORS } from '../../src/http/problems.ts';

const KEYS = 90_000;
const manyKeys = () => Object.fromEntries(Array.from({ length: KEYS }, (_, i) => [`k${i}`, 'v']));

describe('body validation', () => {
  test('a JSON or form body with 90,000 unknown keys gets a small 400 unparsed, and the app serves on', async (t) => {
    const app = await buildTestApp({ bodyLimitBytes: 4 * 1024 * 1024 });
    t.after(() => app.close());
    const created = await app.app.inject({ method: 'POST', url: '/user?name=victim' });
    assert.equal(created.statusCode, 201);
    const id = created.json().id;
    const keys = manyKeys();
    const bodies = {
      'application/json': JSON.stringify(keys),
      'application/x-www-form-urlencoded': new URLSearchParams(keys).toString(),
    };
    for (const [type, payload] of Object.entries(bodies)) {
      for (const [method, url] of [
        ['PATCH', `/user/${id}`],
        ['POST', '/user'],
      ] as const) {
        const res = await app.app.inject({
          method,
          url,
          headers: { 'content-type': type },
          payload,
        });
        assert.equal(res.statusCode, 400, `${method} ${type}`);
        assert.equal(res.json().code, 'VALIDATION_FAILED');
        assert.ok(res.body.length < 2048, `a ${res.body.length}-byte answer`);
        assert.match(res.json().detail, new RegExp(`more than ${MAX_ATTRIBUTES} attributes`));
      }
    }
    const read = await app.app.inject({ method: 'GET', url: `/user/${id}` });
    assert.equal(read.statusCode, 200);
    assert.equal(read.json().name, 'victim', 'nothing was changed');
  });

  test('a body with many unknown keys under the bound lists at most the capped number of errors', async (t) => {
    const app = await buildTestApp();
    t.after(() => app.close());
    const body = Object.fromEntries(
      Array.from({ length: MAX_ATTRIBUTES - 1 }, (_, i) => [`unknown${i}`, 'v']),
    );
    const res = await app.app.inject({ method: 'POST', url: '/user', payload: body });
    assert.equal(res.statusCode, 400);
    const { errors } = res.json() as { errors: { field: string }[] };
    assert.equal(errors.length, MAX_FIELD_ERRORS);
    assert.equal(new Set(errors.map((e) => e.field)).size, errors.length, 'one error per field');
    const wider = Object.fromEntries(
      Array.from({ length: MAX_ATTRIBUTES + 1 }, (_, i) => [`unknown${i}`, 'v']),
    );
    const refused = await app.app.inject({ method: 'POST', url: '/user', payload: wider });
    assert.equal(refused.statusCode, 400);
    assert.deepEqual(refused.json().errors, [
      {
        field: 'body',
        message: `has more than ${MAX_ATTRIBUTES} attributes; a user has far fewer`,
      },
    ]);
  });
});
