import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkStoreReachable, runAppChecks } from '../../src/doctor/app/index.ts';
import { UnsupportedServerError } from '../../src/store/server-version.ts';
import { storeUnavailable, storeUnsupported } from '../../src/users/errors.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import { spawnProcess } from '../support/web-process.ts';
import { createStore, redactUrl } from '../../src/store/index.ts';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';

const release = { version: '1.2.3', commit: 'abc', buildTime: '2026-11-25T00:00:00Z' };
const deps = (env: Record<string, string>) => ({
  env,
  release,
  redact: redactUrl,
  openStore: (config: { store: { url: string } }) =>
    createStore({
      url: config.store.url,
      poolMax: 1,
      connectTimeoutMs: 500,
      statementTimeoutMs: 2000,
    }),
});
const statusOf = (report: { checks: { id: string; status: string }[] }) =>
  Object.fromEntries(report.checks.map((c) => [c.id, c.status]));

test('doctor app — when the config is bad, then config fails, store checks skip, not ready', async () => {
  const report = await runAppChecks(deps({ PORT: 'x', LOG_LEVEL: 'loud' }));
  assert.equal(report.verdict, 'not-ready');
  assert.equal(report.subject, 'app');
  assert.deepEqual(statusOf(report), {
    'config.valid': 'fail',
    'config.access-control': 'skip',
    'config.production-store': 'skip',
    'store.reachable': 'skip',
    'store.schema': 'skip',
    release: 'info',
  });
  assert.match(report.checks[0]!.summary, /PORT.*LOG_LEVEL/);
});

test('doctor app — when production runs on embedded SQLite, then it fails unless explicitly allowed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), '12f-doctor-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { NODE_ENV: 'production', DATABASE_URL: `sqlite:${join(dir, 'a.db')}` };
  const refused = await runAppChecks(deps(env));
  assert.equal(statusOf(refused)['config.production-store'], 'fail');
  assert.equal(refused.verdict, 'not-ready');
  const allowed = await runAppChecks(
    deps({ ...env, ALLOW_EMBEDDED_STORE: 'true', API_TOKENS: 'doctor-app-token-000001' }),
  );
  assert.equal(statusOf(allowed)['config.production-store'], 'warn');
  assert.equal(statusOf(allowed)['store.reachable'], 'pass');
  assert.equal(allowed.verdict, 'ready-with-warnings');
});

test('doctor app — when the store is unreachable, then it fails with a redacted URL', async () => {
  const report = await runAppChecks(deps({ DATABASE_URL: 'postgres://u:hunter2@127.0.0.1:1/db' }));
  assert.equal(statusOf(report)['store.reachable'], 'fail');
  assert.equal(statusOf(report)['store.schema'], 'unknown');
  assert.equal(report.verdict, 'not-ready');
  assert.doesNotMatch(JSON.stringify(report), /hunter2/);
  assert.ok(
    report.checks.filter((c) => c.status !== 'pass').every((c) => c.hint || c.status === 'info'),
  );
});

// No old MongoDB can run here: this store fails its ping as MongoUserStore's guard does for one.
const tooOld = new UnsupportedServerError({
  product: 'MongoDB',
  found: '3.2',
  required: '4.4',
  address: 'old.example:27017',
});
const storeFailingWith = (error: unknown) => ({
  store: {
    kind: 'mongo',
    ping: async () => {
      throw error;
    },
  } as unknown as UserStore,
});

test('doctor app — checkStoreReachable when the server is too old, then doctor says so plainly instead of "does not answer"', async () => {
  const { store } = storeFailingWith(storeUnsupported(tooOld));
  const check = await checkStoreReachable(store, { timeoutMs: 1000, evidence: 'mongodb://…' });
  assert.equal(check.status, 'fail');
  assert.match(check.summary, /^mongo answers but is too old: found 3\.2, needs 4\.4 or later/);
  assert.match(check.hint ?? '', /Upgrade the server to 4\.4 or later/);
});

test('doctor app — checkStoreReachable when the server is unreachable, then it still reports that', async () => {
  const { store } = storeFailingWith(storeUnavailable(new Error('connect ECONNREFUSED')));
  const check = await checkStoreReachable(store, { timeoutMs: 1000, evidence: 'x' });
  assert.match(check.summary, /does not answer/);
});

const pg = await postgresAvailability();
if (pg.reachable) {
  test('doctor app — when PostgreSQL lacks migrations, then store.schema fails until migrated', async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const before = await runAppChecks(deps({ DATABASE_URL: database.url }));
    assert.equal(statusOf(before)['store.schema'], 'fail');
    assert.match(before.checks.find((c) => c.id === 'store.schema')!.hint ?? '', /npm run migrate/);
    const store = await createStore({
      url: database.url,
      poolMax: 1,
      connectTimeoutMs: 1000,
      statementTimeoutMs: 0,
    });
    await store.migrate();
    await store.close();
    const after = await runAppChecks(deps({ DATABASE_URL: database.url }));
    assert.equal(statusOf(after)['store.schema'], 'pass');
    assert.equal(after.verdict, 'ready');
  });
}

test('doctor app — when the web process refuses a configuration, then doctor app fails it in the same words', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), '12f-doctor-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: Record<string, string>[] = [
    { NODE_ENV: 'production', DATABASE_URL: `sqlite:${join(dir, 'both.db')}` },
    {
      NODE_ENV: 'production',
      DATABASE_URL: `sqlite:${join(dir, 'store.db')}`,
      API_TOKENS: 'doctor-app-token-000001',
    },
    {
      NODE_ENV: 'production',
      DATABASE_URL: `sqlite:${join(dir, 'open.db')}`,
      ALLOW_EMBEDDED_STORE: 'true',
    },
  ];
  for (const env of cases) {
    const web = spawnProcess('src/processes/web.ts', { ...env, PORT: '0', HOST: '127.0.0.1' });
    t.after(() => web.kill());
    assert.equal((await web.exited).code, 1, JSON.stringify(env));
    const refusals = web.lines.filter((l) => l.level === 'fatal').map((l) => l.msg);
    assert.ok(refusals.length > 0);
    const report = await runAppChecks(deps(env));
    const failures = report.checks.filter((c) => c.status === 'fail').map((c) => c.summary);
    assert.deepEqual(failures.sort(), [...refusals].sort(), JSON.stringify(env));
    assert.equal(report.verdict, 'not-ready');
  }
});
