import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { createStore } from '../../src/store/index.ts';
import { parseSqliteUrl } from '../../src/store/sqlite/sqlite-url.ts';
import { createSqliteEngine } from '../../src/store/sqlite/sqlite-engine.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import { parseListQuery } from '../../src/users/query.ts';
import { runUserStoreContract } from './contract.ts';
import { at, id, newUser, rejectsWith } from './contract-support.ts';

const OPTIONS = { poolMax: 1, connectTimeoutMs: 2000, statementTimeoutMs: 5000 };

function tempDir(): { dir: string; cleanup: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 't12f-sqlite-'));
  return { dir, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

const WRITER = fileURLToPath(new URL('./fixtures/sqlite-writer.ts', import.meta.url));

function runWriter(url: string, updates: number): Promise<unknown> {
  return promisify(execFile)(process.execPath, [WRITER, url, String(updates)], { timeout: 30_000 });
}

async function fileStore(t: TestContext, path: string): Promise<UserStore> {
  const store = await createStore({ url: `sqlite:${path}`, ...OPTIONS });
  t.after(() => store.close());
  return store;
}

runUserStoreContract('sqlite (file)', async () => {
  const { dir, cleanup } = tempDir();
  return {
    store: await createStore({ url: `sqlite:${join(dir, 'app.db')}`, ...OPTIONS }),
    cleanup,
  };
});

runUserStoreContract('sqlite (:memory:)', async () => ({
  store: await createStore({ url: 'sqlite::memory:', ...OPTIONS }),
}));

test('sqlite — when a file store is opened, then the journal is in WAL mode', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'app.db');
  const store = await fileStore(t, path);
  await store.migrate();
  const db = new Database(path, { readonly: true });
  t.after(() => db.close());
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
});

test("sqlite — when the file's parent directory is missing, then it is created on first use", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'nested', 'deeper', 'app.db');
  const store = await fileStore(t, path);
  assert.equal(existsSync(join(dir, 'nested')), false, 'creating the store touches nothing');
  await store.ping();
  assert.ok(existsSync(path));
});

test('sqlite — when the file cannot be created, then createStore still works and calls throw STORE_UNAVAILABLE', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFileSync(join(dir, 'a-file'), '');
  const store = await fileStore(t, join(dir, 'a-file', 'app.db'));
  await rejectsWith(store.ping(), 'STORE_UNAVAILABLE');
  await rejectsWith(store.migrationStatus(), 'STORE_UNAVAILABLE');
});

test('sqlite — when two processes migrate one file at once, then both succeed', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const url = `sqlite:${join(dir, 'app.db')}`;
  await Promise.all([runWriter(url, 0), runWriter(url, 0)]);
  const store = await createStore({ url, ...OPTIONS });
  t.after(() => store.close());
  assert.deepEqual((await store.migrationStatus()).pending, []);
});

test('sqlite — when two processes update one record at once, then every write applies in turn', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const url = `sqlite:${join(dir, 'app.db')}`;
  const store = await createStore({ url, ...OPTIONS });
  t.after(() => store.close());
  await store.migrate();
  await store.create(newUser(1));
  await Promise.all([runWriter(url, 200), runWriter(url, 200)]);
  // Enough overlapping read-then-write transactions that a deferred BEGIN fails with
  // SQLITE_BUSY; all in one millisecond, so each write moved updatedAt on by exactly 1 ms.
  assert.equal((await store.get(id(1)))?.updatedAt, at(5, 399));
});

test('sqlite — when parsing sqlite: URLs, then relative, absolute and in-memory forms name the file', () => {
  assert.equal(parseSqliteUrl('sqlite:./data/app.db'), './data/app.db');
  assert.equal(parseSqliteUrl('sqlite:data/app.db'), 'data/app.db');
  assert.equal(parseSqliteUrl('sqlite:/abs/path.db'), '/abs/path.db');
  assert.equal(parseSqliteUrl('sqlite:///abs/path.db'), '/abs/path.db');
  assert.equal(parseSqliteUrl('sqlite::memory:'), ':memory:');
  assert.equal(parseSqliteUrl('SQLITE:./app.db?mode=rwc'), './app.db');
  assert.throws(() => parseSqliteUrl('sqlite:'), /names no file/);
  assert.throws(() => parseSqliteUrl('postgres://x'), /starts with "sqlite:"/);
});

test('sqlite — when a write transaction is open, then a direct read stands aside instead of seeing its rows', async (t) => {
  const engine = createSqliteEngine({
    filename: ':memory:',
    busyTimeoutMs: 1000,
    queryTimeoutMs: 10_000,
  });
  const db = new Kysely<Record<string, never>>({ dialect: engine.dialect });
  t.after(() => db.destroy());
  const read = engine.read!;
  assert.equal(read(sql`select 1`.compile(db)), undefined, 'before the file opens, Kysely reads');
  await sql`create table t (v integer)`.execute(db);
  const count = sql<{ n: number }>`select count(*) as n from t`.compile(db);
  assert.deepEqual(read(count), [{ n: 0 }]);
  await db.transaction().execute(async (trx) => {
    await sql`insert into t values (1)`.execute(trx);
    assert.equal(read(count), undefined, 'uncommitted rows are never read around the lock');
  });
  assert.deepEqual(read(count), [{ n: 1 }]);
});

test('sqlite — when name_key is added to a file with users, then they match as if written since', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'app.db');
  const store = await fileStore(t, path);
  await store.migrate();
  // Back to before name_key, however many migrations came after it.
  let status = await store.rollback();
  while (!status.pending.includes('0004-add-name-key') && status.applied.length > 0)
    status = await store.rollback();
  assert.ok(status.pending.includes('0004-add-name-key'), JSON.stringify(status));
  const db = new Database(path);
  const insert = db.prepare(
    `insert into users (id, name, email, email_key, created_at, updated_at) values (?, ?, null, null, ?, ?)`,
  );
  for (let n = 1; n <= 2500; n++)
    insert.run(id(n), n === 1234 ? 'ÉLODIE Ωmega' : `user ${n}`, at(0), at(0));
  db.close();
  await store.migrate();
  const page = await store.list(parseListQuery({ where: '{"name":{"contains":"élodie ω"}}' }));
  assert.deepEqual(
    page.users.map((u) => u.id),
    [id(1234)],
  );
  const all = await store.list(parseListQuery({ where: '{"name":{"startsWith":"USER"}}' }));
  assert.equal(all.total, 2499);
});

test('sqlite — when a release older than name_key inserts and renames users, then matching finds them by their current names', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const path = join(dir, 'app.db');
  const store = await fileStore(t, path);
  await store.migrate();
  await store.create(newUser(1, { name: 'Alice Walker' }));
  await store.create(newUser(2, { name: 'Bob Stone' }));
  // The older release's own connection and statements: they never name name_key.
  const old = new Database(path);
  old
    .prepare(
      `insert into users (id, name, email, email_key, created_at, updated_at) values (?, ?, null, null, ?, ?)`,
    )
    .run(id(3), 'ÉLODIE Ωmega', at(0), at(0));
  old
    .prepare(`update users set name = ?, updated_at = ? where id = ?`)
    .run('Zoé Quinn', at(1), id(1));
  old.close();
  const names = async (where: string) =>
    (await store.list(parseListQuery({ where, sort: 'id ASC' }))).users.map((u) => u.id);
  assert.deepEqual(await names('{"name":{"contains":"élodie ω"}}'), [id(3)]);
  assert.deepEqual(await names('{"name":{"startsWith":"ZOÉ"}}'), [id(1)]);
  assert.deepEqual(await names('{"name":{"contains":"walker"}}'), [], 'the old name is gone');
  assert.deepEqual(await names('{"name":{"endsWith":"STONE"}}'), [id(2)]);
  // The next migrate folds those rows as a write of this release would.
  await store.migrate();
  const check = new Database(path, { readonly: true });
  t.after(() => check.close());
  assert.deepEqual(check.prepare('select id, name_key as key from users order by id').all(), [
    { id: id(1), key: 'zoé quinn' },
    { id: id(2), key: 'bob stone' },
    { id: id(3), key: 'élodie ωmega' },
  ]);
  assert.deepEqual(await names('{"name":{"contains":"élodie ω"}}'), [id(3)]);
});

test('sqlite — when a text match must scan many slices, then total, page and order are those of one full scan', async (t) => {
  const store = await createStore({ url: 'sqlite::memory:', ...OPTIONS });
  t.after(() => store.close());
  await store.migrate();
  // 24,000 users over twelve slices: every third is a `Match`, and the 16,000 others match
  // `startsWith: u`, past the 10,000 candidates a scanning list keeps, so its candidates are
  // ranked several times along the scan.
  const users = Array.from({ length: 24_000 }, (_, i) =>
    newUser(i + 1, { name: i % 3 === 0 ? `Match ${24_000 - i}` : `user ${(i * 7919) % 24_000}` }),
  );
  await store.importMany(users, { mode: 'skip', events: false });
  const byName = (a: { name: string }, b: { name: string }) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  const few = await store.list(
    parseListQuery({
      where: '{"name":{"contains":"MATCH"}}',
      sort: 'name ASC',
      limit: '3',
      skip: '1',
    }),
  );
  const fewExpected = users.filter((u) => u.name.startsWith('Match')).sort(byName);
  assert.equal(few.total, fewExpected.length);
  assert.deepEqual(
    few.users.map((u) => u.name),
    fewExpected.slice(1, 4).map((u) => u.name),
  );
  const many = users.filter((u) => u.name.startsWith('user'));
  assert.ok(many.length > 10_000);
  const deep = await store.list(
    parseListQuery({
      where: '{"name":{"startsWith":"u"}}',
      sort: 'name DESC',
      limit: '20',
      skip: '9980',
    }),
  );
  assert.equal(deep.total, many.length);
  assert.deepEqual(
    deep.users.map((u) => u.id),
    many
      .sort(byName)
      .reverse()
      .slice(9980, 10_000)
      .map((u) => u.id),
  );
  const last = await store.list(
    parseListQuery({ where: '{"name":{"startsWith":"u"}}', sort: 'id DESC', limit: '2' }),
  );
  assert.deepEqual(
    last.users.map((u) => u.id),
    many
      .map((u) => u.id)
      .sort()
      .reverse()
      .slice(0, 2),
  );
});

test('sqlite — when a scanning list reaches past 10,000 rows, then it is refused as past the query budget', async (t) => {
  const store = await createStore({ url: 'sqlite::memory:', ...OPTIONS });
  t.after(() => store.close());
  await store.migrate();
  await store.create(newUser(1));
  await rejectsWith(
    store.list(parseListQuery({ where: '{"name":{"!":"x"}}', skip: '9991', limit: '10' })),
    'QUERY_TOO_COMPLEX',
  );
  // An index finds the rows: nothing to keep across slices, any skip is answered.
  const keyed = await store.list(
    parseListQuery({ where: JSON.stringify({ id: [id(1)] }), skip: '900000' }),
  );
  assert.deepEqual(keyed, { users: [], total: 1 });
});

test('sqlite — when a scanning list passes the statement timeout, then it is abandoned with STORE_UNAVAILABLE', async (t) => {
  const store = await createStore({ url: 'sqlite::memory:', ...OPTIONS, statementTimeoutMs: 1 });
  t.after(() => store.close());
  await store.migrate();
  await store.importMany(
    Array.from({ length: 20_000 }, (_, i) => newUser(i + 1)),
    { mode: 'skip', events: false },
  );
  await rejectsWith(
    store.list(parseListQuery({ where: '{"name":{"contains":"nobody"}}' })),
    'STORE_UNAVAILABLE',
  );
  assert.equal((await store.get(id(7)))?.id, id(7), 'the store still answers');
});

test('sqlite — when a scanning list runs, then a read sent after it is answered before it ends', async (t) => {
  const store = await createStore({ url: 'sqlite::memory:', ...OPTIONS });
  t.after(() => store.close());
  await store.migrate();
  await store.importMany(
    Array.from({ length: 20_000 }, (_, i) => newUser(i + 1)),
    { mode: 'skip', events: false },
  );
  const order: string[] = [];
  const listing = store
    .list(parseListQuery({ where: '{"name":{"contains":"nobody"}}' }))
    .finally(() => order.push('list'));
  const reading = store.get(id(7)).finally(() => order.push('get'));
  assert.equal((await listing).total, 0);
  assert.equal((await reading)?.id, id(7));
  assert.deepEqual(order, ['get', 'list'], 'the event loop turned between slices');
});
