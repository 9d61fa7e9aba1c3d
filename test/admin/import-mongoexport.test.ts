import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXIT, runAdminCommand } from '../../src/admin/command.ts';
import { importCommand } from '../../src/admin/import.ts';
import type { User } from '../../src/users/user.ts';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';
import { createTestMongoDatabase, mongoTestUrl } from '../support/mongo.ts';
import { captureIo, openTestContext, tempDir } from './support.ts';

/*
 * The tutorial's Sails `user` collection as `mongoexport --collection user` writes it: the
 * default (one document a line, relaxed Extended JSON, as mongo-tools' Go writer formats dates:
 * milliseconds without trailing zeros, before 1970 as $numberLong) and `--jsonArray
 * --jsonFormat canonical` (one line, every number and date typed).
 */
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const RELAXED = join(FIXTURES, 'sails-user.relaxed.json');
const CANONICAL_ARRAY = join(FIXTURES, 'sails-user.canonical.json');

/** The same three users, as our API prints them: ids and times exactly as in MongoDB. */
const EXPECTED: User[] = [
  {
    name: 'bingo',
    email: 'bingo@example.com',
    createdAt: '2017-02-13T06:13:53.791Z',
    updatedAt: '2017-02-13T06:20:00.000Z',
    id: '58a41d952f53291200b9e065',
  },
  {
    name: 'Ann',
    createdAt: '2017-02-13T06:14:07.120Z',
    updatedAt: '2017-02-13T06:14:07.120Z',
    id: '58a41d9f2f53291200b9e066',
  },
  {
    name: 'Old timer',
    createdAt: '1969-12-31T23:59:59.000Z',
    updatedAt: '2017-02-13T06:15:00.500Z',
    id: '58a41da52f53291200b9e067',
  },
];

async function importFile(t: TestContext, url: string, file: string, argv: string[] = []) {
  const out = captureIo();
  const code = await runAdminCommand(importCommand, ['--in', file, ...argv], out.io, (io) =>
    openTestContext(t, url, io),
  );
  return { code, stdout: out.stdout(), stderr: out.stderr() };
}

async function usersIn(t: TestContext, url: string): Promise<User[]> {
  const users: User[] = [];
  for await (const u of (await openTestContext(t, url)).users.stream()) users.push(u);
  return users.sort((a, b) => a.id.localeCompare(b.id));
}

/** Both mongoexport forms onto one store: ids, names, addresses and times kept; extras named. */
async function importsTheTutorialsUsers(t: TestContext, url: string) {
  const first = await importFile(t, url, RELAXED);
  assert.equal(first.code, EXIT.ok, first.stderr);
  assert.match(first.stdout, /3 users read; 3 created, 0 updated, 0 unchanged, 0 skipped/);
  assert.match(
    first.stderr,
    /admin import: not kept, a user here has only name, email, id and timestamps: age \(2 users\), nickname \(1 user\)/,
  );
  assert.deepEqual(await usersIn(t, url), EXPECTED);
  // The canonical array describes the same documents: nothing left to change.
  const again = await importFile(t, url, CANONICAL_ARRAY);
  assert.equal(again.code, EXIT.ok, again.stderr);
  assert.match(again.stdout, /3 users read; 0 created, 0 updated, 3 unchanged, 0 skipped/);
  assert.deepEqual(await usersIn(t, url), EXPECTED);
}

const pg = await postgresAvailability();
const mongoUrl = mongoTestUrl();

describe('admin import (mongoexport)', () => {
  test('SQLite when given the Sails user collection in both mongoexport forms, then each user keeps id and timestamps', async (t) => {
    await importsTheTutorialsUsers(t, `sqlite:${join(tempDir(t), 'app.db')}`);
  });

  test(
    'PostgreSQL when given the Sails user collection in both mongoexport forms, then each user keeps id and timestamps',
    { skip: pg.reachable ? false : pg.reason },
    async (t) => {
      const database = await createTestDatabase();
      t.after(() => database.drop());
      await (await openTestContext(t, database.url)).store.migrate();
      await importsTheTutorialsUsers(t, database.url);
    },
  );

  test(
    'MongoDB when given the Sails user collection in both mongoexport forms, then each user keeps id and timestamps',
    { skip: mongoUrl ? false : 'set MONGO_URL to a MongoDB server to run this' },
    async (t) => {
      const mongo = createTestMongoDatabase(mongoUrl!);
      t.after(() => mongo.drop());
      await (await openTestContext(t, mongo.url)).store.migrate();
      await importsTheTutorialsUsers(t, mongo.url);
    },
  );

  test('SQLite when the array form is piped on stdin, then it is read like the file', async (t) => {
    const url = `sqlite:${join(tempDir(t), 'app.db')}`;
    const out = captureIo({ stdin: readFileSync(CANONICAL_ARRAY, 'utf8') });
    const code = await runAdminCommand(importCommand, [], out.io, (io) =>
      openTestContext(t, url, io),
    );
    assert.equal(code, EXIT.ok, out.stderr());
    assert.deepEqual(await usersIn(t, url), EXPECTED);
  });

  test('SQLite when documents cannot become users, then each is reported by its position and nothing is imported', async (t) => {
    const dir = tempDir(t);
    const url = `sqlite:${join(dir, 'app.db')}`;
    const file = join(dir, 'bad.json');
    const good =
      '{"_id":{"$oid":"58a41d952f53291200b9e065"},"name":"ok","createdAt":{"$date":"2017-02-13T06:13:53.791Z"},"updatedAt":{"$date":"2017-02-13T06:13:53.791Z"}}';
    writeFileSync(
      file,
      `[${[
        good,
        '{"_id":"not-an-object-id","name":"a","createdAt":{"$date":"2017-02-13T06:13:53Z"},"updatedAt":{"$date":"2017-02-13T06:13:53Z"}}',
        '{"_id":{"$oid":"58a41d952f53291200b9e066"},"name":"no dates"}',
        '{"_id":{"$oid":"58a41d952f53291200b9e067"},"name":"bad date","createdAt":{"$date":"yesterday"},"updatedAt":{"$date":"2017-02-13T06:13:53Z"}}',
        '{"_id":{"$oid":"58a41d952f53291200b9e068"},"name":"","createdAt":{"$date":"2017-02-13T06:13:53Z"},"updatedAt":{"$date":"2017-02-13T06:13:53Z"}}',
      ].join(',')}]\n`,
    );
    const result = await importFile(t, url, file);
    assert.equal(result.code, EXIT.dataError);
    const reported = result.stderr.split('\n').filter((l) => l.startsWith('record '));
    assert.deepEqual(reported, [
      'record 2: _id must be an ObjectId ({"$oid": "…"})',
      'record 3: createdAt is required; updatedAt is required',
      'record 4: createdAt must be a date ({"$date": …})',
      'record 5: name must NOT have fewer than 1 characters',
    ]);
    assert.match(result.stderr, /4 of 5 records are invalid; nothing was imported/);
    assert.deepEqual(await usersIn(t, url), []);
  });

  test('SQLite when the array file is cut short, then the missing end is reported and nothing is imported', async (t) => {
    const dir = tempDir(t);
    const url = `sqlite:${join(dir, 'app.db')}`;
    const whole = readFileSync(CANONICAL_ARRAY, 'utf8');
    const file = join(dir, 'cut.json');
    // Cut right after the first document: what is there parses, the end is missing.
    writeFileSync(file, whole.slice(0, whole.indexOf('},{"_id"') + 1));
    const result = await importFile(t, url, file);
    assert.equal(result.code, EXIT.dataError);
    assert.match(result.stderr, /record 2: file the array never ends \(no closing "]"\)/);
    assert.deepEqual(await usersIn(t, url), []);
    copyFileSync(CANONICAL_ARRAY, file);
    assert.equal((await importFile(t, url, file)).code, EXIT.ok);
  });
});
