import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../../src/admin/command.ts';
import { UserService } from '../../src/users/user-service.ts';
import { createStore } from '../../src/store/index.ts';
import { ADMIN, runAdmin, tempDir } from './support.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('admin', () => {
  it('--help says what each command does', async () => {
    const help = await runAdmin(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^ {2}seed {2,}fills an empty store with sample users$/m);
    assert.match(help.stdout, /^ {2}doctor app {2,}checks this deployment/m);
  });

  it('doctor alone gives the usage of its subcommands, exit 64', async () => {
    const run = await runAdmin(['doctor']);
    assert.equal(run.code, EXIT.usage);
    assert.doesNotMatch(run.stderr, /unknown command/);
    assert.match(run.stderr, /^Usage: admin doctor <host\|app> \[options\]/);
    assert.match(run.stderr, /^ {2}doctor host {2,}\w/m);
  });

  it('run by npm without --, a usage error says where the -- goes', async () => {
    // `npm run admin seed --count 5` reaches the command as `seed 5`.
    const byNpm = await runAdmin(['seed', '5'], {
      env: { DATABASE_URL: 'sqlite::memory:', npm_lifecycle_event: 'admin' },
    });
    assert.equal(byNpm.code, EXIT.usage);
    assert.match(byNpm.stderr, /Unexpected argument '5'/);
    assert.match(byNpm.stderr, /npm run admin -- <command> \[options\]/);
    const direct = await runAdmin(['seed', '5'], { env: { DATABASE_URL: 'sqlite::memory:' } });
    assert.doesNotMatch(direct.stderr, /npm run admin --/);
  });

  it('a reader that closes the pipe early ends the command quietly with exit 0', async (t) => {
    const url = `sqlite:${join(tempDir(t), 'app.db')}`;
    const seeded = await runAdmin(['seed', '--count', '3000', '--no-events'], {
      env: { DATABASE_URL: url },
      timeoutMs: 60_000,
    });
    assert.equal(seeded.code, 0, seeded.stderr);
    // As `admin export | head -n 1`: the reader takes one line and goes away.
    const child = spawn(process.execPath, [ADMIN, 'export'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise((resolve) => child.once('close', resolve));
    assert.equal(stderr.includes('EPIPE'), false, stderr);
    assert.equal(code, 0, stderr);
  });

  it('console: users.list({ limit: 1 }) answers one user, with the API defaults for the rest', async (t) => {
    const store = await createStore({
      url: 'sqlite::memory:',
      poolMax: 1,
      connectTimeoutMs: 1000,
      statementTimeoutMs: 1000,
    });
    t.after(() => store.close());
    await store.migrate();
    const users = new UserService({ store });
    await users.create({ name: 'one' });
    await users.create({ name: 'two' });
    const page = await users.list({ limit: 1 });
    assert.equal(page.users.length, 1);
    assert.equal(page.total, 2);
    assert.equal((await users.list()).users.length, 2);
  });
});
