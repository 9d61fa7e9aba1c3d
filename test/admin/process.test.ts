import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EXIT } from '../../src/admin/command.ts';
import { ADMIN, ROOT, runAdmin, tempDir } from './support.ts';

const COMMANDS = ['migrate', 'seed', 'export', 'import', 'console'];

describe('admin process', () => {
  test('when admin runs without a known command, then it lists every command; --help exits 0', async () => {
    const help = await runAdmin(['--help']);
    assert.equal(help.code, 0);
    for (const name of ['doctor host', 'doctor app', ...COMMANDS]) {
      assert.match(help.stdout, new RegExp(`^  ${name} {2,}\\w.{10,}$`, 'm'));
    }
    const unknown = await runAdmin(['frobnicate']);
    assert.equal(unknown.code, EXIT.usage);
    assert.match(unknown.stderr, /^admin: unknown command "frobnicate"/);
  });

  test('when a command gets an unknown option, then its usage goes to stderr, nothing to stdout, exit 64', async () => {
    const runs = await Promise.all(
      COMMANDS.map((name) =>
        runAdmin([name, '--frobnicate'], { env: { DATABASE_URL: 'sqlite::memory:' } }),
      ),
    );
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, EXIT.usage, COMMANDS[i]);
      assert.equal(run.stdout, '');
      assert.match(
        run.stderr,
        new RegExp(
          `^admin ${COMMANDS[i]}: Unknown option '--frobnicate'.*\\n\\nUsage: admin ${COMMANDS[i]}`,
          's',
        ),
      );
    }
  });

  test('when the console has no terminal, then it refuses with exit 64 instead of hanging', async () => {
    const run = await runAdmin(['console'], {
      env: { DATABASE_URL: 'sqlite::memory:' },
      timeoutMs: 10_000,
    });
    assert.equal(run.code, EXIT.usage);
    assert.match(run.stderr, /admin console: needs an interactive terminal/);
  });

  test('when the configuration is bad, then exit 78 naming the variable', async () => {
    const run = await runAdmin(['export'], { env: { DATABASE_URL: 'ftp://x', LOG_LEVEL: 'loud' } });
    assert.equal(run.code, EXIT.config);
    assert.match(run.stderr, /admin export: Invalid configuration: DATABASE_URL .*LOG_LEVEL/);
    assert.equal(run.stdout, '');
  });

  test('when the store cannot be reached, then exit 69 with a redacted message', async () => {
    const run = await runAdmin(['export'], {
      env: {
        DATABASE_URL: 'postgres://app:hunter2@127.0.0.1:1/app',
        DATABASE_CONNECT_TIMEOUT_MS: '500',
      },
    });
    assert.equal(run.code, EXIT.unavailable);
    assert.match(run.stderr, /admin export: The store cannot be reached/);
    assert.doesNotMatch(run.stderr, /hunter2/);
  });

  test('when seed, export and import run as processes, then stdout carries only records and the copy is identical', async (t) => {
    const dir = tempDir(t);
    const source = { DATABASE_URL: `sqlite:${join(dir, 'source.db')}` };
    const target = { DATABASE_URL: `sqlite:${join(dir, 'target.db')}` };
    const seed = await runAdmin(['seed', '--count', '1500'], { env: source });
    assert.equal(seed.code, 0, seed.stderr);
    assert.match(seed.stdout, /^seed: 1,500 users created/);

    const exported = await runAdmin(['export'], { env: source });
    assert.equal(exported.code, 0, exported.stderr);
    const lines = exported.stdout.trimEnd().split('\n');
    // The process once exited with part of its output still queued: say what both sides saw.
    assert.equal(
      lines.length,
      1500,
      `seed said: ${seed.stdout.trim()}; export said: ${exported.stderr
        .split('\n')
        .filter((l) => l.startsWith('export:'))
        .join(' ')}`,
    );
    for (const line of lines) assert.ok(typeof JSON.parse(line).id === 'string');
    // Logs (JSON, on stderr) and the summary never reach stdout.
    assert.match(exported.stderr, /"msg":"exporting"/);
    assert.match(exported.stderr, /^export: 1,500 users to stdout /m);

    const imported = await runAdmin(['import'], { env: target, stdin: exported.stdout });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /^import: 1,500 users read; 1,500 created/);
    const again = await runAdmin(['export'], { env: target });
    assert.equal(again.stdout, exported.stdout);

    const bad = await runAdmin(['import'], { env: target, stdin: `${lines[0]}\n{"name":""}\n` });
    assert.equal(bad.code, EXIT.dataError);
    assert.match(bad.stderr, /^line 2: /m);
  });

  test('when the reader of an export is slow, then every line still reaches it before the exit', async (t) => {
    const dir = tempDir(t);
    const env = { DATABASE_URL: `sqlite:${join(dir, 'source.db')}` };
    assert.equal((await runAdmin(['seed', '--count', '5000'], { env })).code, 0);
    // `admin export | gzip` on a busy machine: the pipe fills while the reader is not reading.
    const child = spawn(process.execPath, [ADMIN, 'export'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    child.stdout.pause();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const ended = new Promise((resolve) => child.stdout.once('end', resolve));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    child.stdout.resume();
    assert.equal(await exited, 0);
    await ended;
    assert.equal(text.trimEnd().split('\n').length, 5000);
  });
});
