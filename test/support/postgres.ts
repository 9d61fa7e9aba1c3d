import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { redactUrl } from '../../src/store/index.ts';

/** The server tests create their databases on (trust auth on the dev machine and in CI). */
export const TEST_POSTGRES_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: TEST_POSTGRES_URL,
    // Generous: a loaded 2-core machine can take seconds to accept, and a timeout here would
    // turn a whole suite into one failure (CI) or a skip (locally).
    connectionTimeoutMillis: 15_000,
  });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database `t12f_<random>` on the test server; drop() removes it even if in use. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `t12f_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: withDatabase(TEST_POSTGRES_URL, name),
    drop: () =>
      admin(
        async (client) => void (await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
      ),
  };
}

/** Runs SQL as the admin user, e.g. to terminate the backends of a test database. */
export function adminQuery(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  return admin((client) => client.query(text, values));
}

export type Availability = { reachable: true } | { reachable: false; reason: string };

/**
 * Whether the test server answers. When it does not, a suite must not pass silently: under CI
 * (`CI` set) this registers a failing test; locally a skipped one with the reason, plus a
 * diagnostic on stderr, so the skip is seen.
 */
export async function postgresAvailability(): Promise<Availability> {
  try {
    await admin((client) => client.query('SELECT 1'));
    return { reachable: true };
  } catch (error) {
    const reason = `PostgreSQL unreachable at ${redactUrl(TEST_POSTGRES_URL)} (${String(error)}); set TEST_POSTGRES_URL`;
    if (process.env.CI) {
      test(`postgres — when CI runs without PostgreSQL, then the suite fails`, () => {
        throw new Error(`${reason}. CI must test PostgreSQL.`);
      });
    } else {
      console.warn(`# ${reason}: skipping the PostgreSQL suite`);
      test(`postgres — when PostgreSQL is unreachable, then the suite is skipped`, (t) =>
        t.skip(reason));
    }
    return { reachable: false, reason };
  }
}
