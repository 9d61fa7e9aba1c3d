import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

/** A Node.js older than 24 on this machine (Debian's, or OLD_NODE), to be refused. */
function findOldNode(): string | undefined {
  for (const candidate of [process.env.OLD_NODE, '/usr/bin/node', '/usr/local/bin/node']) {
    if (!candidate) continue;
    const run = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    if (run.status === 0 && Number(run.stdout.split('.')[0]) < 24) return candidate;
  }
  return undefined;
}
const oldNode = findOldNode();
const noOldNode = oldNode === undefined && 'no Node.js older than 24 here (set OLD_NODE)';

describe('npm start', () => {
  it('starts without building, and stdout carries only the service JSON after npm banner', async (t) => {
    assert.equal(pkg.scripts.prestart, undefined, 'no prestart build');
    assert.doesNotMatch(pkg.scripts.start!, /build|vite/);
    const bundle = join(ROOT, 'dist/processes/web.js');
    const builtAt = statSync(bundle).mtimeMs;
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: 'sqlite::memory:',
        SHUTDOWN_DELAY_MS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (npm.exitCode === null) npm.kill('SIGKILL');
    });
    const lines: string[] = [];
    const ready = new Promise<{ pid: number }>((resolve, reject) => {
      createInterface({ input: npm.stdout! }).on('line', (line) => {
        lines.push(line);
        if (line.includes('"web ready"')) resolve(JSON.parse(line) as { pid: number });
      });
      npm.once('exit', () => reject(new Error(`npm start exited: ${lines.join('\n')}`)));
    });
    const { pid } = await ready;
    // Signalled by the pid it logs: npm's `sh -c` wrapper would die and orphan it.
    t.after(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    const exited = new Promise<number | null>((resolve) => npm.once('exit', resolve));
    process.kill(pid, 'SIGTERM');
    assert.equal(await exited, 0);
    // npm itself prints a blank line and "> <package> start", "> <command>" (unless --silent).
    const service = lines.filter((line) => line !== '' && !line.startsWith('> '));
    assert.ok(lines.filter((line) => line.startsWith('> ')).length <= 2, lines.join('\n'));
    assert.ok(service.length >= 2, lines.join('\n'));
    for (const line of service) {
      const event = JSON.parse(line) as { msg?: unknown };
      assert.equal(typeof event.msg, 'string', line);
    }
    assert.equal(statSync(bundle).mtimeMs, builtAt, 'dist/ was not rebuilt');
  });

  it('the install builds: prepare runs the build, and the checkout pins Node.js 24', () => {
    assert.equal(pkg.scripts.prepare, 'npm run build');
    for (const file of ['.nvmrc', '.node-version']) {
      assert.equal(readFileSync(join(ROOT, file), 'utf8').trim(), '24', file);
    }
    assert.match(readFileSync(join(ROOT, '.npmrc'), 'utf8'), /^engine-strict=true$/m);
  });
});

describe('preflight', () => {
  const oneLine =
    /^12factor-app needs Node\.js 24 or newer \(this is v\d+\.\d+\.\d+\): run `nvm install` \(it reads \.nvmrc\) or get it from https:\/\/nodejs\.org\/\n$/;

  for (const script of ['start', 'dev', 'admin', 'migrate', 'worker', 'clock']) {
    it(
      `npm run ${script} on an older Node.js exits 1 with one line saying how to get 24`,
      { skip: noOldNode },
      () => {
        const run = spawnSync('sh', ['-c', pkg.scripts[script]!], {
          killSignal: 'SIGKILL',
          cwd: ROOT,
          env: {
            PATH: `${dirname(oldNode!)}:${process.env.PATH}`,
            DATABASE_URL: 'sqlite::memory:',
          },
          encoding: 'utf8',
          timeout: 30_000,
        });
        assert.equal(run.status, 1, run.stderr);
        assert.match(run.stderr, oneLine);
        assert.equal(run.stdout, '');
      },
    );
  }

  it(
    'npm install on an older Node.js refuses before fetching anything',
    { skip: noOldNode },
    (t) => {
      const dir = mkdtempSync(join(tmpdir(), '12f-old-node-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      for (const file of ['package.json', 'package-lock.json', '.npmrc']) {
        cpSync(join(ROOT, file), join(dir, file));
      }
      const run = spawnSync('npm', ['install', '--dry-run', '--offline', '--ignore-scripts'], {
        cwd: dir,
        env: { PATH: `${dirname(oldNode!)}:${process.env.PATH}`, HOME: process.env.HOME ?? '' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, /EBADENGINE/);
      assert.match(run.stderr, /Required: \{"node":">=24"\}/);
    },
  );

  it('a start before the build says to build, not a module-not-found trace', () => {
    const dir = mkdtempSync(join(tmpdir(), '12f-unbuilt-'));
    try {
      const run = spawnSync(
        process.execPath,
        [
          '--require',
          join(ROOT, 'src/processes/preflight.cjs'),
          join(dir, 'dist/processes/web.js'),
        ],
        { encoding: 'utf8' },
      );
      assert.equal(run.status, 1);
      assert.match(run.stderr, /not built yet .*: run `npm run build`\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
