import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { createStore } from '../../src/store/index.ts';
import { eventPayload } from '../../src/store/user-event-records.ts';
import { listStatements } from '../../src/store/sql/sql-list-query.ts';
import type { SqlDatabase } from '../../src/store/sql/sql-schema.ts';
import { isDomainError } from '../../src/users/errors.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import type { User } from '../../src/users/user.ts';
import type { UserEventType } from '../../src/users/user-events.ts';
import { parseListQuery } from '../../src/users/query.ts';
import {
  adminQuery,
  createTestDatabase,
  postgresAvailability,
  type TestDatabase,
} from '../support/postgres.ts';
import { runUserStoreContract } from './contract.ts';
import { at, id, newUser, rejectsWith } from './contract-support.ts';

const OPTIONS = { poolMax: 4, connectTimeoutMs: 2000, statementTimeoutMs: 5000 };

const availability = await postgresAvailability();

async function openStore(
  t: TestContext,
  onBackgroundError?: (error: unknown) => void,
): Promise<{ store: UserStore; database: TestDatabase }> {
  const database = await createTestDatabase();
  const store = await createStore({ url: database.url, ...OPTIONS, onBackgroundError });
  t.after(async () => {
    await store.close();
    await database.drop();
  });
  return { store, database };
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

if (availability.reachable) {
  runUserStoreContract('postgres', async () => {
    const database = await createTestDatabase();
    return { store: await createStore({ url: database.url, ...OPTIONS }), cleanup: database.drop };
  });

  test('postgres — when migrated, then text columns use the "C" collation and timestamps keep milliseconds', async (t) => {
    const { store, database } = await openStore(t);
    await store.migrate();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client
      .query(
        `SELECT column_name, data_type, collation_name, datetime_precision
         FROM information_schema.columns WHERE table_name = 'users'`,
      )
      .finally(() => client.end());
    const byName = Object.fromEntries(rows.map((row) => [row.column_name, row]));
    for (const column of ['id', 'name', 'email', 'email_key'])
      assert.equal(byName[column]?.collation_name, 'C', column);
    for (const column of ['created_at', 'updated_at']) {
      assert.equal(byName[column]?.data_type, 'timestamp with time zone');
      assert.equal(byName[column]?.datetime_precision, 3);
    }
  });

  /**
   * The plan of the page query (with its count) the store itself builds for `where` (listStatements, compiled by
   * Kysely with its parameters), not hand-written SQL.
   */
  async function plan(url: string, where: string): Promise<string> {
    const db = new Kysely<SqlDatabase>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }),
    });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const query = listStatements(db, parseListQuery({ where })).page.compile();
      // Few rows: make the planner show whether an index can serve the condition at all.
      await client.query('SET enable_seqscan = off');
      const { rows } = await client.query(`EXPLAIN ${query.sql}`, [...query.parameters]);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    } finally {
      await client.end();
      await db.destroy();
    }
  }

  test('postgres — when migrated where pg_trgm is offered, then contains and startsWith use indexes, and rows older than name_key are folded', async (t) => {
    const { store, database } = await openStore(t);
    await store.migrate();
    for (const field of ['name', 'email']) {
      const index = new RegExp(`users_${field}_key_trgm`);
      const contains = await plan(database.url, `{"${field}":{"contains":"Bingo"}}`);
      assert.match(contains, index);
      assert.doesNotMatch(contains, /Seq Scan/, 'rows with an unset key come from an index too');
      // A prefix may also be served by a B-tree ("C" collation): any index, never a scan.
      const prefix = await plan(database.url, `{"${field}":{"startsWith":"bin"}}`);
      assert.doesNotMatch(prefix, /Seq Scan/);
    }
    // Back to before name_key, however many migrations came after it.
    let status = await store.rollback();
    while (!status.pending.includes('0004-add-name-key') && status.applied.length > 0)
      status = await store.rollback();
    assert.ok(status.pending.includes('0004-add-name-key'));
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT indexname FROM pg_indexes WHERE tablename = 'users' AND indexname LIKE '%trgm'`,
      );
      assert.deepEqual(rows, [], 'rollback drops the trigram indexes');
      // Rows written before the column existed: the migration folds them as a write would.
      await client.query(
        `INSERT INTO users (id, name, created_at, updated_at)
         SELECT lpad(to_hex(n), 24, '0'), CASE WHEN n = 1234 THEN 'ÉLODIE Ωmega' ELSE 'user ' || n END,
                now(), now()
         FROM generate_series(1, 2500) AS n`,
      );
    } finally {
      await client.end();
    }
    await store.migrate();
    const found = await store.list(parseListQuery({ where: '{"name":{"contains":"élodie ω"}}' }));
    assert.deepEqual(
      found.users.map((u) => u.id),
      [id(1234)],
    );
    const all = await store.list(parseListQuery({ where: '{"name":{"startsWith":"USER"}}' }));
    assert.equal(all.total, 2499);
  });

  test('postgres — when a release older than name_key inserts and renames users, then matching finds them by their current names', async (t) => {
    const { store, database } = await openStore(t);
    await store.migrate();
    await store.create(newUser(1, { name: 'Alice Walker' }));
    await store.create(newUser(2, { name: 'Bob Stone' }));
    await store.create(newUser(4, { name: 'Dana Ross' }));
    // The older release's statements: they never name name_key.
    const old = new pg.Client({ connectionString: database.url });
    await old.connect();
    const keys = async () =>
      (await old.query('SELECT id, name_key AS key FROM users ORDER BY id')).rows;
    try {
      await old.query(
        `INSERT INTO users (id, name, created_at, updated_at) VALUES ($1, 'ÉLODIE Ωmega', now(), now())`,
        [id(3)],
      );
      await old.query(`UPDATE users SET name = 'Zoé Quinn', updated_at = now() WHERE id = $1`, [
        id(1),
      ]);
      await old.query(`UPDATE users SET name = 'DANA ROSS' WHERE id = $1`, [id(4)]);
      // JavaScript folds İ to i + U+0307; only a full Unicode case mapping (ICU) does the same.
      await old.query(
        `INSERT INTO users (id, name, created_at, updated_at) VALUES ($1, 'İSTANBUL', now(), now())`,
        [id(5)],
      );
      const names = async (where: string) =>
        (await store.list(parseListQuery({ where, sort: 'id ASC' }))).users.map((u) => u.id);
      assert.deepEqual(await names('{"name":{"contains":"élodie ω"}}'), [id(3)]);
      assert.deepEqual(await names('{"name":{"startsWith":"ZOÉ"}}'), [id(1)]);
      assert.deepEqual(await names('{"name":{"contains":"walker"}}'), [], 'the old name is gone');
      assert.deepEqual(await names('{"name":{"endsWith":"STONE"}}'), [id(2)]);
      assert.deepEqual(await names('{"name":{"like":"dana%"}}'), [id(4)]);
      assert.deepEqual(await names('{"name":{"startsWith":"İst"}}'), [id(5)]);
      // The next migrate folds those rows as a write of this release would.
      await store.migrate();
      assert.deepEqual(await keys(), [
        { id: id(1), key: 'zoé quinn' },
        { id: id(2), key: 'bob stone' },
        { id: id(3), key: 'élodie ωmega' },
        { id: id(4), key: 'dana ross' },
        { id: id(5), key: 'İSTANBUL'.toLowerCase() },
      ]);
      assert.deepEqual(await names('{"name":{"contains":"élodie ω"}}'), [id(3)]);
    } finally {
      await old.end();
    }
  });

  test('postgres — when the role may not create pg_trgm, then the migration still succeeds with a prefix index', async (t) => {
    const database = await createTestDatabase();
    const role = `${database.name}_owner`;
    await adminQuery(`CREATE ROLE ${role} LOGIN`);
    // Owner of the schema but without CREATE on the database: CREATE EXTENSION is refused.
    const setup = new pg.Client({ connectionString: database.url });
    await setup.connect();
    await setup.query(`ALTER SCHEMA public OWNER TO ${role}`).finally(() => setup.end());
    const url = new URL(database.url);
    url.username = role;
    const store = await createStore({ url: url.toString(), ...OPTIONS });
    t.after(async () => {
      await store.close();
      await database.drop();
      await adminQuery(`DROP ROLE IF EXISTS ${role}`);
    });
    const status = await store.migrate();
    assert.deepEqual(status.pending, []);
    assert.match(
      await plan(database.url, '{"name":{"startsWith":"bin"}}'),
      /users_name_key_prefix/,
    );
    await store.create(newUser(1, { name: 'Bingo' }));
    const page = await store.list(parseListQuery({ where: '{"name":{"contains":"ING"}}' }));
    assert.deepEqual(
      page.users.map((u) => u.id),
      [id(1)],
    );
  });

  test('postgres — when the server terminates the pooled backends, then the pool reports it and recovers without crashing', async (t) => {
    const background: unknown[] = [];
    const { store, database } = await openStore(t, (error) => background.push(error));
    await store.migrate();
    await store.create(newUser(1));
    // Warm several pooled connections so idle ones get terminated too.
    await Promise.all(Array.from({ length: 4 }, () => store.get(id(1))));
    const { rowCount } = await adminQuery(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database.name],
    );
    assert.ok((rowCount ?? 0) > 0, 'some backends were terminated');
    // pg_terminate_backend only signals: wait until the backends are gone, as clients of a
    // restarted server would, or a still-alive backend could die under the "one after" call.
    const gone = async () =>
      (await adminQuery('SELECT 1 FROM pg_stat_activity WHERE datname = $1', [database.name]))
        .rowCount === 0;
    await waitFor(gone);
    try {
      await store.get(id(1));
    } catch (error) {
      assert.ok(
        isDomainError(error, 'STORE_UNAVAILABLE'),
        `expected STORE_UNAVAILABLE, got ${String(error)}`,
      );
    }
    assert.equal((await store.get(id(1)))?.id, id(1));
    await store.ping();
    assert.ok(background.length > 0, 'idle connections reported their loss');
    for (const error of background) assert.equal((error as { code?: string }).code, '57P01');
  });

  test('postgres outbox — when deliveries are claimed, then their leases are written beside the rows (no index entry), a deleted event takes its deliveries along, and a rollback restores the table as it was', async (t) => {
    const { store, database } = await openStore(t);
    await store.migrate();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const table = async () =>
        (
          await client.query(
            `SELECT c.reloptions AS options,
             (SELECT count(*)::int FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f') AS keys
           FROM pg_class c WHERE c.oid = 'outbox_deliveries'::regclass`,
          )
        ).rows[0];
      assert.deepEqual(await table(), { options: ['fillfactor=50'], keys: 0 });
      const status = await store.rollback();
      assert.ok(status.pending.includes('0007-tune-outbox-deliveries'));
      assert.deepEqual(await table(), { options: null, keys: 1 });
      await store.migrate();
      assert.deepEqual(await table(), { options: ['fillfactor=50'], keys: 0 });

      // A store of its own, closed once it has claimed: a backend publishes its counts on exit.
      const worker = await createStore({ url: database.url, ...OPTIONS });
      // Enough rows to fill pages: the last page of a table has room whatever its fill factor.
      const users = 400;
      for (let n = 1; n <= users; n += 50)
        await Promise.all(Array.from({ length: 50 }, (_, i) => worker.create(newUser(n + i))));
      const now = new Date().toISOString();
      const endpoint = 'https://hooks.example.com/a';
      assert.equal(await worker.outbox.fanOut({ endpoints: [endpoint], now, limit: users }), users);
      const leased = await worker.outbox.claim({
        endpoint,
        owner: 'w1',
        limit: users,
        now,
        leaseMs: 60_000,
      });
      assert.equal(leased.length, users);
      await worker.close();
      const updates = async () =>
        (
          await client.query(
            `SELECT n_tup_upd AS updated, n_tup_hot_upd AS hot FROM pg_stat_user_tables
            WHERE relid = 'outbox_deliveries'::regclass`,
          )
        ).rows[0] as { updated: string; hot: string };
      await waitFor(async () => Number((await updates()).updated) >= users);
      const { updated, hot } = await updates();
      assert.equal(Number(updated), users);
      // Filled to the brim, no page had room (0 of 400 here); filled to half, a few leases
      // still find their page short of it (374 of 400 here).
      assert.ok(
        Number(hot) >= users * 0.9,
        `${hot} of ${users} leases were written beside their rows`,
      );
      // Events deleted as a release before this one purges them (the foreign key's cascade did
      // the rest): their deliveries go with them.
      const deleted = await client.query(
        'DELETE FROM outbox_events WHERE sequence IN (SELECT sequence FROM outbox_events ORDER BY sequence LIMIT 10)',
      );
      assert.equal(deleted.rowCount, 10);
      const orphans = await client.query(
        `SELECT count(*)::int AS n FROM outbox_deliveries d
          WHERE NOT EXISTS (SELECT 1 FROM outbox_events e WHERE e.sequence = d.event_sequence)`,
      );
      const left = await client.query('SELECT count(*)::int AS n FROM outbox_deliveries');
      assert.deepEqual([orphans.rows[0].n, left.rows[0].n], [0, users - 10]);
    } finally {
      // Before the database is dropped, which would end it from the server's side.
      await client.end();
    }
  });

  test('postgres outbox — when another process writes a change, then a watching outbox is woken, and again after its connection is terminated', async (t) => {
    const { store: writer, database } = await openStore(t);
    await writer.migrate();
    const reader = await createStore({ url: database.url, ...OPTIONS });
    let wakes = 0;
    const unwatch = await reader.outbox.watch!(() => wakes++);
    t.after(async () => {
      await unwatch();
      await reader.close();
    });
    // One wake-up on listening, for events written while nobody listened.
    await waitFor(async () => wakes >= 1);
    const before = wakes;
    await writer.create(newUser(1));
    await waitFor(async () => wakes > before);
    // The listening connection dies: it is opened again and wakes the outbox once it listens.
    const dropped = wakes;
    const { rowCount } = await adminQuery(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = $1 AND query ILIKE 'listen%'`,
      [database.name],
    );
    assert.equal(rowCount, 1, 'the listening connection was terminated');
    await waitFor(async () => wakes > dropped);
    const relistened = wakes;
    await writer.update(id(1), { name: 'renamed' }, { now: new Date().toISOString() });
    await waitFor(async () => wakes > relistened);
  });

  test('postgres — when one record of a batch of updates is locked past the statement timeout, then the others are still written', async (t) => {
    const database = await createTestDatabase();
    const store = await createStore({ url: database.url, ...OPTIONS, statementTimeoutMs: 600 });
    t.after(async () => {
      await store.close();
      await database.drop();
    });
    await store.migrate();
    for (const n of [1, 2, 3]) await store.create(newUser(n));
    // Another transaction holds record 2 for longer than one statement may run.
    const holder = new pg.Client({ connectionString: database.url });
    holder.on('error', () => undefined);
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [id(2)]);
    const release = setTimeout(() => void holder.query('COMMIT'), 900);
    t.after(() => clearTimeout(release));
    // Three updates in one turn: one batch, one statement, which waits on record 2.
    const outcomes = await Promise.allSettled(
      [1, 2, 3].map((n) => store.update(id(n), { name: `renamed ${n}` }, { now: at(9) })),
    );
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value?.name : String(o.reason))),
      ['renamed 1', 'renamed 2', 'renamed 3'],
    );
    await holder.end();
  });

  test('postgres outbox — when a record is updated and deleted, then the statements write each event payload as the very text eventPayload writes', async (t) => {
    const { store, database } = await openStore(t);
    await store.migrate();
    // Characters JSON escapes, some it leaves as they are, and whole seconds.
    const name = 'q"uote \\back \t\u0001 é 😀 \u2028';
    const created = await store.create(
      newUser(1, { name, email: 'a@example.com', createdAt: '2017-02-13T06:13:53.000Z' }),
    );
    const updated = await store.update(id(1), { name: `${name} 2`, email: null }, { now: at(7) });
    const removed = await store.remove(id(1), { now: at(8) });
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client
      .query<{ type: string; payload: string }>(
        'SELECT type, payload FROM outbox_events ORDER BY sequence',
      )
      .finally(() => client.end());
    // The payload as the JavaScript side writes it (SQLite, and creates on every engine).
    const written = (type: UserEventType, before: User | null, after: User | null) => ({
      type,
      payload: eventPayload({ type, occurredAt: at(9), userId: id(1), before, after }),
    });
    assert.deepEqual(rows, [
      written('user.created', null, created),
      written('user.updated', created, updated!),
      written('user.deleted', removed!, null),
    ]);
  });
}
// Otherwise postgresAvailability registered a failing (CI) or skipped test naming the reason.

test('postgres — when the server refuses connections, then createStore works and ping fails fast with STORE_UNAVAILABLE', async (t) => {
  const store = await createStore({ url: 'postgres://postgres:secret@127.0.0.1:1/x', ...OPTIONS });
  t.after(() => store.close());
  const started = performance.now();
  await rejectsWith(store.ping(), 'STORE_UNAVAILABLE');
  await rejectsWith(
    store.list({ where: undefined, sort: [], limit: 1, skip: 0 }),
    'STORE_UNAVAILABLE',
  );
  assert.ok(performance.now() - started < OPTIONS.connectTimeoutMs, 'refused, not timed out');
});

test('postgres — when the server accepts but never answers, then ping fails with STORE_UNAVAILABLE after connectTimeoutMs', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => void sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const { port } = silent.address() as AddressInfo;
  const store = await createStore({
    url: `postgres://postgres@127.0.0.1:${port}/x`,
    ...OPTIONS,
    connectTimeoutMs: 300,
  });
  t.after(() => store.close());
  const started = performance.now();
  await rejectsWith(store.ping(), 'STORE_UNAVAILABLE');
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 250 && elapsed < 2000, `took ${Math.round(elapsed)} ms`);
});
