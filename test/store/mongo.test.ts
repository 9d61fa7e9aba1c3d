import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStore } from '../../src/store/index.ts';
import {
  createTestMongoDatabase,
  mongoTestUrl,
  skipWithoutMongo,
  withMongoDatabase,
} from '../support/mongo.ts';
import { runUserStoreContract } from './contract.ts';
import { rejectsWith } from './contract-support.ts';

const OPTIONS = { poolMax: 4, connectTimeoutMs: 2000, statementTimeoutMs: 5000 };
const serverUrl = mongoTestUrl();

if (serverUrl) {
  runUserStoreContract('mongo', async () => {
    const database = createTestMongoDatabase(serverUrl);
    return { store: await createStore({ url: database.url, ...OPTIONS }), cleanup: database.drop };
  });
} else {
  skipWithoutMongo();
}

test('mongo — when no server answers, then createStore works and ping fails with STORE_UNAVAILABLE after connectTimeoutMs', async (t) => {
  const store = await createStore({
    url: 'mongodb://user:secret@127.0.0.1:1/x',
    ...OPTIONS,
    connectTimeoutMs: 300,
  });
  t.after(() => store.close());
  assert.equal(store.kind, 'mongo');
  const started = performance.now();
  await rejectsWith(store.ping(), 'STORE_UNAVAILABLE');
  // The driver's client is unusable after a failed first connect; the store must retry anew.
  await rejectsWith(store.ping(), 'STORE_UNAVAILABLE');
  await rejectsWith(store.migrationStatus(), 'STORE_UNAVAILABLE');
  assert.ok(performance.now() - started < 4000);
});

test('mongo — when a test database is named, then the URL keeps hosts and options', () => {
  assert.equal(
    withMongoDatabase('mongodb://a:1,b:2/app?replicaSet=rs', 't12f_x'),
    'mongodb://a:1,b:2/t12f_x?replicaSet=rs',
  );
  assert.equal(
    withMongoDatabase('mongodb+srv://u:p@cluster.example.net', 't12f_x'),
    'mongodb+srv://u:p@cluster.example.net/t12f_x',
  );
  assert.equal(
    withMongoDatabase('mongodb://localhost/?w=1', 't12f_x'),
    'mongodb://localhost/t12f_x?w=1',
  );
});
