import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { EXIT, runAdminCommand } from '../../src/admin/command.ts';
import { exportCommand } from '../../src/admin/export.ts';
import { storeUnavailable } from '../../src/users/errors.ts';
import { UserService } from '../../src/users/user-service.ts';
import type { User } from '../../src/users/user.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import { seedUser } from '../../src/admin/seed-users.ts';
import { captureIo, openTestContext, tempDir } from './support.ts';

async function seeded(t: TestContext, count: number, io = captureIo().io) {
  const context = await openTestContext(t, 'sqlite::memory:', io);
  await context.store.migrate();
  const users = Array.from({ length: count }, (_, i) => seedUser(5, i));
  await context.store.importMany(users.toReversed(), { mode: 'newer' });
  return context;
}

describe('admin export', () => {
  test('when exporting to stdout, then every user is one line in id order and API key order, summary on stderr', async (t) => {
    const out = captureIo();
    const context = await seeded(t, 2500, out.io);
    assert.equal(await exportCommand.run(context, exportCommand.parse([])), EXIT.ok);
    const lines = out.stdout().split('\n');
    assert.equal(lines.pop(), '', 'the last line ends with a newline');
    assert.equal(lines.length, 2500);
    const records = lines.map((line) => JSON.parse(line) as User);
    assert.deepEqual(
      records.map((r) => r.id),
      records.map((r) => r.id).toSorted(),
    );
    for (const record of records.slice(0, 50)) {
      const keys = Object.keys(record);
      assert.deepEqual(
        keys,
        record.email === undefined
          ? ['name', 'createdAt', 'updatedAt', 'id']
          : ['name', 'email', 'createdAt', 'updatedAt', 'id'],
      );
    }
    assert.match(out.stderr(), /^export: 2,500 users to stdout in [\d.]+ s, peak RSS \d+ MB\n$/);
  });

  test('when exporting with --out, then the file holds the same bytes as stdout would and no temporary file is left', async (t) => {
    const dir = tempDir(t);
    const toStdout = captureIo();
    const context = await seeded(t, 300, toStdout.io);
    await exportCommand.run(context, exportCommand.parse([]));
    const file = join(dir, 'users.ndjson');
    const toFile = captureIo();
    assert.equal(
      await exportCommand.run({ ...context, io: toFile.io }, exportCommand.parse(['--out', file])),
      EXIT.ok,
    );
    assert.equal(toFile.stdout(), '');
    assert.equal(readFileSync(file, 'utf8'), toStdout.stdout());
    assert.deepEqual(readdirSync(dir), ['users.ndjson']);
  });

  test('when the store fails mid-export, then exit 69, no --out file and no temporary file', async (t) => {
    const dir = tempDir(t);
    const context = await seeded(t, 3000);
    // A store that breaks after two pages, as a database going away would.
    const failing: UserStore = Object.create(context.store);
    failing.stream = async function* (options) {
      let n = 0;
      for await (const user of context.store.stream(options)) {
        if (++n > 2000) throw storeUnavailable(new Error('connection reset'));
        yield user;
      }
    };
    const out = captureIo();
    const file = join(dir, 'users.ndjson');
    const code = await runAdminCommand(exportCommand, ['--out', file], out.io, async (io) => ({
      ...context,
      io,
      store: failing,
      users: new UserService({ store: failing }),
    }));
    assert.equal(code, EXIT.unavailable);
    assert.match(out.stderr(), /admin export: The store cannot be reached\. \(connection reset\)/);
    assert.equal(existsSync(file), false);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('when --out names a missing directory, then exit 1 naming the file', async (t) => {
    const out = captureIo();
    const context = await seeded(t, 10, out.io);
    const file = join(tempDir(t), 'missing', 'users.ndjson');
    assert.equal(
      await exportCommand.run(context, exportCommand.parse(['--out', file])),
      EXIT.failure,
    );
    assert.match(out.stderr(), /admin export: cannot write .*users\.ndjson: .*ENOENT/);
  });
});
