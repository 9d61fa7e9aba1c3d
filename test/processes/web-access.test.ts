import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProcess, startWeb } from '../support/web-process.ts';

function tempDb(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), '12f-access-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'app.db')}`;
}

test('web access — when NODE_ENV=production has no access control, then it refuses to start with exit 1', async (t) => {
  const web = spawnProcess('src/processes/web.ts', {
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: tempDb(t),
  });
  assert.equal((await web.exited).code, 1);
  const fatal = web.lines.find((l) => l.level === 'fatal');
  assert.equal(fatal?.msg, 'refusing to start: no access control in production');
  assert.match(String(fatal?.fix), /API_TOKENS/);
});

test('web access — when anonymous writes are explicitly allowed in production, then it starts and says so loudly', async (t) => {
  const web = await startWeb({
    NODE_ENV: 'production',
    ALLOW_ANONYMOUS_WRITES: 'true',
    ALLOW_EMBEDDED_STORE: 'true',
    DATABASE_URL: tempDb(t),
  });
  t.after(() => web.kill());
  const warning = web.lines.find(
    (l) => l.level === 'warn' && /NO ACCESS CONTROL/.test(String(l.msg)),
  );
  assert.ok(warning, 'a loud warning at start');
  const res = await fetch(`http://127.0.0.1:${web.port}/user?name=bingo`, { method: 'POST' });
  assert.equal(res.status, 201, 'the tutorial’s call works');
  web.child.kill('SIGTERM');
  assert.equal((await web.exited).code, 0);
});

test('web access — when tokens are configured and used, then neither stdout nor stderr ever carries one', async (t) => {
  const writer = 'process-writer-secret-7f3a9c1d';
  const reader = 'process-reader-secret-2b8e4f60';
  const web = await startWeb({
    API_TOKENS: `${writer},${reader}:read`,
    LOG_LEVEL: 'trace',
    DATABASE_URL: tempDb(t),
  });
  t.after(() => web.kill());
  assert.ok(web.lines.some((l) => l.msg === 'access control on' && l.tokens === 2));
  const base = `http://127.0.0.1:${web.port}`;
  const post = (token: string, query = '') =>
    fetch(`${base}/user?name=x${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
  assert.equal((await post(writer)).status, 201);
  assert.equal((await post(reader)).status, 403);
  assert.equal((await post(`${writer}-wrong`)).status, 401);
  // A token put in the URL by mistake is not accepted, and the logged path drops the query.
  assert.equal(
    (await fetch(`${base}/user?name=x&access_token=${writer}`, { method: 'POST' })).status,
    401,
  );
  web.child.kill('SIGTERM');
  await web.exited;
  const everything = JSON.stringify(web.lines) + web.stderr();
  assert.doesNotMatch(everything, /process-(writer|reader)-secret/);
  assert.ok(web.lines.some((l) => l.principal === 'token#1'));
});
