import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnProcess } from '../support/web-process.ts';
import { postgresAvailability, TEST_POSTGRES_URL } from '../support/postgres.ts';

const postgres = await postgresAvailability();

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
    const fatal = await web.waitForLine((l) => l.level === 'fatal', 20_000);
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
