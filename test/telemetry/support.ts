import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createStore } from '../../src/store/index.ts';
import { OtlpReceiver } from '../support/otlp-receiver.ts';

/** A migrated SQLite database of the test's own, removed after it: its DATABASE_URL. */
export async function migratedStore(t: TestContext): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), '12f-telemetry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const url = `sqlite:${join(dir, 'app.db')}`;
  const store = await createStore({
    url,
    poolMax: 1,
    connectTimeoutMs: 2000,
    statementTimeoutMs: 10_000,
  });
  await store.migrate();
  await store.close();
  return url;
}

/** An OTLP receiver for the test, stopped after it. */
export async function collector(t: TestContext): Promise<OtlpReceiver> {
  const receiver = await new OtlpReceiver().start();
  t.after(() => receiver.stop());
  return receiver;
}

/** POSTs a user by JSON and returns its id, asserting the 201. */
export async function createUser(base: string, name: string): Promise<string> {
  const created = await fetch(`${base}/user`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  assert.equal(created.status, 201);
  return ((await created.json()) as { id: string }).id;
}
