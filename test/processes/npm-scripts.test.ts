import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { ANY_LOOPBACK_PORT, shellEnv } from '../support/web-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
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
  /** `npm start [args]` until the web process is ready, then SIGTERM by its logged pid. */
  async function npmStart(t: TestContext, args: string[] = []) {
    const npm = spawn('npm', ['start', ...args], {
      cwd: ROOT,
      env: shellEnv({
        ...ANY_LOOPBACK_PORT,
        DATABASE_URL: 'sqlite::memory:',
        SHUTDOWN_DELAY_MS: '0',
      }),
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
    return lines;
  }

  const assertServiceEvents = (lines: string[]) => {
    assert.ok(lines.length >= 2, lines.join('\n'));
    for (const line of lines) {
      const event = JSON.parse(line) as { msg?: unknown };
      assert.equal(typeof event.msg, 'string', line);
    }
  };

  it("starts without building; stdout is npm's banner, then only the service's JSON events", async (t) => {
    assert.equal(pkg.scripts.prestart, undefined, 'no prestart build');
    assert.doesNotMatch(pkg.scripts.start!, /build|vite/);
    const bundle = join(ROOT, 'dist/processes/web.js');
    const builtAt = statSync(bundle).mtimeMs;
    const lines = await npmStart(t);
    // npm writes its banner to stdout, and only its loglevel `silent` (which also hides npm's
    // own errors, the install's refusal of an old Node.js among them) drops it.
    assert.deepEqual(lines.slice(0, 4), [
      '',
      `> ${pkg.name}@${pkg.version} start`,
      `> ${pkg.scripts.start}`,
      '',
    ]);
    assertServiceEvents(lines.slice(4));
    assert.equal(statSync(bundle).mtimeMs, builtAt, 'dist/ was not rebuilt');
  });

  it("npm start --silent: stdout carries only the service's JSON events", async (t) => {
    assertServiceEvents(await npmStart(t, ['--silent']));
  });

  it('the install builds: prepare runs the build, and the checkout pins Node.js 24', () => {
    assert.equal(pkg.scripts.prepare, 'npm run build');
    for (const file of ['.nvmrc', '.node-version']) {
      assert.equal(readFileSync(join(ROOT, file), 'utf8').trim(), '24', file);
    }
    assert.match(readFileSync(join(ROOT, '.npmrc'), 'utf8'), /^engine-strict=true$/m);
  });
  it('npm install leaves the lockfile as committed (git status stays clean)', (t) => {
    // npm 11 marks the root "hasInstallScript" when package.json has a preinstall, install or
    // postinstall script; the lockfile's resolution is checked from npm's cache, offline.
    const dir = mkdtempSync(join(tmpdir(), '12f-lock-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (const file of ['package.json', 'package-lock.json', '.npmrc']) {
      cpSync(join(ROOT, file), join(dir, file));
    }
    const run = spawnSync(
      'npm',
      [
        'install',
        '--package-lock-only',
        '--offline',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
      ],
      {
        cwd: dir,
        env: shellEnv(),
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(
      readFileSync(join(dir, 'package-lock.json'), 'utf8'),
      readFileSync(join(ROOT, 'package-lock.json'), 'utf8'),
    );
  });
});

describe('preflight', () => {
  const oneLine =
    /^12factor-app needs Node\.js 24 or newer \(this is v\d+\.\d+\.\d+\): run `nvm install` \(it reads \.nvmrc\) or get it from https:\/\/nodejs\.org\/\n$/;

  /** The old Node.js first on PATH, so that `npm` (and the `node` its scripts run) is that one. */
  const oldEnv = () => ({
    PATH: `${dirname(oldNode!)}:${process.env.PATH}`,
    HOME: process.env.HOME ?? '',
    DATABASE_URL: 'sqlite::memory:',
  });

  for (const script of ['start', 'dev', 'admin', 'migrate', 'worker', 'clock']) {
    it(
      `npm run ${script} on an older Node.js exits 1 with one line saying how to get 24`,
      { skip: noOldNode },
      () => {
        const run = spawnSync('npm', ['run', script], {
          killSignal: 'SIGKILL',
          cwd: ROOT,
          env: oldEnv(),
          encoding: 'utf8',
          timeout: 60_000,
        });
        assert.equal(run.status, 1, run.stderr);
        // The whole of stderr: npm adds nothing to a script's failure; stdout has its banner only.
        assert.match(run.stderr, oneLine);
        assert.equal(
          run.stdout,
          `\n> ${pkg.name}@${pkg.version} ${script}\n> ${pkg.scripts[script]}\n\n`,
        );
      },
    );
  }

  for (const command of ['install', 'ci']) {
    it(
      `npm ${command} on an older Node.js stops before fetching or running anything`,
      { skip: noOldNode },
      (t) => {
        const dir = mkdtempSync(join(tmpdir(), '12f-old-node-'));
        t.after(() => rmSync(dir, { recursive: true, force: true }));
        for (const file of ['package.json', 'package-lock.json', '.npmrc']) {
          cpSync(join(ROOT, file), join(dir, file));
        }
        // --offline only bounds a regression: a refusal that failed would not download the world.
        const run = spawnSync('npm', [command, '--offline', '--no-audit', '--no-fund'], {
          cwd: dir,
          env: oldEnv(),
          encoding: 'utf8',
          timeout: 120_000,
        });
        assert.notEqual(run.status, 0);
        // npm checks engines before any script of the package could run (npm 7 and later run
        // the package's own preinstall only after installing every dependency), so the words
        // are npm's: the first line names the refusal, two more the versions.
        const lines = run.stderr.split('\n');
        assert.equal(lines[0], 'npm error code EBADENGINE', run.stderr);
        assert.ok(lines.includes('npm error notsup Required: {"node":">=24"}'), run.stderr);
        assert.match(run.stderr, /^npm error notsup Actual: {3}\{"node":"v\d+/m);
        assert.equal(run.stdout, '', 'no script ran');
        assert.equal(existsSync(join(dir, 'node_modules')), false, 'nothing installed');
      },
    );
  }

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
