import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { EXIT } from '../../src/admin/command.ts';
import { exportCommand } from '../../src/admin/export.ts';
import { importCommand } from '../../src/admin/import.ts';
import { seedCommand } from '../../src/admin/seed.ts';
import { createTestMongoDatabase, mongoTestUrl } from '../support/mongo.ts';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';
import { captureIo, openTestContext, tempDir } from './support.ts';

const USERS = 10_000;
/** A generous bound for this machine (the whole trip takes a few seconds); a regression shows. */
const BUDGET_MS = 60_000;

async function exportTo(t: TestContext, url: string, file: string): Promise<void> {
  const out = captureIo();
  const context = await openTestContext(t, url, out.io);
  assert.equal(
    await exportCommand.run(context, exportCommand.parse(['--out', file])),
    EXIT.ok,
    out.stderr(),
  );
}

async function importFrom(t: TestContext, url: string, file: string): Promise<string> {
  const out = captureIo();
  const context = await openTestContext(t, url, out.io);
  await context.store.migrate();
  const code = await importCommand.run(context, importCommand.parse(['--in', file, '--no-events']));
  assert.equal(code, EXIT.ok, out.stderr());
  return out.stdout();
}

const pg = await postgresAvailability();
const mongoUrl = mongoTestUrl();

describe('admin export and import', () => {
  test(
    `when ${USERS} users go SQLite → PostgreSQL${mongoUrl ? ' → MongoDB' : ''}, then every export is byte for byte the first`,
    { skip: pg.reachable ? false : pg.reason, timeout: BUDGET_MS * 2 },
    async (t) => {
      const started = performance.now();
      const dir = tempDir(t);
      const sqlite = `sqlite:${join(dir, 'source.db')}`;
      const seeded = captureIo();
      const source = await openTestContext(t, sqlite, seeded.io);
      await source.store.migrate();
      assert.equal(
        await seedCommand.run(source, seedCommand.parse(['--count', String(USERS), '--no-events'])),
        EXIT.ok,
      );

      const fromSqlite = join(dir, 'sqlite.ndjson');
      await exportTo(t, sqlite, fromSqlite);
      const first = readFileSync(fromSqlite, 'utf8');
      assert.equal(first.split('\n').length - 1, USERS);

      const database = await createTestDatabase();
      t.after(() => database.drop());
      assert.match(
        await importFrom(t, database.url, fromSqlite),
        new RegExp(`${USERS.toLocaleString('en-US')} created`),
      );
      const fromPostgres = join(dir, 'postgres.ndjson');
      await exportTo(t, database.url, fromPostgres);
      assert.equal(
        readFileSync(fromPostgres, 'utf8'),
        first,
        'PostgreSQL export differs from SQLite export',
      );
      // Idempotent on the way back too: the same file again changes nothing.
      assert.match(
        await importFrom(t, database.url, fromPostgres),
        new RegExp(`0 created, 0 updated, ${USERS.toLocaleString('en-US')} unchanged`),
      );

      if (mongoUrl) {
        const mongo = createTestMongoDatabase(mongoUrl);
        t.after(() => mongo.drop());
        await importFrom(t, mongo.url, fromPostgres);
        const fromMongo = join(dir, 'mongo.ndjson');
        await exportTo(t, mongo.url, fromMongo);
        assert.equal(
          readFileSync(fromMongo, 'utf8'),
          first,
          'MongoDB export differs from SQLite export',
        );
      } else {
        t.diagnostic('MongoDB leg skipped: set MONGO_URL to run it');
      }
      const elapsed = performance.now() - started;
      t.diagnostic(`round trip of ${USERS} users took ${Math.round(elapsed)} ms`);
      assert.ok(elapsed < BUDGET_MS, `took ${Math.round(elapsed)} ms`);
    },
  );
});
