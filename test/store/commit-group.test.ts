import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Kysely, sql, type Transaction } from 'kysely';
import { CommitGroup } from '../../src/store/sql/sql-commit-group.ts';
import type { SqlDatabase } from '../../src/store/sql/sql-schema.ts';
import { createSqliteEngine } from '../../src/store/sqlite/sqlite-engine.ts';

async function openDb(t: TestContext): Promise<Kysely<SqlDatabase>> {
  const engine = createSqliteEngine({
    filename: ':memory:',
    busyTimeoutMs: 1000,
    queryTimeoutMs: 10_000,
  });
  const db = new Kysely<SqlDatabase>({ dialect: engine.dialect });
  t.after(() => db.destroy());
  await sql`create table parent (id integer primary key)`.execute(db);
  await sql`create table t (v text not null, parent integer references parent (id) deferrable initially deferred)`.execute(
    db,
  );
  return db;
}

const insert = (trx: Transaction<SqlDatabase>, v: string, parent: number | null = null) =>
  sql`insert into t (v, parent) values (${v}, ${parent})`.execute(trx);

const stored = async (db: Kysely<SqlDatabase>) =>
  (await sql<{ v: string }>`select v from t order by v`.execute(db)).rows.map((row) => row.v);

test('commit group — when writes arrive together, then they share one transaction and each gets its own outcome', async (t) => {
  const db = await openDb(t);
  const group = new CommitGroup(db);
  let transactions = 0;
  const counted = async (trx: Transaction<SqlDatabase>) => {
    // A group's writes run one after another in one transaction: the first sees none of the rest.
    if ((await stored(trx)).length === 0) transactions++;
  };
  const outcomes = await Promise.allSettled([
    group.run(async (trx) => (await counted(trx), await insert(trx, 'a'), 'a')),
    group.run(async (trx) => {
      await insert(trx, 'half');
      throw new Error('fails after writing');
    }),
    group.run(async (trx) => (await insert(trx, 'c'), 'c')),
  ]);
  assert.deepEqual(
    outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message)),
    ['a', 'fails after writing', 'c'],
  );
  assert.equal(transactions, 1);
  assert.deepEqual(await stored(db), ['a', 'c'], 'the failed write is rolled back alone, whole');
});

test('commit group — when the shared COMMIT fails, then every write of the group fails and none is stored', async (t) => {
  const db = await openDb(t);
  const group = new CommitGroup(db);
  const outcomes = await Promise.allSettled([
    group.run((trx) => insert(trx, 'a')),
    // Checked only at COMMIT: a reference to a parent that does not exist.
    group.run((trx) => insert(trx, 'orphan', 42)),
  ]);
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['rejected', 'rejected'],
  );
  assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /FOREIGN KEY/);
  assert.deepEqual(await stored(db), []);
  assert.equal(await group.run((trx) => insert(trx, 'later').then(() => 'ok')), 'ok');
  assert.deepEqual(await stored(db), ['later']);
});

test('commit group — when more writes wait than one group takes, then the rest commit in the next turn', async (t) => {
  const db = await openDb(t);
  const group = new CommitGroup(db);
  const values = Array.from({ length: 300 }, (_, n) => `v${String(n).padStart(3, '0')}`);
  await Promise.all(values.map((v) => group.run((trx) => insert(trx, v))));
  assert.deepEqual(await stored(db), values);
});
