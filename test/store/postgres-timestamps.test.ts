import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { createStore } from '../../src/store/index.ts';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';

const OPTIONS = { poolMax: 2, connectTimeoutMs: 5000, statementTimeoutMs: 5000 };
const availability = await postgresAvailability();

/** Every precision a stored timestamp has, and years PostgreSQL prints in other forms. */
const STORED = [
  '2017-02-13T06:13:53.000Z',
  '2017-02-13T06:13:53.100Z',
  '2017-02-13T06:13:53.120Z',
  '2017-02-13T06:13:53.123Z',
  '1999-12-31T23:59:59.999Z',
  '0042-01-01T00:00:00.001Z',
  '+010000-01-01T00:00:00.000Z',
  '0000-06-01T12:00:00.500Z',
  '-000001-12-31T23:59:59.999Z',
];
/**
 * What PostgreSQL takes for each: ISO strings, but not the expanded years of JavaScript's, nor
 * its year 0 (1 BC) and negative years (-1 is 2 BC).
 */
const written = (stamp: string) => {
  if (stamp.startsWith('+')) return `${stamp.slice(1, 7).replace(/^0+/, '')}${stamp.slice(7)}`;
  const bc = /^(-\d{6}|0000)(-.*)Z$/.exec(stamp);
  if (!bc) return stamp;
  const year = 1 - Number(bc[1]);
  return `${String(year).padStart(4, '0')}${bc[2]}Z BC`;
};

const idOf = (i: number) => `5f0000000000000000000${String(i).padStart(3, '0')}`;

// Reads rewrite PostgreSQL's timestamp text themselves when it is plain UTC: whatever the
// session's time zone, a record must read back with the ISO strings that were stored.
for (const timeZone of availability.reachable ? ['UTC', 'Asia/Kolkata'] : []) {
  test(`postgres — when the session time zone is ${timeZone}, then reads print every stored timestamp as it was written`, async (t) => {
    const database = await createTestDatabase();
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(`ALTER DATABASE ${database.name} SET timezone = '${timeZone}'`);
    await admin.end();
    const store = await createStore({ url: database.url, ...OPTIONS });
    const client = new pg.Client({ connectionString: database.url });
    t.after(async () => {
      await client.end();
      await store.close();
      await database.drop();
    });
    await store.migrate();
    await client.connect();
    for (const [i, stamp] of STORED.entries()) {
      await client.query(
        `INSERT INTO users (id, name, created_at, updated_at) VALUES ($1, $2, $3, $4)`,
        [idOf(i), `user ${i}`, written(stamp), written(STORED[STORED.length - 1 - i]!)],
      );
    }

    for (const [i, stamp] of STORED.entries()) {
      const user = await store.get(idOf(i));
      assert.equal(user?.createdAt, stamp);
      assert.equal(user?.updatedAt, STORED[STORED.length - 1 - i]);
    }
    const page = await store.list({ where: undefined, sort: [], limit: 30, skip: 0 });
    assert.deepEqual(
      page.users.map((user) => [user.id, user.createdAt, user.updatedAt]),
      STORED.map((stamp, i) => [idOf(i), stamp, STORED[STORED.length - 1 - i]]),
    );
    // The page is printed by the engine: the very text JSON.stringify prints of the records.
    const records = await Promise.all(STORED.map((_, i) => store.get(idOf(i))));
    assert.equal(page.json, JSON.stringify(records));
  });
}
