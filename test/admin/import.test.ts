import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { EXIT, runAdminCommand } from '../../src/admin/command.ts';
import { importCommand } from '../../src/admin/import.ts';
import type { User } from '../../src/users/user.ts';
import { captureIo, ndjson, openTestContext, tempDir } from './support.ts';

const id = (n: number) => n.toString(16).padStart(24, '0');
const at = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s)).toISOString();
const user = (n: number, fields: Partial<User> = {}): User => ({
  name: `user ${n}`,
  email: `u${n}@example.com`,
  createdAt: at(n),
  updatedAt: at(n),
  id: id(n),
  ...fields,
});

/** Runs `admin import` on a file-backed SQLite store, as the entry would. */
async function importText(t: TestContext, url: string, text: string, argv: string[] = []) {
  const file = join(tempDir(t), 'in.ndjson');
  writeFileSync(file, text);
  const out = captureIo();
  const code = await runAdminCommand(importCommand, ['--in', file, ...argv], out.io, (io) =>
    openTestContext(t, url, io),
  );
  return { code, stdout: out.stdout(), stderr: out.stderr() };
}

async function usersIn(t: TestContext, url: string): Promise<User[]> {
  const users: User[] = [];
  for await (const u of (await openTestContext(t, url)).users.stream()) users.push(u);
  return users;
}

const storeUrl = (t: TestContext) => `sqlite:${join(tempDir(t), 'app.db')}`;

describe('admin import', () => {
  test('when every line is valid, then users keep ids and timestamps, and a second run changes nothing', async (t) => {
    const url = storeUrl(t);
    const records = [user(1), user(2, { email: undefined }), user(3, { updatedAt: at(90) })];
    const text = `${ndjson(records)}\n  \n`;
    const first = await importText(t, url, text);
    assert.equal(first.code, EXIT.ok, first.stderr);
    assert.match(
      first.stdout,
      /^import: 3 users read; 3 created, 0 updated, 0 unchanged, 0 skipped \(mode newer\) in /,
    );
    const stored = await usersIn(t, url);
    assert.deepEqual(
      stored,
      records.map((r) => JSON.parse(JSON.stringify(r))),
    );
    const second = await importText(t, url, text);
    assert.match(second.stdout, /3 users read; 0 created, 0 updated, 3 unchanged, 0 skipped/);
    assert.deepEqual(await usersIn(t, url), stored);
  });

  test('when lines are bad, then each is reported by number and nothing at all is imported', async (t) => {
    const url = storeUrl(t);
    const lines = [
      JSON.stringify(user(1)),
      '{"name": "broken"',
      JSON.stringify({ ...user(3), name: undefined }),
      JSON.stringify({ ...user(4), role: 'admin' }),
      JSON.stringify(user(5, { email: 'not-an-address' })),
      JSON.stringify(user(6, { id: 'XYZ' })),
      JSON.stringify(user(7, { createdAt: '2024-01-01T00:00:07Z' })),
      JSON.stringify(user(8, { updatedAt: at(1) })),
      JSON.stringify(user(9, { name: 'x'.repeat(101) })),
      JSON.stringify(user(10, { name: 'tab\there' })),
      JSON.stringify(user(11, { id: id(1), email: 'other@example.com' })),
      JSON.stringify(user(12, { email: 'U1@Example.com' })),
      '[1, 2]',
    ];
    const result = await importText(t, url, ndjson(lines));
    assert.equal(result.code, EXIT.dataError);
    const reported = result.stderr.split('\n').filter((l) => l.startsWith('line '));
    assert.deepEqual(
      reported.map((l) => Number(/^line (\d+):/.exec(l)?.[1])),
      [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
    );
    assert.match(result.stderr, /^line 2: line is not valid JSON$/m);
    assert.match(result.stderr, /^line 3: name is required$/m);
    assert.match(result.stderr, /^line 4: role is not a known attribute$/m);
    assert.match(result.stderr, /^line 5: email must match format "email"$/m);
    assert.match(result.stderr, /^line 7: createdAt must be UTC with milliseconds/m);
    assert.match(result.stderr, /^line 8: updatedAt must not be before createdAt$/m);
    assert.match(result.stderr, /^line 11: id repeats line 1$/m);
    assert.match(result.stderr, /^line 12: email repeats line 1$/m);
    assert.match(result.stderr, /12 of 13 lines are invalid; nothing was imported\n$/);
    assert.equal(result.stdout, '');
    assert.deepEqual(await usersIn(t, url), []);
  });

  test('when --dry-run is given, then the summary says what would change and nothing is written', async (t) => {
    const url = storeUrl(t);
    await importText(t, url, ndjson([user(1)]));
    const result = await importText(
      t,
      url,
      ndjson([user(1, { name: 'renamed', updatedAt: at(50) }), user(2)]),
      ['--dry-run'],
    );
    assert.equal(result.code, EXIT.ok, result.stderr);
    assert.match(
      result.stdout,
      /^import \(dry run, nothing written\): 2 users read; 1 created, 1 updated, 0 unchanged, 0 skipped/,
    );
    assert.deepEqual(await usersIn(t, url), [user(1)]);
  });

  test('when a batch takes an address the store holds, then that batch is rolled back whole and earlier batches stay', async (t) => {
    const url = storeUrl(t);
    const holder = user(100, { email: 'held@example.com' });
    await importText(t, url, ndjson([holder]));
    const records = [
      user(1),
      user(2),
      user(3),
      user(4, { email: 'HELD@example.com' }),
      user(5),
      user(6),
    ];
    const result = await importText(t, url, ndjson(records), ['--batch-size', '2']);
    assert.equal(result.code, EXIT.dataError);
    assert.match(
      result.stderr,
      /lines 3–4 failed and were rolled back: Another user already has this e-mail address/,
    );
    assert.match(
      result.stderr,
      /2 users in earlier batches stay written; fix the cause and run the same import again/,
    );
    assert.deepEqual(
      (await usersIn(t, url)).map((u) => u.id),
      [id(1), id(2), id(100)],
    );
  });

  test('when the mode is skip or overwrite, then existing ids are kept or replaced whatever their updatedAt', async (t) => {
    const url = storeUrl(t);
    await importText(t, url, ndjson([user(1, { updatedAt: at(50) })]));
    const older = user(1, { name: 'older' });
    const skipped = await importText(t, url, ndjson([older]), ['--mode', 'skip']);
    assert.match(skipped.stdout, /0 updated, 0 unchanged, 1 skipped \(mode skip\)/);
    assert.match((await importText(t, url, ndjson([older]))).stdout, /1 skipped \(mode newer\)/);
    const overwritten = await importText(t, url, ndjson([older]), ['--mode', 'overwrite']);
    assert.match(overwritten.stdout, /1 updated, 0 unchanged, 0 skipped \(mode overwrite\)/);
    assert.deepEqual(await usersIn(t, url), [older]);
  });

  test('when NDJSON comes on stdin, then it is spooled and imported like a file', async (t) => {
    const out = captureIo({ stdin: ndjson([user(1), user(2)]) });
    const context = await openTestContext(t, 'sqlite::memory:', out.io);
    await context.store.migrate();
    const code = await importCommand.run(context, importCommand.parse([]));
    assert.equal(code, EXIT.ok, out.stderr());
    assert.match(out.stdout(), /2 users read; 2 created/);
    assert.equal(await context.users.count(), 2);
  });

  test('when stdin is a terminal and no --in is given, then exit 64 rather than wait for typing', async (t) => {
    const out = captureIo({ tty: true });
    const context = await openTestContext(t, 'sqlite::memory:', out.io);
    assert.equal(await importCommand.run(context, importCommand.parse([])), EXIT.usage);
    assert.match(out.stderr(), /no input: pipe NDJSON into stdin or give --in FILE/);
  });

  test('when import options are wrong, then parse reports a usage error', () => {
    for (const argv of [['--mode', 'merge'], ['--batch-size', '0'], ['--in'], ['extra']]) {
      assert.throws(() => importCommand.parse(argv), { name: 'UsageError' }, argv.join(' '));
    }
    assert.deepEqual(importCommand.parse(['--no-events', '--dry-run']), {
      in: undefined,
      dryRun: true,
      mode: 'newer',
      batchSize: 2000,
      events: false,
    });
  });

  test('when --in names a missing file, then exit 1 naming it', async (t) => {
    const out = captureIo();
    const context = await openTestContext(t, 'sqlite::memory:', out.io);
    const file = join(tempDir(t), 'missing.ndjson');
    assert.equal(
      await importCommand.run(context, importCommand.parse(['--in', file])),
      EXIT.failure,
    );
    assert.match(out.stderr(), /^admin import: cannot read .*missing\.ndjson: ENOENT/);
  });
});
