import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';
import { spawnProcess, startWeb } from '../support/web-process.ts';

function tempSqlite(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), '12f-cluster-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'app.db')}`;
}

async function until(predicate: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('web cluster — when a child is SIGKILLed mid-stream, then it is replaced and no acknowledged write is lost', async (t) => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const web = spawnProcess('src/processes/web.ts', {
    WEB_CONCURRENCY: '2',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: tempSqlite(t),
  });
  t.after(() => web.kill());
  const ready = () => web.lines.filter((l) => l.msg === 'web ready').length;
  await until(() => ready() === 2, 60_000, 'two web children');
  const children = web.lines
    .filter((l) => l.msg === 'web child started')
    .map((l) => Number(l.childPid));
  assert.equal(new Set(web.lines.filter((l) => l.msg === 'web ready').map((l) => l.pid)).size, 2);

  const acknowledged: string[] = [];
  let failed = 0;
  let killed = false;
  const writer = async (w: number) => {
    for (let i = 0; i < 200; i++) {
      try {
        // Bounded: a connection lost with the killed child must count as failed, not stall.
        const res = await fetch(`http://127.0.0.1:${port}/user?name=w${w}-${i}`, {
          method: 'POST',
          signal: AbortSignal.timeout(15_000),
        });
        if (res.status === 201) acknowledged.push(((await res.json()) as { id: string }).id);
        else failed++;
      } catch {
        failed++;
      }
      if (!killed && w === 0 && i === 50) {
        killed = true;
        process.kill(children[0]!, 'SIGKILL');
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(writer));
  await until(() => ready() === 3, 60_000, 'the replacement child');
  assert.ok(
    web.lines.some((l) => l.msg === 'web child exited; restarting' && l.signal === 'SIGKILL'),
  );

  for (const id of acknowledged) {
    const res = await fetch(`http://127.0.0.1:${port}/user/${id}`);
    assert.equal(res.status, 200, `acknowledged ${id} is present`);
  }
  t.diagnostic(`acknowledged ${acknowledged.length}, failed during the kill ${failed}`);
  assert.ok(acknowledged.length >= 700, `most writes succeeded (${acknowledged.length})`);

  web.child.kill('SIGTERM');
  assert.equal((await web.exited).code, 0);
  assert.equal(
    web.lines.filter((l) => l.msg === 'shutdown complete').length,
    2,
    'both children drained',
  );
});

test('web cluster — when children crash in a loop, then the supervisor gives up loudly with exit 1', async () => {
  const web = spawnProcess('src/processes/web.ts', {
    WEB_CONCURRENCY: '2',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere',
    STARTUP_STORE_WAIT_MS: '0',
    DATABASE_CONNECT_TIMEOUT_MS: '100',
  });
  const { code } = await web.exited;
  assert.equal(code, 1);
  assert.ok(
    web.lines.some(
      (l) => l.level === 'fatal' && l.msg === 'web children crash in a loop; giving up',
    ),
  );
});

async function statelessAcross(url: string, t: { after: (fn: () => void) => void }) {
  const a = await startWeb({ DATABASE_URL: url });
  t.after(() => a.kill());
  const b = await startWeb({ DATABASE_URL: url });
  t.after(() => b.kill());
  const at = (web: { port: number }, path: string) => `http://127.0.0.1:${web.port}${path}`;
  const created = await fetch(at(a, '/user?name=shared'), { method: 'POST' });
  assert.equal(created.status, 201);
  const { id } = (await created.json()) as { id: string };
  assert.equal((await fetch(at(b, `/user/${id}`))).status, 200, 'read through the other');
  const updated = await fetch(at(b, `/user/${id}?name=changed`), { method: 'PUT' });
  assert.equal(((await updated.json()) as { name: string }).name, 'changed');
  assert.equal(
    ((await (await fetch(at(a, `/user/${id}`))).json()) as { name: string }).name,
    'changed',
  );
  assert.equal((await fetch(at(b, `/user/${id}`), { method: 'DELETE' })).status, 200);
  assert.equal((await fetch(at(a, `/user/${id}`))).status, 404, 'deleted for both');
}

test('statelessness — when two web processes share a SQLite file, then a record moves freely between them', async (t) => {
  await statelessAcross(tempSqlite(t), t);
});

const pg = await postgresAvailability();
if (pg.reachable) {
  test('statelessness — when two web processes share PostgreSQL, then a record moves freely between them', async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const { execFile } = await import('node:child_process');
    await new Promise<void>((resolve, reject) =>
      execFile(
        process.execPath,
        ['src/processes/admin.ts', 'migrate'],
        { env: { PATH: process.env.PATH, DATABASE_URL: database.url } },
        (error) => (error ? reject(error) : resolve()),
      ),
    );
    await statelessAcross(database.url, t);
  });
}

test('web cluster — when SIGHUP arrives under steady load, then children are replaced one by one with no failed request', async (t) => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const web = spawnProcess('src/processes/web.ts', {
    WEB_CONCURRENCY: '2',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: tempSqlite(t),
    SHUTDOWN_DELAY_MS: '300',
  });
  t.after(() => web.kill());
  const ready = () => web.lines.filter((l) => l.msg === 'web ready').length;
  await until(() => ready() === 2, 60_000, 'two web children');
  const before = new Set(web.lines.filter((l) => l.msg === 'web ready').map((l) => l.pid));

  let stop = false;
  const outcomes = { ok: 0, retried: 0, failed: [] as string[], latencies: [] as number[] };
  // Each create carries an Idempotency-Key, and one that failed before any answer is sent once
  // more, as HTTP/1.1 asks of a client: a kept-alive connection that is idle when a retiring
  // child closes it can carry a request at that very instant, which then never reaches the
  // server ("other side closed"). No server can close an idle connection without that race;
  // the key makes the retry safe whether or not the first try was applied.
  const create = (c: number, i: number) =>
    fetch(`http://127.0.0.1:${port}/user?name=c${c}-${i}`, {
      method: 'POST',
      headers: { 'idempotency-key': `rolling-${c}-${i}` },
      // Bounded: a request lost in a hand-off must fail the test, not stall it.
      signal: AbortSignal.timeout(15_000),
    });
  const client = async (c: number) => {
    for (let i = 0; !stop; i++) {
      try {
        const started = performance.now();
        let res: Response;
        try {
          res = await create(c, i);
        } catch (error) {
          if ((error as Error).name === 'TimeoutError') throw error;
          outcomes.retried++;
          res = await create(c, i);
        }
        const body = await res.text();
        outcomes.latencies.push(performance.now() - started);
        if (res.status === 201) outcomes.ok++;
        else outcomes.failed.push(`status ${res.status} ${body.slice(0, 200)}`);
      } catch (error) {
        outcomes.failed.push(String((error as { cause?: unknown }).cause ?? error));
      }
    }
  };
  const clients = [0, 1, 2, 3].map(client);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const rollStarted = performance.now();
  web.child.kill('SIGHUP');
  await until(
    () => web.lines.some((l) => l.msg === 'rolling restart finished'),
    60_000,
    'the rolling restart',
  );
  const rollMs = performance.now() - rollStarted;
  await new Promise((resolve) => setTimeout(resolve, 300));
  stop = true;
  await Promise.all(clients);

  const retired = web.lines.filter((l) => l.msg === 'web child retired').map((l) => l.childPid);
  assert.deepEqual(new Set(retired), before, 'both original children were retired');
  assert.ok(!web.lines.some((l) => l.msg === 'web child exited; restarting'), 'no crash');
  assert.deepEqual(outcomes.failed, [], 'no failed request');
  const sorted = outcomes.latencies.sort((a, b) => a - b);
  const at = (p: number) => Math.round(sorted[Math.floor((sorted.length - 1) * p)]!);
  t.diagnostic(
    `rolling restart of 2 children took ${Math.round(rollMs)} ms; ${outcomes.ok} creates from 4 clients, 0 failed, ${outcomes.retried} sent again after the connection closed; latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`,
  );
  web.child.kill('SIGTERM');
  assert.equal((await web.exited).code, 0);
});
