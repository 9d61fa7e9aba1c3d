import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { createStore } from '../../src/store/index.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import { id, newUser, rejectsWith } from './contract-support.ts';

/**
 * Another connection holds the write lock: this process's writes wait for it without blocking
 * the event loop. The holder is a second connection in this same process, so a wait that blocked
 * the thread could never end before the busy timeout (the holder's release needs the loop).
 */
async function lockedFile(
  t: TestContext,
  statementTimeoutMs: number,
): Promise<{ store: UserStore; holder: Database.Database }> {
  const dir = mkdtempSync(join(tmpdir(), 't12f-sqlite-busy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'app.db');
  const store = await createStore({
    url: `sqlite:${path}`,
    poolMax: 1,
    connectTimeoutMs: 2000,
    statementTimeoutMs,
  });
  t.after(() => store.close());
  await store.migrate();
  const holder = new Database(path, { timeout: 0 });
  t.after(() => holder.close());
  holder.exec('begin immediate');
  return { store, holder };
}

test('sqlite busy — when another connection holds the write lock, then a write waits with the event loop free and applies once it is released', async (t) => {
  const { store, holder } = await lockedFile(t, 10_000);
  const created = store.create(newUser(1));
  let settled = false;
  void created.finally(() => (settled = true));
  // Turns of the event loop while the write waits: timers run, the write is still pending.
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(settled, false, 'the write waits for the lock');
  holder.exec('commit');
  assert.equal((await created).id, id(1));
  assert.equal((await store.get(id(1)))?.id, id(1));
});

test('sqlite busy — when the lock is held past the busy timeout, then the write fails STORE_UNAVAILABLE and the event loop ran meanwhile', async (t) => {
  const { store, holder } = await lockedFile(t, 300);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  t.after(() => clearInterval(timer));
  await rejectsWith(store.create(newUser(1)), 'STORE_UNAVAILABLE');
  assert.ok(ticks > 0, 'timers ran while the write waited');
  holder.exec('rollback');
  // Nothing was written; the store takes writes again at once.
  assert.equal(await store.get(id(1)), undefined);
  assert.equal((await store.create(newUser(1))).id, id(1));
});

test('sqlite busy — when the lock is held, then reads answer at once (WAL readers need no lock)', async (t) => {
  const { store } = await lockedFile(t, 10_000);
  assert.equal(await store.get(id(1)), undefined);
  assert.equal(await store.count(), 0);
});
