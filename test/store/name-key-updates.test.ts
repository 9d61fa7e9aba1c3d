import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createStore } from '../../src/store/index.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';
import { at, id } from './contract-support.ts';

const OPTIONS = { poolMax: 2, connectTimeoutMs: 2000, statementTimeoutMs: 5000 };

/**
 * A release from before `name_key` inserts rows without it; an update of this release that keeps
 * such a row's name writes the folded key on every engine, as one that renames it does.
 */
interface Engine {
  open(t: TestContext): Promise<UserStore>;
  /** The older release's statements: they never name name_key. */
  insertOld(rows: [string, string][]): Promise<void>;
  keys(): Promise<unknown[]>;
}

async function expectKeysWritten(t: TestContext, engine: Engine) {
  const store = await engine.open(t);
  await store.migrate();
  await engine.insertOld([
    [id(1), 'ÉLODIE Ωmega'],
    [id(2), 'Bob Stone'],
  ]);
  await store.update(id(1), { email: 'elodie@example.com' }, { now: at(5) });
  await store.update(id(2), { name: 'Bob Stone' }, { now: at(5) });
  assert.deepEqual(await engine.keys(), [
    { id: id(1), key: 'élodie ωmega' },
    { id: id(2), key: 'bob stone' },
  ]);
}

test('sqlite — when an update keeps the name of a user written without name_key, then the key is written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 't12f-name-key-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'app.db');
  await expectKeysWritten(t, {
    async open(t) {
      const store = await createStore({ url: `sqlite:${path}`, ...OPTIONS, poolMax: 1 });
      t.after(() => store.close());
      return store;
    },
    async insertOld(rows) {
      const old = new Database(path);
      const insert = old.prepare(
        'insert into users (id, name, created_at, updated_at) values (?, ?, ?, ?)',
      );
      for (const [userId, name] of rows) insert.run(userId, name, at(0), at(0));
      old.close();
    },
    async keys() {
      const check = new Database(path, { readonly: true });
      try {
        return check.prepare('select id, name_key as key from users order by id').all();
      } finally {
        check.close();
      }
    },
  });
});

if ((await postgresAvailability()).reachable) {
  test('postgres — when an update keeps the name of a user written without name_key, then the key is written', async (t) => {
    const database = await createTestDatabase();
    const old = new pg.Client({ connectionString: database.url });
    t.after(async () => {
      await old.end();
      await database.drop();
    });
    await old.connect();
    await expectKeysWritten(t, {
      async open(t) {
        const store = await createStore({ url: database.url, ...OPTIONS });
        t.after(() => store.close());
        return store;
      },
      async insertOld(rows) {
        for (const [userId, name] of rows)
          await old.query(
            'insert into users (id, name, created_at, updated_at) values ($1, $2, now(), now())',
            [userId, name],
          );
      },
      async keys() {
        return (await old.query('select id, name_key as key from users order by id')).rows;
      },
    });
  });
}
// Otherwise postgresAvailability registered a failing (CI) or skipped test naming the reason.
