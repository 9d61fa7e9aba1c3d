import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';
import { startWeb, type RunningProcess } from '../support/web-process.ts';

const CREATES = 5000;
const CLIENTS = 16;
const KILL_AFTER = 2000;

interface Acknowledged {
  id: string;
  body: string;
}

/**
 * Crash safety (docs/reliability.md): SIGKILL the web process in the middle of a stream of creates, start it
 * again on the same store, and check that every create that got a 201 is there, byte for byte.
 */
async function crashDuringCreates(t: TestContext, databaseUrl: string) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const env = { DATABASE_URL: databaseUrl, PORT: String(port) };
  let web: RunningProcess = await startWeb(env);
  t.after(() => web.kill());
  const acknowledged: Acknowledged[] = [];
  let failed = 0;
  let next = 0;
  let killedAt = 0;
  let back = 0;
  // The restart, awaited below: if it fails, the test fails with its reason instead of waiting
  // for a process that never comes back.
  let restarted: Promise<void> | undefined;

  const client = async () => {
    for (let i = next++; i < CREATES; i = next++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/user`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: `crash ${i}`, email: `crash${i}@example.com` }),
        });
        const body = await res.text();
        if (res.status === 201) acknowledged.push({ id: JSON.parse(body).id, body });
        else failed++;
      } catch {
        failed++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (acknowledged.length === KILL_AFTER && killedAt === 0) {
        killedAt = performance.now();
        web.child.kill('SIGKILL');
        restarted = web.exited.then(async () => {
          web = await startWeb(env);
          back = performance.now();
        });
        // Handled here so that a failed restart is not also an unhandled rejection.
        restarted.catch(() => undefined);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  assert.ok(restarted, `the stream reached ${KILL_AFTER} acknowledged creates`);
  await restarted;

  let mismatched = 0;
  const queue = [...acknowledged];
  const verify = async () => {
    for (let a = queue.pop(); a; a = queue.pop()) {
      const res = await fetch(`http://127.0.0.1:${port}/user/${a.id}`);
      if (res.status !== 200 || (await res.text()) !== a.body) mismatched++;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, verify));
  const total = Number(
    (await fetch(`http://127.0.0.1:${port}/user?limit=1`)).headers.get('x-total-count'),
  );
  t.diagnostic(
    `${CREATES} creates, ${acknowledged.length} acknowledged, ${failed} failed while down ` +
      `(${Math.round(back - killedAt)} ms from SIGKILL to ready), ${total} stored ` +
      `(${total - acknowledged.length} committed but unacknowledged), ${mismatched} acknowledged missing or changed`,
  );
  assert.equal(mismatched, 0, 'every acknowledged create is present and intact');
  assert.ok(total >= acknowledged.length && total <= CREATES);
  assert.ok(acknowledged.length > CREATES / 2, 'the stream carried on after the restart');
  web.child.kill('SIGTERM');
  assert.equal((await web.exited).code, 0);
}

test('crash safety on SQLite — when the web process is SIGKILLed mid-stream, then every acknowledged create survives intact', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), '12f-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await crashDuringCreates(t, `sqlite:${join(dir, 'app.db')}`);
});

const pg = await postgresAvailability();
if (pg.reachable) {
  test('crash safety on PostgreSQL — when the web process is SIGKILLed mid-stream, then every acknowledged create survives intact', async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    await promisify(execFile)(process.execPath, ['src/processes/admin.ts', 'migrate'], {
      env: { PATH: process.env.PATH, DATABASE_URL: database.url },
    });
    await crashDuringCreates(t, database.url);
  });
}
