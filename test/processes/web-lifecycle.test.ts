import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProcess, startWeb } from '../support/web-process.ts';
import { runAdmin } from '../admin/support.ts';

function tempDb(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), '12f-web-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'nested', 'app.db')}`;
}

test('web — when the config is bad, then one message names every bad variable and exit 1', async () => {
  const web = spawnProcess('src/processes/web.ts', { PORT: 'eighty', LOG_LEVEL: 'loud' });
  const { code } = await web.exited;
  assert.equal(code, 1);
  const fatal = web.lines.find((l) => l.level === 'fatal');
  assert.ok(fatal, JSON.stringify(web.lines));
  assert.match(String(fatal.msg), /PORT/);
  assert.match(String(fatal.msg), /LOG_LEVEL/);
  assert.equal(web.lines.length, 1);
});

test('web — when started on a fresh SQLite path, then it creates, migrates and serves', async (t) => {
  const web = await startWeb({ DATABASE_URL: tempDb(t) });
  t.after(() => web.kill());
  const res = await fetch(`http://127.0.0.1:${web.port}/user?name=bingo`, { method: 'POST' });
  assert.equal(res.status, 201);
  web.child.kill('SIGTERM');
  assert.equal((await web.exited).code, 0);
  assert.ok(web.lines.some((l) => l.msg === 'shutdown complete'));
});

test('web — when the store is unreachable at start, then health is up, readiness 503, and exit 1', async () => {
  const web = spawnProcess('src/processes/web.ts', {
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:1/nowhere',
    STARTUP_STORE_WAIT_MS: '3000',
    DATABASE_CONNECT_TIMEOUT_MS: '200',
  });
  const listening = await web.waitForLine((l) => l.msg === 'store unreachable; retrying');
  assert.ok(listening);
  const addressLine = await web.waitForLine((l) => /listening at/.test(String(l.msg)));
  const port = Number(/:(\d+)$/.exec(String(addressLine.msg))?.[1]);
  {
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 503);
    assert.equal((await fetch(`http://127.0.0.1:${port}/user`)).status, 503);
  }
  const { code } = await web.exited;
  assert.equal(code, 1);
  assert.ok(
    web.lines.some((l) => l.level === 'fatal' && l.msg === 'store unreachable at start; giving up'),
  );
  const text = JSON.stringify(web.lines);
  assert.doesNotMatch(text, /hunter2/, 'the password never reaches the logs');
});

test('web — when the shutdown overruns its budget, then exit 1; a second signal exits at once', async (t) => {
  const slow = await startWeb({
    DATABASE_URL: tempDb(t),
    SHUTDOWN_DELAY_MS: '5000',
    SHUTDOWN_TIMEOUT_MS: '1000',
  });
  t.after(() => slow.kill());
  slow.child.kill('SIGTERM');
  assert.equal((await slow.exited).code, 1);
  assert.ok(slow.lines.some((l) => l.msg === 'shutdown overran its budget; exiting'));

  const twice = await startWeb({ DATABASE_URL: tempDb(t), SHUTDOWN_DELAY_MS: '5000' });
  t.after(() => twice.kill());
  twice.child.kill('SIGTERM');
  await twice.waitForLine((l) => l.msg === 'shutdown started');
  const readyz = await fetch(`http://127.0.0.1:${twice.port}/readyz`);
  assert.equal(readyz.status, 503, 'readiness fails at once');
  const still = await fetch(`http://127.0.0.1:${twice.port}/user`);
  assert.equal(still.status, 200, 'the delay keeps serving');
  twice.child.kill('SIGINT');
  assert.equal((await twice.exited).code, 130);
});

test('release — when the store is unreachable, then `admin migrate` exits 69 with a clear line and no password', async () => {
  const release = await runAdmin(['migrate'], {
    env: {
      DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:1/nowhere',
      DATABASE_CONNECT_TIMEOUT_MS: '200',
    },
  });
  assert.equal(release.code, 69);
  assert.match(release.stderr, /^admin migrate: /m);
  assert.doesNotMatch(release.stdout + release.stderr, /hunter2/);
});
