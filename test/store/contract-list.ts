import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { parseListQuery } from '../../src/users/query.ts';
import type { Page, UserStore } from '../../src/users/user-store.ts';
import { at, newUser, type Contract } from './contract-support.ts';

// Names chosen to catch a store that sorts by locale instead of bytes, folds case in ASCII only,
// treats `_`/`\` as wildcards, or lets SQL or regex syntax in a value act as code.
const SEED = [
  newUser(1, { name: 'Alice', email: 'alice@example.com' }),
  newUser(2, { name: 'bob', email: 'Bob@Example.org' }),
  newUser(3, { name: 'Carol' }),
  newUser(4, { name: 'under_score', email: 'u4@example.com' }),
  newUser(5, { name: 'Élodie', email: 'elodie@example.com' }),
  newUser(6, { name: '100% sure' }),
  newUser(7, { name: 'back\\slash', email: 'b7@example.net' }),
  newUser(8, { name: "'; DROP TABLE users; --" }),
  newUser(9, { name: '.*', email: 'dot@example.com' }),
  newUser(10, { name: 'Alice', email: 'alice2@example.com', createdAt: at(3) }),
];
const ALL = SEED.map((_, i) => i + 1);

interface Params {
  where?: unknown;
  sort?: string;
  limit?: number;
  skip?: number;
}

/** Lists through parseListQuery, as the HTTP layer does, and answers the seed numbers. */
async function list(store: UserStore, params: Params): Promise<{ ids: number[]; page: Page }> {
  const page = await store.list(
    parseListQuery({
      where: params.where === undefined ? undefined : JSON.stringify(params.where),
      sort: params.sort,
      limit: params.limit?.toString(),
      skip: params.skip?.toString(),
    }),
  );
  return { ids: page.users.map((u) => Number.parseInt(u.id, 16)), page };
}

export function listContract({ name, open }: Contract): void {
  async function seeded(t: TestContext): Promise<UserStore> {
    const store = await open(t);
    for (const user of SEED) await store.create(user);
    return store;
  }
  async function expectIds(store: UserStore, params: Params, expected: number[]) {
    assert.deepEqual((await list(store, params)).ids, expected, JSON.stringify(params));
  }

  test(`${name} — when filtering by equality, then the match is exact and case-sensitive`, async (t) => {
    const store = await seeded(t);
    await expectIds(store, { where: { name: 'Alice' } }, [1, 10]);
    await expectIds(store, { where: { name: 'alice' } }, []);
    await expectIds(store, { where: { name: { '!': 'Alice' } } }, [2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test(`${name} — when filtering e-mail by null, then missing addresses match eq and are excluded by ne`, async (t) => {
    const store = await seeded(t);
    await expectIds(store, { where: { email: null } }, [3, 6, 8]);
    await expectIds(store, { where: { email: { '!': null } } }, [1, 2, 4, 5, 7, 9, 10]);
    // A user without an address is "not" any given address, on every store.
    await expectIds(
      store,
      { where: { email: { '!': 'alice@example.com' } } },
      [2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  });

  test(`${name} — when comparing with <, <=, >, >=, then dates, ids and text compare by value and bytes`, async (t) => {
    const store = await seeded(t);
    await expectIds(store, { where: { createdAt: { '>': at(7) } } }, [8, 9]);
    await expectIds(store, { where: { createdAt: { '>=': at(7) } } }, [7, 8, 9]);
    await expectIds(store, { where: { createdAt: { '<': at(2) } } }, [1]);
    await expectIds(store, { where: { createdAt: { '<=': at(2) } } }, [1, 2]);
    await expectIds(store, { where: { createdAt: { '>': at(2), '<': at(5) } } }, [3, 4, 10]);
    await expectIds(store, { where: { id: { '>': newUser(8).id } } }, [9, 10]);
    await expectIds(store, { where: { id: { '<=': newUser(2).id } } }, [1, 2]);
    // Byte order: "bob" > "C" because lower case sorts after upper case.
    await expectIds(store, { where: { name: { '<': 'C' } } }, [1, 6, 8, 9, 10]);
  });

  test(`${name} — when filtering with in and not-in, then lists (also empty) match as sets`, async (t) => {
    const store = await seeded(t);
    await expectIds(store, { where: { name: ['bob', 'Carol', 'nobody'] } }, [2, 3]);
    await expectIds(store, { where: { name: { in: ['bob', 'Carol'] } } }, [2, 3]);
    await expectIds(
      store,
      { where: { name: { '!': ['bob', 'Carol'] } } },
      [1, 4, 5, 6, 7, 8, 9, 10],
    );
    await expectIds(
      store,
      { where: { email: { '!': ['alice@example.com'] } } },
      [2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    await expectIds(store, { where: { createdAt: { in: [at(3)] } } }, [3, 10]);
    await expectIds(store, { where: { name: { in: [] } } }, []);
    await expectIds(store, { where: { name: { '!': [] } } }, ALL);
  });

  test(`${name} — when matching text, then contains/startsWith/endsWith ignore case, Unicode included`, async (t) => {
    const store = await seeded(t);
    await expectIds(store, { where: { name: { contains: 'LI' } } }, [1, 10]);
    await expectIds(store, { where: { name: { contains: 'élo' } } }, [5]);
    await expectIds(store, { where: { name: { contains: 'ÉLO' } } }, [5]);
    await expectIds(store, { where: { name: { startsWith: 'al' } } }, [1, 10]);
    await expectIds(store, { where: { name: { endsWith: 'CE' } } }, [1, 10]);
    await expectIds(store, { where: { email: { contains: 'EXAMPLE.ORG' } } }, [2]);
    const first = await list(store, { where: { name: { contains: 'a' } }, limit: 1 });
    assert.equal(first.ids.length, 1);
    assert.equal(first.page.total, 5);
  });

  test(`${name} — when a name or address changes, then matching follows the new text, not the old`, async (t) => {
    const store = await seeded(t);
    const [alice] = (await list(store, { where: { name: 'Alice' }, limit: 1 })).page.users;
    await store.update(alice!.id, { name: 'ÖSTLUND', email: 'New@Example.NET' }, { now: at(5) });
    await expectIds(store, { where: { name: { contains: 'östl' } } }, [1]);
    await expectIds(store, { where: { name: { startsWith: 'ali' } } }, [10]);
    await expectIds(store, { where: { email: { endsWith: 'EXAMPLE.net' } } }, [1, 7]);
    await store.update(alice!.id, { email: null }, { now: at(6) });
    await expectIds(store, { where: { email: { endsWith: 'example.net' } } }, [7]);
  });

  test(`${name} — when a match value holds %, _, \\ or regex syntax, then every character is literal`, async (t) => {
    const store = await seeded(t);
    await expectIds(store, { where: { name: { contains: '%' } } }, [6]);
    await expectIds(store, { where: { name: { contains: '_' } } }, [4]);
    await expectIds(store, { where: { name: { contains: '\\' } } }, [7]);
    await expectIds(store, { where: { name: { contains: '.*' } } }, [9]);
    await expectIds(store, { where: { name: { startsWith: '.' } } }, [9]);
    await expectIds(store, { where: { name: { endsWith: '--' } } }, [8]);
    await expectIds(store, { where: { name: { contains: "'; DROP TABLE users; --" } } }, [8]);
    await expectIds(store, { where: { name: "'; DROP TABLE users; --" } }, [8]);
    await expectIds(store, { where: { name: { contains: '$where' } } }, []);
    assert.equal((await list(store, {})).page.total, SEED.length);
  });

  test(`${name} — when matching with like, then only % is a wildcard`, async (t) => {
    const store = await seeded(t);
    await expectIds(store, { where: { name: { like: 'a%e' } } }, [1, 10]);
    await expectIds(store, { where: { name: { like: 'A_ICE' } } }, []);
    await expectIds(store, { where: { name: { like: 'under_score' } } }, [4]);
    await expectIds(store, { where: { name: { like: 'under%score' } } }, [4]);
    await expectIds(store, { where: { name: { like: 'under_' } } }, []);
    await expectIds(store, { where: { name: { like: '100%' } } }, [6]);
    await expectIds(store, { where: { name: { like: '%SURE' } } }, [6]);
    await expectIds(store, { where: { name: { like: 'back\\slash' } } }, [7]);
    await expectIds(store, { where: { name: { like: '.*' } } }, [9]);
    await expectIds(store, { where: { name: { like: '%' } } }, ALL);
    await expectIds(store, { where: { email: { like: '%@example.com' } } }, [1, 4, 5, 9, 10]);
  });

  test(`${name} — when criteria nest and/or, then they combine as written`, async (t) => {
    const store = await seeded(t);
    const where = {
      or: [
        { name: 'bob' },
        { and: [{ name: { startsWith: 'a' } }, { createdAt: { '>': at(2) } }] },
      ],
    };
    await expectIds(store, { where }, [2, 10]);
    await expectIds(
      store,
      {
        where: { and: [{ email: null }, { or: [{ name: 'Carol' }, { name: { contains: '%' } }] }] },
      },
      [3, 6],
    );
  });

  test(`${name} — when sorting by one key, then text sorts by bytes, ties break by id, null e-mails come first ascending`, async (t) => {
    const store = await seeded(t);
    await expectIds(store, { sort: 'name ASC' }, [8, 9, 6, 1, 10, 3, 7, 2, 4, 5]);
    await expectIds(store, { sort: 'name DESC' }, [5, 4, 2, 7, 3, 1, 10, 6, 9, 8]);
    await expectIds(store, { sort: 'email ASC' }, [3, 6, 8, 2, 10, 1, 7, 9, 5, 4]);
    await expectIds(store, { sort: 'email DESC' }, [4, 5, 9, 7, 1, 10, 2, 3, 6, 8]);
    await expectIds(store, { sort: 'id DESC' }, ALL.toReversed());
  });

  test(`${name} — when sorting by several keys, then each breaks the previous one's ties`, async (t) => {
    const store = await seeded(t);
    await expectIds(store, { sort: 'createdAt DESC, name ASC' }, [9, 8, 7, 6, 5, 4, 10, 3, 2, 1]);
    await expectIds(store, { sort: '{"createdAt":1,"name":-1}' }, [1, 2, 3, 10, 4, 5, 6, 7, 8, 9]);
  });

  test(`${name} — when paging with limit and skip, then total counts every match and a skip past the end returns none`, async (t) => {
    const store = await seeded(t);
    const page = await list(store, { limit: 3, skip: 2 });
    assert.deepEqual(page.ids, [3, 4, 5]);
    assert.equal(page.page.total, 10);
    const beyond = await list(store, { skip: 20 });
    assert.deepEqual(beyond, { ids: [], page: { users: [], total: 10 } });
    const filtered = await list(store, { where: { email: null }, limit: 1, skip: 1 });
    assert.deepEqual(filtered.ids, [6]);
    assert.equal(filtered.page.total, 3);
  });

  test(`${name} — when walking three pages, then they partition the sorted list without gaps or repeats`, async (t) => {
    const store = await seeded(t);
    const pages = [];
    for (const skip of [0, 4, 8])
      pages.push(...(await list(store, { sort: 'name ASC', limit: 4, skip })).ids);
    assert.deepEqual(pages, (await list(store, { sort: 'name ASC' })).ids);
    assert.deepEqual(pages, [8, 9, 6, 1, 10, 3, 7, 2, 4, 5]);
  });

  test(`${name} — when listing, then records come whole and in Sails' key order`, async (t) => {
    const store = await seeded(t);
    const { page } = await list(store, { where: { id: [newUser(1).id, newUser(3).id] } });
    assert.deepEqual(page.users, [
      {
        name: 'Alice',
        email: 'alice@example.com',
        createdAt: at(1),
        updatedAt: at(1),
        id: newUser(1).id,
      },
      { name: 'Carol', createdAt: at(3), updatedAt: at(3), id: newUser(3).id },
    ]);
    assert.deepEqual(Object.keys(page.users[0] ?? {}), [
      'name',
      'email',
      'createdAt',
      'updatedAt',
      'id',
    ]);
  });
}
