import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildTestApp, type TestApp } from '../support/app.ts';

/**
 * The README's "Differences from Sails blueprints": each deviation a Sails 0.12 client can
 * observe has its row, and the row says what the service does.
 */
const README = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const section = README.slice(
  README.indexOf('### Differences from Sails blueprints'),
  README.indexOf('## Security'),
);
const rows = section
  .split('\n')
  .filter(
    (line) => line.startsWith('| ') && !line.startsWith('| Sails 0.12') && !/^\| -/.test(line),
  )
  .map((line) => line.split('|').map((cell) => cell.trim()));

/** The row whose Sails column mentions `sails`; its 12factor-app column must mention `ours`. */
function row(sails: string, ours: string) {
  const found = rows.filter(([, left]) => left!.includes(sails));
  assert.equal(found.length, 1, `one row for "${sails}"`);
  assert.ok(found[0]![2]!.includes(ours), `"${sails}" row says "${ours}": ${found[0]![2]}`);
}

describe('README: differences from Sails blueprints', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    for (const name of ['Bob', 'alice', '50% off', 'carol'])
      await t.app.inject({ method: 'POST', url: `/user?name=${encodeURIComponent(name)}` });
    await t.app.inject({ method: 'POST', url: '/user?name=dora&email=dora@example.com' });
  });
  after(() => t.close());

  const get = (url: string) => t.app.inject({ method: 'GET', url });
  const names = async (url: string) => {
    const res = await get(url);
    assert.equal(res.statusCode, 200, res.body);
    return (res.json() as { name: string }[]).map((user) => user.name).sort();
  };
  const where = (w: unknown) => `/user?where=${encodeURIComponent(JSON.stringify(w))}`;

  it('keys in one fixed order', async () => {
    row('Keys print in the order', '`name`, `email`, `createdAt`, `updatedAt`, `id`');
    const res = await t.app.inject({
      method: 'POST',
      url: '/user',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: 'erin@example.com', name: 'erin' }),
    });
    assert.deepEqual(Object.keys(res.json()), ['name', 'email', 'createdAt', 'updatedAt', 'id']);
  });

  it('GET /user?id= answers a list, and lists carry no ETag', async () => {
    row('`GET /user?id=<id>`', 'A list of zero or one');
    row('Lists carry an `ETag`', 'Only single records');
    const [first] = (await get('/user?limit=1')).json() as { id: string }[];
    const res = await get(`/user?id=${first!.id}`);
    assert.ok(Array.isArray(res.json()));
    assert.equal(res.json().length, 1);
    assert.equal(res.headers.etag, undefined);
    assert.ok((await get(`/user/${first!.id}`)).headers.etag);
  });

  it('select, populate, callback and repeated parameters are 400s', async () => {
    row('`select`, `populate`, `callback`', '400');
    row('A repeated parameter', '400');
    for (const url of [
      '/user?select=name',
      '/user?populate=pets',
      '/user?callback=f',
      '/user?name=a&name=b',
    ]) {
      assert.equal((await get(url)).statusCode, 400, url);
    }
  });

  it('where and the other parameters are ANDed; in is an extension', async () => {
    row('`where` replaces the other criteria', 'ANDed');
    row('A list of values is an array', '`in` operator');
    assert.deepEqual(await names(`${where({ name: { in: ['Bob', 'carol'] } })}&name=carol`), [
      'carol',
    ]);
    assert.deepEqual(await names(where({ name: { in: ['Bob', 'carol'] } })), ['Bob', 'carol']);
  });

  it('range comparisons in byte order; % is literal outside like', async () => {
    row('`<`, `>`… compare text', 'Byte order');
    row('`%` in `contains`', 'A literal character');
    // In byte order every capital comes before every small letter.
    assert.deepEqual(await names(where({ name: { '<': 'a' } })), ['50% off', 'Bob']);
    assert.deepEqual(await names(where({ name: { contains: '0%' } })), ['50% off']);
    assert.deepEqual(await names(where({ name: { contains: '%' } })), ['50% off']);
  });

  it('email: null matches users without an address', async () => {
    row('`email: null`', 'matches users without an address');
    assert.ok(!(await names(where({ email: null }))).includes('dora'));
    assert.ok((await names(where({ email: null }))).includes('carol'));
  });

  it('limit=0 is a 400 naming the range', async () => {
    row('`limit` has no maximum', '0 included, is a 400');
    const res = await get('/user?limit=0');
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /1000/);
  });

  it('names trimmed, control characters refused, an empty update refused', async () => {
    row('Values are stored as sent', '`name` trimmed; control characters');
    row('An update naming no attribute', '400');
    const created = await t.app.inject({ method: 'POST', url: '/user?name=%20%20frank%20' });
    assert.equal(created.json().name, 'frank');
    const bell = await t.app.inject({ method: 'POST', url: '/user?name=a%07b' });
    assert.equal(bell.statusCode, 400);
    const empty = await t.app.inject({ method: 'PUT', url: `/user/${created.json().id}` });
    assert.equal(empty.statusCode, 400);
  });

  it('paths are case-sensitive; DELETE by filter is no route', async () => {
    row('Paths match case-insensitively', '`/USER` is a 404');
    row('`DELETE /user?id=<id>` deletes', 'Both 404');
    assert.equal((await get('/USER')).statusCode, 404);
    const [first] = (await get('/user?limit=1')).json() as { id: string }[];
    for (const url of [`/user?id=${first!.id}`, '/user']) {
      assert.equal((await t.app.inject({ method: 'DELETE', url })).statusCode, 404, url);
    }
    assert.equal((await get(`/user/${first!.id}`)).statusCode, 200, 'nothing was deleted');
  });
});
