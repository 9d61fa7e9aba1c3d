import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it, test } from 'node:test';
import { createLogger } from '../../src/log/logger.ts';
import { connectStore } from '../../src/processes/store-startup.ts';
import { UnsupportedServerError } from '../../src/store/server-version.ts';
import { storeUnsupported } from '../../src/users/errors.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import { spawnProcess } from '../support/web-process.ts';
import { postgresAvailability, TEST_POSTGRES_URL } from '../support/postgres.ts';

const postgres = await postgresAvailability();

// No MongoDB 3.2 can run here; the store below fails its ping as MongoUserStore's guard does
// for one (STORE_UNAVAILABLE whose cause is the UnsupportedServerError).
const tooOld = new UnsupportedServerError({
  product: 'MongoDB',
  found: '3.2',
  required: '4.4',
  address: 'old.example:27017',
});
const storeFailingWith = (error: unknown) => {
  let pings = 0;
  const store = {
    kind: 'mongo',
    capabilities: { embedded: false },
    ping: async () => {
      pings++;
      throw error;
    },
    migrationStatus: async () => ({ applied: [], pending: [] }),
  } as unknown as UserStore;
  return { store, pings: () => pings };
};

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
  });
  return { logger: createLogger({ level: 'info', pretty: false, destination }), lines };
}

describe('store-startup', () => {
  test('connectStore when the server is too old, then it stops at once and logs the version found and required', async () => {
    const { store, pings } = storeFailingWith(storeUnsupported(tooOld));
    const { logger, lines } = capturedLogger();
    const exits: [string, number | undefined][] = [];
    const result = await connectStore(store, {
      logger,
      config: { store: { url: 'mongodb://old.example/app' }, startupStoreWaitMs: 60_000 },
      signal: new AbortController().signal,
      shutdown: { begin: async (reason, code) => void exits.push([reason, code]) },
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(result, undefined);
    assert.equal(pings(), 1, 'no retries: waiting cannot make the server newer');
    assert.deepEqual(exits, [['store server not supported', 1]]);
    const fatal = lines.find((l) => l.level === 'fatal');
    assert.ok(fatal, 'a fatal line');
    assert.equal(fatal.found, '3.2');
    assert.equal(fatal.required, '4.4');
    assert.match(
      String(fatal.msg),
      /MongoDB at old\.example:27017 is version 3\.2; 12factor-app needs MongoDB 4\.4 or later/,
    );
  });

  for (const ending of ['answers', 'fails'] as const) {
    test(`connectStore when a shutdown begins during the schema check and the check then ${ending}, then the work is not started and nothing is logged fatal`, async () => {
      const abort = new AbortController();
      let finish!: () => void;
      const checked = new Promise<void>((resolve) => (finish = resolve));
      const store = {
        kind: 'postgres',
        capabilities: { embedded: false },
        ping: async () => {},
        migrationStatus: async () => {
          // The signal lands while the check is in flight; the check ends after it.
          abort.abort();
          await checked;
          if (ending === 'fails') throw new Error('Connection terminated');
          return { applied: ['0001'], pending: [] };
        },
      } as unknown as UserStore;
      const { logger, lines } = capturedLogger();
      const exits: [string, number | undefined][] = [];
      const result = connectStore(store, {
        logger,
        config: { store: { url: 'postgres://db.example/app' }, startupStoreWaitMs: 60_000 },
        signal: abort.signal,
        shutdown: { begin: async (reason, code) => void exits.push([reason, code]) },
      });
      finish();
      assert.equal(await result, undefined, 'no logger to start the work with');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(exits, [], 'the shutdown under way is the only one');
      assert.deepEqual(
        lines.filter((l) => l.level === 'fatal'),
        [],
      );
    });
  }
});

/** Starts the web process on a store that answers "no", and reads how it ended. */
async function startOn(url: string) {
  const web = spawnProcess('src/processes/web.ts', {
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: url,
    // Long enough that a retried failure could never end within the test's wait.
    STARTUP_STORE_WAIT_MS: '600000',
  });
  try {
    const fatal = await web.waitForLine((l) => l.level === 'fatal');
    const { code } = await web.exited;
    const retried = web.lines.some((l) => l.msg === 'store unreachable; retrying');
    return { fatal, code, retried };
  } finally {
    web.kill();
  }
}

describe('web start-up', () => {
  if (postgres.reachable) {
    it('a PostgreSQL URL naming a database that does not exist fails at once, saying so', async () => {
      const url = new URL(TEST_POSTGRES_URL);
      url.pathname = '/no_such_database_12f';
      const { fatal, code, retried } = await startOn(url.toString());
      assert.equal(code, 1);
      assert.equal(retried, false);
      assert.equal(fatal.msg, 'store refused the connection; giving up');
      assert.match(String(fatal.reason), /database "no_such_database_12f" does not exist/);
    });
  }
});
