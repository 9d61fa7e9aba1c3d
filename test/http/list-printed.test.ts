import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseListQuery } from '../../src/users/query.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import { buildTestApp } from '../support/app.ts';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';
import { at, newUser } from '../store/contract-support.ts';

const availability = await postgresAvailability();

/** Names a JSON printer might escape differently; the store takes what the API would refuse. */
const NAMES = [
  'bingo',
  'say "hi"',
  'back\\slash',
  'tab\tnew\nline\r\b\f',
  'bell\u0007 unit\u001f del\u007f',
  'Élodie',
  'emoji 😀',
  'line\u2028separator',
  '</script>',
  'a/b',
];

const PATHS = [
  '/user',
  '/user/',
  '/user?limit=5',
  '/user?limit=5&skip=3',
  '/user?limit=7&skip=30',
  '/user?skip=1000',
  '/user?limit=1000',
  '/user?sort=name%20DESC&limit=7&skip=2',
  '/user?sort=email%20ASC',
  '/user?sort=email%20DESC&limit=4',
  '/user?sort={"createdAt":-1,"name":1}&limit=9',
  '/user?sort=updatedAt%20ASC&skip=40',
  '/user?name=bingo',
  '/user?where={"email":null}&limit=3',
  '/user?where={"name":{"contains":"a"}}&sort=name%20ASC',
];

if (availability.reachable) {
  test('postgres — when the engine prints a list page, then the response is byte for byte the one its records make through the serializer, headers included', async (t) => {
    const database = await createTestDatabase();
    let store: UserStore | undefined;
    const printed = await buildTestApp({
      url: database.url,
      wrapStore: (real) => (store = real),
    });
    // The same store with the printed text taken away: the route serializes `users`.
    const serialized = await buildTestApp({
      url: database.url,
      wrapStore: (real) => ({
        ...real,
        list: async (query) => {
          const { users, total } = await real.list(query);
          return { users, total };
        },
      }),
    });
    t.after(async () => {
      await printed.close();
      await serialized.close();
      await database.drop();
    });
    for (let i = 0; i < 42; i++) {
      await store!.create(
        newUser(i + 1, {
          name: i < NAMES.length ? NAMES[i]! : `user ${i}`,
          ...(i % 3 === 0 ? {} : { email: `u${i}@example.com` }),
          createdAt: at((i * 29) % 42, i % 7 === 0 ? 0 : i),
        }),
      );
    }
    let fromEngine = 0;
    for (const url of PATHS) {
      // The same request id for both, so that every header can be compared.
      const headers = { 'x-request-id': `list-${fromEngine}-${url.length}` };
      const [a, b] = await Promise.all([
        printed.app.inject({ url, headers }),
        serialized.app.inject({ url, headers }),
      ]);
      assert.equal(a.statusCode, 200, url);
      assert.equal(a.body, b.body, url);
      const undated = (headers: Record<string, unknown>) =>
        Object.entries(headers).filter(([name]) => name !== 'date');
      assert.deepEqual(undated(a.headers), undated(b.headers), url);
      assert.deepEqual(JSON.parse(a.body), (await store!.list(query(url))).users, url);
      if ((await store!.list(query(url))).json !== undefined) fromEngine++;
    }
    // Every where-less page of these was printed by the engine.
    assert.equal(fromEngine, 12);
  });
}

/** The list query a path asks, as the route parses it. */
function query(url: string) {
  const params = Object.fromEntries(new URL(url, 'http://host').searchParams);
  return parseListQuery(params);
}
