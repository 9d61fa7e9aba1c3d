import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EXIT, runAdminCommand } from '../../src/admin/command.ts';
import { migrateCommand } from '../../src/admin/migrate.ts';
import { captureIo, openTestContext, tempDir } from './support.ts';

async function migrate(t: Parameters<typeof tempDir>[0], url: string, argv: string[]) {
  const out = captureIo();
  const code = await runAdminCommand(migrateCommand, argv, out.io, (io) =>
    openTestContext(t, url, io),
  );
  return { code, stdout: out.stdout(), stderr: out.stderr() };
}

describe('admin migrate', () => {
  test('when migrate --status runs on a new store, then every migration is listed pending and nothing is applied', async (t) => {
    const url = `sqlite:${join(tempDir(t), 'app.db')}`;
    const first = await migrate(t, url, ['--status']);
    assert.equal(first.code, EXIT.ok);
    assert.match(first.stdout, /^pending {2}0001-create-users$/m);
    assert.doesNotMatch(first.stdout, /^applied/m);
    assert.match(first.stdout, /migrate: 0 applied, \d+ pending\n$/);
    assert.deepEqual(await migrate(t, url, ['--status']), first);
  });

  test('when migrate runs twice, then the first applies every migration and the second says the schema is current', async (t) => {
    const url = `sqlite:${join(tempDir(t), 'app.db')}`;
    const applied = await migrate(t, url, []);
    assert.equal(applied.code, EXIT.ok);
    assert.match(
      applied.stdout,
      /^migrate: applied 0001-create-users, .*\(\d+ applied, 0 pending\)$/m,
    );
    const again = await migrate(t, url, []);
    assert.match(again.stdout, /^migrate: schema already current \(\d+ applied, 0 pending\)$/m);
    const status = await migrate(t, url, ['--status']);
    assert.match(status.stdout, /^applied {2}0001-create-users$/m);
    assert.doesNotMatch(status.stdout, /^pending/m);
  });

  test('when --rollback comes without --yes, then exit 64 with the reason and nothing is rolled back', async (t) => {
    const url = `sqlite:${join(tempDir(t), 'app.db')}`;
    await migrate(t, url, []);
    for (const argv of [
      ['--rollback'],
      ['--yes'],
      ['--status', '--rollback', '--yes'],
      ['--to', 'x'],
    ]) {
      const refused = await migrate(t, url, argv);
      assert.equal(refused.code, EXIT.usage, argv.join(' '));
      assert.match(refused.stderr, /^admin migrate: .+\n\nUsage: admin migrate/);
      assert.equal(refused.stdout, '');
    }
    assert.doesNotMatch((await migrate(t, url, ['--status'])).stdout, /^pending/m);
  });

  test('when --rollback --yes runs, then the last migration is pending again and migrate restores it', async (t) => {
    const url = `sqlite:${join(tempDir(t), 'app.db')}`;
    const empty = await migrate(t, url, ['--rollback', '--yes']);
    assert.equal(empty.code, EXIT.ok);
    assert.match(empty.stdout, /nothing to roll back/);
    await migrate(t, url, []);
    const status = (await migrate(t, url, ['--status'])).stdout;
    const last = [...status.matchAll(/^applied {2}(\S+)$/gm)].at(-1)?.[1];
    const rolledBack = await migrate(t, url, ['--rollback', '--yes']);
    assert.equal(rolledBack.code, EXIT.ok);
    assert.match(
      rolledBack.stdout,
      new RegExp(`^migrate: rolled back ${last} \\(\\d+ applied, 1 pending\\)$`, 'm'),
    );
    assert.match(
      (await migrate(t, url, ['--status'])).stdout,
      new RegExp(`^pending {2}${last}$`, 'm'),
    );
    assert.match((await migrate(t, url, [])).stdout, new RegExp(`applied ${last} `));
  });

  test('when --help is given, then the usage goes to stdout with exit 0', async (t) => {
    const help = await migrate(t, 'sqlite::memory:', ['--help']);
    assert.equal(help.code, EXIT.ok);
    assert.match(help.stdout, /^Usage: admin migrate/);
  });
});
