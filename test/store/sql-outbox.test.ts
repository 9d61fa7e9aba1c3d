import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, sql } from 'kysely';
import pg from 'pg';
import { createStore } from '../../src/store/index.ts';
import type { SqlDatabase } from '../../src/store/sql/sql-schema.ts';
import { SYNC_BUSY_MS } from '../../src/store/sqlite/sqlite-busy.ts';
import { createSqliteEngine } from '../../src/store/sqlite/sqlite-engine.ts';
import { createPostgresEngine } from '../../src/store/postgres/postgres-engine.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';
import { id, newUser } from './contract-support.ts';

const OPTIONS = { poolMax: 1, connectTimeoutMs: 2000, statementTimeoutMs: 5000 };
const A = 'http://127.0.0.1:9/a';
const B = 'http://127.0.0.1:9/b';
const OWNER = 'worker-1';

interface Opened {
  store: UserStore;
  /** Runs SQL on the store's database through a connection of its own. */
  exec: (text: string) => Promise<void>;
}

async function sqlite(t: TestContext): Promise<Opened> {
  const dir = mkdtempSync(join(tmpdir(), 'sql-outbox-'));
  const file = join(dir, 'app.db');
  const store = await createStore({ url: `sqlite:${file}`, ...OPTIONS });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    store,
    exec: async (text) => {
      const db = new Database(file);
      try {
        db.exec(text);
      } finally {
        db.close();
      }
    },
  };
}

async function postgres(t: TestContext): Promise<Opened> {
  const database = await createTestDatabase();
  const store = await createStore({ url: database.url, ...OPTIONS });
  t.after(async () => {
    await store.close();
    await database.drop();
  });
  return {
    store,
    exec: async (text) => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    },
  };
}

/** A user's create event, fanned out to A and B and claimed on both by OWNER. */
async function claimedOnBoth(store: UserStore): Promise<number> {
  await store.migrate();
  await store.create(newUser(1));
  const now = new Date().toISOString();
  await store.outbox.fanOut({ endpoints: [A, B], now, limit: 10 });
  const claim = (endpoint: string) =>
    store.outbox.claim({ endpoint, owner: OWNER, limit: 10, now, leaseMs: 60_000 });
  const [a, b] = [await claim(A), await claim(B)];
  assert.equal(a.length, 1);
  assert.equal(b.length, 1);
  return a[0]!.event.sequence;
}

const REFUSE_B = {
  sqlite: `create trigger refuse_b before update on outbox_deliveries
    when new.endpoint = '${B}' and new.status = 'delivered'
    begin select raise(abort, 'refused by test'); end`,
  postgres: `create function refuse_b() returns trigger language plpgsql as $$
      begin raise exception 'refused by test'; end $$;
    create trigger refuse_b before update on outbox_deliveries for each row
      when (new.endpoint = '${B}' and new.status = 'delivered') execute function refuse_b()`,
};

const stores = [
  { kind: 'sqlite' as const, open: sqlite },
  ...((await postgresAvailability()).reachable
    ? [{ kind: 'postgres' as const, open: postgres }]
    : []),
];

for (const { kind, open } of stores) {
  test(`${kind} outbox — when completions of one turn are recorded and a later URL's update fails, then only that URL's delivery is told so, and the earlier one is settled`, async (t) => {
    const { store, exec } = await open(t);
    const sequence = await claimedOnBoth(store);
    await exec(REFUSE_B[kind]);
    const now = new Date().toISOString();
    // Asked in one turn, A first: one batch, A's group updated before B's.
    const [a, b] = await Promise.allSettled([
      store.outbox.complete({ endpoint: A, sequence }, { owner: OWNER, now }),
      store.outbox.complete({ endpoint: B, sequence }, { owner: OWNER, now }),
    ]);
    assert.deepEqual(a, { status: 'fulfilled', value: true });
    assert.equal(b.status, 'rejected');
    assert.match(String((b as PromiseRejectedResult).reason), /refused by test/);
    const [listing] = await store.outbox.list({ limit: 10 });
    const status = Object.fromEntries(listing!.deliveries.map((d) => [d.endpoint, d.status]));
    assert.deepEqual(status, { [A]: 'delivered', [B]: 'pending' });
  });
}

test('sqlite outbox — when completions arrive while the previous ones wait for the writer lock, then they join one update', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sql-outbox-'));
  const file = join(dir, 'app.db');
  const store = await createStore({ url: `sqlite:${file}`, ...OPTIONS });
  const holder = new Database(file, { timeout: 0 });
  t.after(async () => {
    holder.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.migrate();
  for (let n = 1; n <= 3; n++) await store.create(newUser(n));
  const now = new Date().toISOString();
  await store.outbox.fanOut({ endpoints: [A], now, limit: 10 });
  const claimed = await store.outbox.claim({
    endpoint: A,
    owner: OWNER,
    limit: 10,
    now,
    leaseMs: 60_000,
  });
  const [first, second, third] = claimed.map((d) => d.event.sequence);
  const at = (second: number) => `2030-01-01T00:00:0${second}.000Z`;
  const turns = () => new Promise((resolve) => setTimeout(resolve, 30));
  const complete = (sequence: number | undefined, when: string) =>
    store.outbox.complete({ endpoint: A, sequence: sequence! }, { owner: OWNER, now: when });
  holder.exec('begin immediate');
  const done = [complete(first, at(1))];
  await turns(); // the first update now waits for the lock
  done.push(complete(second, at(2)));
  await turns();
  done.push(complete(third, at(3)));
  await turns();
  holder.exec('commit');
  assert.deepEqual(await Promise.all(done), [true, true, true]);
  // One update records its completions at the latest of their times.
  const listing = await store.outbox.list({ limit: 10 });
  const delivered = new Map(listing.map((l) => [l.event.sequence, l.deliveries[0]?.deliveredAt]));
  assert.deepEqual(
    [first, second, third].map((sequence) => delivered.get(sequence!)),
    [at(1), at(3), at(3)],
  );
});

if (stores.some((s) => s.kind === 'postgres')) {
  test('postgres outbox — when a migration adds a column to outbox_deliveries, then the next claim on a pooled connection still succeeds', async (t) => {
    const { store, exec } = await postgres(t);
    const sequence = await claimedOnBoth(store);
    const now = new Date().toISOString();
    await store.outbox.complete({ endpoint: A, sequence }, { owner: OWNER, now });
    // The claim is prepared on the pool's one connection; a later release adds a column.
    await exec('alter table outbox_deliveries add column added_later text');
    await store.create(newUser(2));
    await store.outbox.fanOut({ endpoints: [A], now, limit: 10 });
    const claimed = await store.outbox.claim({
      endpoint: A,
      owner: OWNER,
      limit: 10,
      now: new Date().toISOString(),
      leaseMs: 60_000,
    });
    assert.equal(claimed.length, 1);
    assert.equal(claimed[0]!.event.type, 'user.created');
  });

  test('postgres outbox — when fan-outs outgrow what was last tidied, then the worker vacuums and analyzes the outbox tables itself, and again once the deliveries are settled, not at every fan-out', async (t) => {
    const database = await createTestDatabase();
    const store = await createStore({ url: database.url, ...OPTIONS, poolMax: 4 });
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    t.after(async () => {
      await client.end();
      await store.close();
      await database.drop();
    });
    // Manual VACUUMs and ANALYZEs only: autovacuum's are counted apart (autovacuum_count…).
    const counts = async () => {
      await client.query('select pg_stat_clear_snapshot()');
      const { rows } = await client.query<{
        relname: string;
        vacuum_count: string;
        analyze_count: string;
      }>(
        `select relname, vacuum_count, analyze_count from pg_stat_user_tables
         where relname in ('outbox_events', 'outbox_deliveries') order by relname`,
      );
      return rows.map((row) => `${row.relname} ${row.vacuum_count} ${row.analyze_count}`);
    };
    // The tidy runs beside the fan-out that asked for it: waited for, a few seconds at most.
    const tidied = async (expected: string[]) => {
      for (let waited = 0; waited < 10_000; waited += 50) {
        const now = await counts();
        if (now.join() === expected.join()) return now;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return counts();
    };
    await store.migrate();
    await Promise.all(Array.from({ length: 500 }, (_, i) => store.create(newUser(i))));
    const fanOut = () =>
      store.outbox.fanOut({ endpoints: [A, B], now: new Date().toISOString(), limit: 250 });
    assert.equal(await fanOut(), 250);
    assert.deepEqual(await counts(), ['outbox_deliveries 0 0', 'outbox_events 0 0'], '500 rows');
    assert.equal(await fanOut(), 250);
    const once = ['outbox_deliveries 1 1', 'outbox_events 1 1'];
    assert.deepEqual(await tidied(once), once, '1,000 rows');
    // The backlog delivered: statistics taken while it was pending would mislead the claim.
    const now = new Date().toISOString();
    for (const endpoint of [A, B]) {
      const claimed = await store.outbox.claim({
        endpoint,
        owner: OWNER,
        limit: 500,
        now,
        leaseMs: 60_000,
      });
      assert.equal(claimed.length, 500);
      await Promise.all(
        claimed.map((delivery) =>
          store.outbox.complete(
            { endpoint, sequence: delivery.event.sequence },
            { owner: OWNER, now },
          ),
        ),
      );
      if (endpoint === A) {
        assert.equal(await fanOut(), 0);
        assert.deepEqual(await counts(), once, '500 settled');
      }
    }
    assert.equal(await fanOut(), 0);
    const twice = ['outbox_deliveries 2 2', 'outbox_events 2 2'];
    assert.deepEqual(await tidied(twice), twice, '1,000 settled');
  });

  test('postgres outbox — when another worker is still fanning out a user’s earlier event, then that user’s later delivery waits for it, and other users’ deliveries are claimed meanwhile', async (t) => {
    const database = await createTestDatabase();
    const store = await createStore({ url: database.url, ...OPTIONS, poolMax: 2 });
    const other = new pg.Client({ connectionString: database.url });
    t.after(async () => {
      await store.close();
      await database.drop();
    });
    await store.migrate();
    await store.create(newUser(1));
    await store.create(newUser(2));
    await store.update(id(1), { name: 'renamed' }, { now: new Date().toISOString() });
    const now = new Date().toISOString();
    const fanOut = () => store.outbox.fanOut({ endpoints: [A], now, limit: 10 });
    const take = () =>
      store.outbox.claim({ endpoint: A, owner: OWNER, limit: 10, now, leaseMs: 60_000 });
    const claim = async () =>
      (await take()).map((d) => `${d.event.userId === id(1) ? 1 : 2} ${d.event.type}`);
    await other.connect();
    try {
      // The other worker's fan-out has picked (locked) user 1's create, the oldest event.
      await other.query('begin');
      await other.query(
        'select sequence from outbox_events where user_id = $1 order by sequence limit 1 for update',
        [id(1)],
      );
      assert.equal(await fanOut(), 2, 'user 2’s create and user 1’s update');
      assert.deepEqual(await claim(), ['2 user.created']);
      await other.query('rollback');
    } finally {
      await other.end();
    }
    assert.equal(await fanOut(), 1);
    const [first] = await take();
    assert.equal(first?.event.type, 'user.created');
    assert.equal(first?.event.userId, id(1));
    assert.deepEqual(await claim(), [], 'the update waits for the create’s delivery');
    await store.outbox.complete(
      { endpoint: A, sequence: first.event.sequence },
      { owner: OWNER, now },
    );
    assert.deepEqual(await claim(), ['1 user.updated']);
  });

  test('postgres outbox — when two workers fan out at once, then each event is fanned out by one of them, once per endpoint, and their counts add up', async (t) => {
    const database = await createTestDatabase();
    const open = () => createStore({ url: database.url, ...OPTIONS, poolMax: 2 });
    const [first, second] = [await open(), await open()];
    t.after(async () => {
      await first.close();
      await second.close();
      await database.drop();
    });
    await first.migrate();
    await Promise.all(Array.from({ length: 300 }, (_, i) => first.create(newUser(i))));
    const fanOut = (store: UserStore) =>
      store.outbox.fanOut({ endpoints: [A, B], now: new Date().toISOString(), limit: 200 });
    const counts = await Promise.all([fanOut(first), fanOut(second)]);
    const rest = await fanOut(first);
    assert.equal(counts[0] + counts[1] + rest, 300, `fanned ${counts.join(' + ')} + ${rest}`);
    assert.equal(await fanOut(second), 0);
    const stats = await first.outbox.stats();
    assert.equal(stats.unfannedEvents, 0);
    const listed = await first.outbox.list({ limit: 500 });
    assert.equal(listed.length, 300);
    for (const { event, deliveries } of listed)
      assert.deepEqual(
        deliveries.map((d) => `${d.endpoint} ${d.status} ${d.attempts}`).sort(),
        [`${A} pending 0`, `${B} pending 0`],
        `event ${event.sequence}`,
      );
  });
}

test('sqlite outbox — the worker’s bookkeeping commits without waiting for the disk nor blocking for the lock, and the connection does both again after, even when the bookkeeping failed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sql-outbox-'));
  const engine = createSqliteEngine({
    filename: join(dir, 'app.db'),
    busyTimeoutMs: 1000,
    queryTimeoutMs: 1000,
  });
  const db = new Kysely<SqlDatabase>({ dialect: engine.dialect });
  t.after(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const level = async (on: Kysely<SqlDatabase>) =>
    Number(
      (await sql<{ synchronous: number }>`pragma synchronous`.execute(on)).rows[0]?.synchronous,
    );
  const busy = async (on: Kysely<SqlDatabase>) =>
    Number((await sql<{ timeout: number }>`pragma busy_timeout`.execute(on)).rows[0]?.timeout);
  const bookkeeping = engine.bookkeeping!;
  // 2 is FULL (a commit waits for fsync), 1 NORMAL.
  assert.equal(await level(db), 2);
  assert.equal(await bookkeeping(db, level), 1);
  assert.equal(await level(db), 2);
  // SQLite's own handler blocks the thread for at most SYNC_BUSY_MS; never in the bookkeeping.
  assert.equal(await busy(db), SYNC_BUSY_MS);
  assert.equal(await bookkeeping(db, busy), 0);
  assert.equal(await busy(db), SYNC_BUSY_MS);
  await assert.rejects(
    bookkeeping(db, (on) =>
      on.transaction().execute(async (trx) => {
        await sql`create table refused (a)`.execute(trx);
        throw new Error('refused');
      }),
    ),
    /refused/,
  );
  assert.equal(await level(db), 2);
  assert.equal(await busy(db), SYNC_BUSY_MS);
  // A write that arrives meanwhile waits for the bookkeeping's end, then commits durably.
  let release: (() => void) | undefined;
  const held = bookkeeping(db, () => new Promise<void>((resolve) => (release = resolve)));
  while (!release) await new Promise((resolve) => setTimeout(resolve, 5));
  const write = db.transaction().execute(async (trx) => level(trx));
  await new Promise((resolve) => setTimeout(resolve, 20));
  release();
  await held;
  assert.equal(await write, 2);
});

if (stores.some((s) => s.kind === 'postgres')) {
  test('postgres outbox — the worker’s bookkeeping statements commit without waiting for the WAL’s flush, the store’s writes still wait, and closing ends both pools', async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const engine = createPostgresEngine({ url: database.url, ...OPTIONS, poolMax: 2 });
    const db = new Kysely<SqlDatabase>({ dialect: engine.dialect });
    const setting = CompiledQuery.raw(`select current_setting('synchronous_commit') as value`);
    const value = (rows: unknown[]) => (rows as { value: string }[])[0]?.value;
    assert.equal(value(await engine.bookkeepingStatement!(setting)), 'off');
    assert.equal(value(await engine.writeStatement!(setting)), 'on');
    assert.equal(
      (await sql<{ value: string }>`${sql.raw(setting.sql)}`.execute(db)).rows[0]?.value,
      'on',
    );
    await db.destroy();
    await engine.close?.();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      // A backend leaves pg_stat_activity a moment after its client hung up.
      const open = async () => {
        await client.query('select pg_stat_clear_snapshot()');
        const { rows } = await client.query<{ open: number }>(
          `select count(*)::int as open from pg_stat_activity
           where datname = current_database() and pid <> pg_backend_pid()`,
        );
        return rows[0]?.open;
      };
      for (let i = 0; i < 100 && (await open()) !== 0; i++) await sleep(20);
      assert.equal(await open(), 0, 'no connection left open');
    } finally {
      await client.end();
    }
  });

  test('postgres outbox — when another worker vacuumed the outbox since this one last tidied, then its tidy is skipped; when none did, it vacuums', async (t) => {
    const database = await createTestDatabase();
    const store = await createStore({ url: database.url, ...OPTIONS, poolMax: 2 });
    await store.migrate();
    await store.close();
    // Two workers' engines on one database.
    const engines = [0, 1].map(() =>
      createPostgresEngine({ url: database.url, ...OPTIONS, poolMax: 2 }),
    );
    const dbs = engines.map((engine) => new Kysely<SqlDatabase>({ dialect: engine.dialect }));
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    t.after(async () => {
      await client.end();
      await Promise.all(dbs.map((db) => db.destroy()));
      await database.drop();
    });
    const vacuums = async () => {
      await client.query('select pg_stat_clear_snapshot()');
      const { rows } = await client.query<{ n: string }>(
        `select vacuum_count as n from pg_stat_user_tables where relname = 'outbox_deliveries'`,
      );
      return Number(rows[0]?.n);
    };
    const tidy = (i: number) => engines[i]!.tidyOutbox!(dbs[i]!);
    await tidy(0);
    assert.equal(await vacuums(), 1, 'the first tidy of a worker vacuums');
    await tidy(1);
    assert.equal(await vacuums(), 2, 'so does the other’s first: it has seen no VACUUM yet');
    await tidy(0);
    assert.equal(await vacuums(), 2, 'the other worker vacuumed since: skipped');
    await tidy(1);
    assert.equal(await vacuums(), 3, 'its own VACUUM was the last: it vacuums');
    await tidy(1);
    assert.equal(await vacuums(), 4);
    await tidy(0);
    assert.equal(await vacuums(), 4, 'skipped while the other keeps the tables tidy');
    await tidy(0);
    assert.equal(await vacuums(), 5, 'and vacuums when the other has not since');
  });
}
