import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStore } from '../../src/store/index.ts';

const OPTIONS = { poolMax: 2, connectTimeoutMs: 300, statementTimeoutMs: 1000 };

test('createStore — when the URL names a known scheme, then the matching adapter is built without connecting', async () => {
  const urls: [string, string][] = [
    ['sqlite::memory:', 'sqlite'],
    ['postgres://postgres@127.0.0.1:1/x', 'postgres'],
    ['postgresql://postgres@127.0.0.1:1/x', 'postgres'],
    ['mongodb://127.0.0.1:1/x', 'mongo'],
  ];
  for (const [url, kind] of urls) {
    const store = await createStore({ url, ...OPTIONS });
    assert.equal(store.kind, kind, url);
    assert.equal(store.capabilities.embedded, kind === 'sqlite');
    await store.close();
  }
});

test('createStore — when the scheme is unknown, then a clear error names it but never the password', async () => {
  await assert.rejects(
    () => createStore({ url: 'mysql://root:s3cret@db/app', ...OPTIONS }),
    (error: Error) => {
      assert.match(error.message, /Unsupported store URL scheme "mysql:"/);
      assert.match(error.message, /sqlite:, postgres:, postgresql:, mongodb: or mongodb\+srv:/);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    },
  );
  await assert.rejects(() => createStore({ url: 'not a url', ...OPTIONS }), /scheme \(none\)/);
});

test('createStore — when a wrapper inherits from the store (Object.create), then every method still works', async () => {
  // Stores keep no #private state, so any wrapper or proxy around them keeps working.
  const store = await createStore({ url: 'sqlite::memory:', ...OPTIONS });
  const wrapper: typeof store = Object.create(store);
  assert.deepEqual((await wrapper.migrate()).pending, []);
  assert.deepEqual((await wrapper.migrationStatus()).pending, []);
  await wrapper.ping();
  assert.equal((await store.list({ where: undefined, sort: [], limit: 1, skip: 0 })).total, 0);
  await wrapper.close();
});
