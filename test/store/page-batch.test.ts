import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Kysely, type CompiledQuery } from 'kysely';
import { createStore } from '../../src/store/index.ts';
import { createPostgresEngine } from '../../src/store/postgres/postgres-engine.ts';
import { listStatements } from '../../src/store/sql/sql-list-query.ts';
import { BATCHED_REACH_MAX, PageBatch } from '../../src/store/sql/sql-page-batch.ts';
import { toUser } from '../../src/store/sql/sql-record-statements.ts';
import type { SqlDatabase } from '../../src/store/sql/sql-schema.ts';
import { parseListQuery } from '../../src/users/query.ts';
import type { ListQuery } from '../../src/users/list-query.ts';
import type { Page } from '../../src/users/user-store.ts';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';
import { at, newUser } from './contract-support.ts';

const availability = await postgresAvailability();

/**
 * Characters JSON escapes, and some it leaves as they are (non-ASCII, astral, U+2028, DEL): a
 * record the API refuses to write, but an older release or a hand-made row may hold.
 */
const ESCAPED = 'q"uote \\back \t\n\r\b\f \u0001\u001f é 😀 \u2028 \u007f /';

/**
 * 45 users, a third without an e-mail, created out of id order, several sharing a name, some with
 * characters JSON escapes, and timestamps with whole seconds and early years.
 */
const USERS = Array.from({ length: 45 }, (_, i) =>
  newUser(i + 1, {
    name: i % 7 === 0 ? 'Same' : i % 5 === 1 ? `${ESCAPED} ${i}` : `user ${(i * 17) % 45}`,
    ...(i % 3 === 0 ? {} : { email: `u${(i * 11) % 45}@example.com` }),
    createdAt:
      i === 4
        ? '0042-01-01T00:00:00.000Z'
        : i === 8
          ? '2017-02-13T06:13:53.000Z'
          : at((i * 29) % 45, i),
  }),
);

const PARAMS: Record<string, string>[] = [
  {},
  { limit: '1' },
  { limit: '10', skip: '5' },
  { limit: '10', skip: '5' },
  { limit: '1000' },
  { limit: '5', skip: '44' },
  { limit: '5', skip: '45' },
  { limit: '5', skip: '2000' },
  { sort: 'email ASC', limit: '7' },
  { sort: 'email DESC', limit: '7', skip: '12' },
  { sort: 'name ASC', limit: '9', skip: '3' },
  { sort: 'createdAt DESC', limit: '20' },
  { sort: 'updatedAt ASC', skip: '40' },
];

/** A migrated database holding USERS, and a Kysely on it that reads without the store. */
async function seeded(t: TestContext) {
  const database = await createTestDatabase();
  const options = {
    url: database.url,
    poolMax: 4,
    connectTimeoutMs: 5000,
    statementTimeoutMs: 5000,
  };
  const store = await createStore(options);
  const engine = createPostgresEngine(options);
  const db = new Kysely<SqlDatabase>({ dialect: engine.dialect });
  t.after(async () => {
    await store.close();
    await db.destroy();
    await database.drop();
  });
  await store.migrate();
  for (const user of USERS) await store.create(user);
  /** The page as the unbatched statements read it, one statement for the page and one to count. */
  const alone = async (query: ListQuery): Promise<Page> => {
    const statements = listStatements(db, query);
    const rows = await statements.rows.execute();
    const { total } = await statements.count.executeTakeFirstOrThrow();
    return { users: rows.map(toUser), total: Number(total) };
  };
  return { store, engine, db, alone };
}

if (availability.reachable) {
  test('postgres — when pages of several orders and bounds are asked in one turn, then each is the page its own statements read, with its count', async (t) => {
    const { store, alone } = await seeded(t);
    const queries = PARAMS.map((params) => parseListQuery(params));
    const together = await Promise.all(queries.map((query) => store.list(query)));
    for (const [i, query] of queries.entries()) {
      const expected = await alone(query);
      assert.deepEqual(together[i], expected, JSON.stringify(PARAMS[i]));
      // A batched page is printed by the engine, byte for byte as JSON.stringify prints the
      // records read alone; a page that reaches too far is read as rows, as before.
      const batched = query.skip + query.limit <= BATCHED_REACH_MAX;
      assert.equal(
        together[i]!.json,
        batched ? JSON.stringify(expected.users) : undefined,
        JSON.stringify(PARAMS[i]),
      );
    }
    // And the records printed as a lone read by id prints them.
    assert.deepEqual(together[4]!.users[0], await store.get(together[4]!.users[0]!.id));
  });

  test('postgres — when more pages arrive in one turn than one statement takes, then they take several, and each caller gets its own page', async (t) => {
    const { engine, db, alone } = await seeded(t);
    const statements: string[] = [];
    const batch = new PageBatch(db, engine.pageBounds!, async (query: CompiledQuery<unknown>) => {
      statements.push(query.sql);
      return (await engine.read!(query))!;
    });
    const queries = Array.from({ length: 70 }, (_, i) =>
      parseListQuery({ limit: String(1 + (i % 4)), skip: String(i % 50) }),
    );
    const pages = await Promise.all(queries.map((query) => batch.page(query)!));
    assert.equal(statements.length, 3, 'pages of one order, 32 a statement');
    for (const [i, query] of queries.entries()) {
      const expected = await alone(query);
      assert.deepEqual(pages[i], expected);
      assert.equal(pages[i]!.json, JSON.stringify(expected.users));
    }
    // Two orders in one turn: one statement each.
    statements.length = 0;
    await Promise.all([
      batch.page(parseListQuery({ sort: 'name DESC' })),
      batch.page(parseListQuery({})),
      batch.page(parseListQuery({ skip: '3' })),
    ]);
    assert.equal(statements.length, 2);
  });

  test('postgres — when a page has a filter or reaches far, then the batch leaves it to the caller', async (t) => {
    const { engine, db } = await seeded(t);
    const batch = new PageBatch(
      db,
      engine.pageBounds!,
      async (query) => (await engine.read!(query))!,
    );
    assert.equal(batch.page(parseListQuery({ name: 'Same' })), undefined);
    assert.equal(batch.page(parseListQuery({ limit: '1000', skip: '1001' })), undefined);
    const farthest = batch.page(parseListQuery({ limit: '1000', skip: '1000' }));
    assert.deepEqual(await farthest, { users: [], total: USERS.length });
  });

  test('postgres — when the statement of a batch fails, then every page of it fails with that error', async (t) => {
    const { engine, db } = await seeded(t);
    const failure = new Error('connection lost');
    const batch = new PageBatch(db, engine.pageBounds!, async () => {
      throw failure;
    });
    const outcomes = await Promise.allSettled(
      [{}, { skip: '3' }, { sort: 'name DESC' }].map((params) =>
        batch.page(parseListQuery(params)),
      ),
    );
    assert.deepEqual(outcomes, [
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
  });
}
