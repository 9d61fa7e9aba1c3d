import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../support/free-port.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import {
  BUILD,
  IMAGE,
  ROOT,
  buildBaseImages,
  buildImage,
  podmanEnv,
  podmanMissing,
  run,
  scratchDir,
  until,
} from './support/podman.ts';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const missing = podmanMissing();
const scratch = scratchDir('12f-image-');
const env = missing ? process.env : podmanEnv(scratch.dir);
const suffix = `${process.pid}`;
const containers: string[] = [];
const volumes: string[] = [];
const podman = (args: string[], allowFail = false) => run('podman', args, { env, allowFail });

/**
 * `podman run -d` of the README's command: the README's flags first, then the test's name and a
 * free loopback port. Returns the container's name.
 */
async function start(name: string, args: string[]): Promise<string> {
  const full = `12f-${name}-${suffix}`;
  containers.push(full);
  await podman(['run', '-d', '--name', full, ...args]);
  return full;
}

/** Stops like `docker stop` within the grace period Compose and Kubernetes give (35 s). */
async function stopGracefully(name: string) {
  await podman(['stop', '-t', '35', name]);
  const { stdout } = await podman(['inspect', '--format', '{{.State.ExitCode}}', name]);
  return Number(stdout.trim());
}

async function logLines(name: string) {
  const { stdout, stderr } = await podman(['logs', name]);
  assert.equal(stderr, '', `${name} writes nothing to stderr`);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`${name}: a stdout line is not JSON: ${line}`);
      }
    });
}

const ready = (url: string) => until(url, async () => (await fetch(url)).status === 200);

/** The tutorial's four curl calls, then what the build put in /version. */
async function tutorial(base: string) {
  const call = async (method: string, path: string) => {
    const response = await fetch(`${base}${path}`, { method });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const created = await call('POST', '/user?name=bingo');
  assert.equal(created.status, 201);
  const id = String(created.body.id);
  const listed = await fetch(`${base}/user`).then((r) => r.json() as Promise<{ id: string }[]>);
  assert.ok(listed.some((user) => user.id === id));
  const updated = await call('PUT', `/user/${id}?name=bingohuang`);
  assert.equal(updated.body.name, 'bingohuang');
  assert.equal((await call('DELETE', `/user/${id}`)).status, 200);
  assert.equal((await call('GET', `/user/${id}`)).status, 404);
  const version = await call('GET', '/version');
  assert.equal(version.body.commit, BUILD.GIT_COMMIT);
  assert.equal(version.body.version, pkg.version);
}

/** The first row of one query, as `app` with `password` over TCP, or the server’s refusal. */
async function queryOverTcp(port: string, password: string, sql: string) {
  const client = new pg.Client({
    connectionString: `postgres://app:${password}@127.0.0.1:${port}/app`,
    connectionTimeoutMillis: 15_000,
  });
  try {
    await client.connect();
    return (await client.query(sql)).rows[0] as Record<string, unknown>;
  } catch (error) {
    return { refused: (error as Error).message };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** PID 1's command, user and capabilities, read from inside the running container. */
async function processOne(name: string) {
  const cmdline = (await podman(['exec', name, 'cat', '/proc/1/cmdline'])).stdout.split('\0');
  const status = (await podman(['exec', name, 'cat', '/proc/1/status'])).stdout;
  const field = (key: string) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim();
  return {
    cmdline,
    uid: field('Uid'),
    gid: field('Gid'),
    capEff: field('CapEff'),
    capPrm: field('CapPrm'),
  };
}

if (missing) scratch.remove();
if (missing && process.env.CI) {
  test('image — when CI runs without podman, then the suite fails', () => {
    throw new Error(`${missing}. CI must build and run the image.`);
  });
} else if (missing) {
  console.warn(`# ${missing}: skipping the image suite`);
  test('image — when podman is unavailable, then the suite is skipped', (t) => t.skip(missing));
} else {
  describe('image', { timeout: 60 * 60_000 }, () => {
    before(async () => {
      await buildBaseImages(env);
      await buildImage(env);
    });
    after(async () => {
      for (const name of containers) await podman(['rm', '-f', '-t', '0', name], true);
      for (const volume of volumes) await podman(['volume', 'rm', '-f', volume], true);
      scratch.remove();
    });

    test('the unchanged Dockerfile on the official base images, built by podman, carries its labels, runs as 1000:1000, and declares no volume', async () => {
      const [image] = JSON.parse((await podman(['image', 'inspect', IMAGE])).stdout) as {
        Config: { User: string; Volumes?: unknown; Labels: Record<string, string>; Env: string[] };
      }[];
      const { User, Volumes, Labels, Env } = image!.Config;
      assert.equal(User, '1000:1000');
      assert.equal(Volumes ?? null, null, 'no anonymous volume for PostgreSQL-backed processes');
      assert.ok(Env.includes('NODE_ENV=production'));
      assert.equal(Labels['org.opencontainers.image.version'], pkg.version);
      assert.equal(Labels['org.opencontainers.image.revision'], BUILD.GIT_COMMIT);
      assert.equal(Labels['org.opencontainers.image.source'], BUILD.SOURCE_URL);
      const empty = Object.entries(Labels).filter(([, value]) => value === '');
      assert.deepEqual(empty, [], 'no empty label');
      // The build secrets (CA bundle, npm config) were mounted for `npm ci` only.
      const { stdout } = await podman([
        'run',
        '--rm',
        '--user',
        '0',
        IMAGE,
        'sh',
        '-c',
        'ls -A /root /run/secrets 2>&1; true',
      ]);
      assert.doesNotMatch(stdout, /\.npmrc|^ca$/m, 'no build secret in the image');
    });

    test('its node_modules holds production dependencies and only this platform’s SQLite addon, without sources', async () => {
      const { stdout } = await podman([
        'run',
        '--rm',
        IMAGE,
        'sh',
        '-c',
        'ls node_modules/better-sqlite3 node_modules/better-sqlite3/prebuilds; ls -d node_modules/typescript 2>&1 || true',
      ]);
      assert.match(stdout, /^linux-x64\.node$/m);
      for (const gone of [
        'darwin-x64.node',
        'linuxmusl-x64.node',
        'win32-x64.node',
        'deps',
        'src',
        'binding.gyp',
      ]) {
        assert.doesNotMatch(stdout, new RegExp(`^${gone.replace('.', '\\.')}$`, 'm'), gone);
      }
      assert.match(stdout, /typescript.*No such file/, 'no dev dependency');
    });

    test('web on SQLite, read-only as the README runs it, serves the tutorial as node PID 1, user 1000, no capabilities, JSON on stdout, writes only its volume, and stops with exit 0', async () => {
      const volume = `12f-data-${suffix}`;
      volumes.push(volume);
      const web = await start('sqlite', [
        '--read-only',
        '-p',
        '127.0.0.1::1337',
        '-v',
        `${volume}:/app/data`,
        '-e',
        'ALLOW_EMBEDDED_STORE=true',
        '-e',
        'ALLOW_ANONYMOUS_WRITES=true',
        IMAGE,
      ]);
      const port = (await podman(['port', web, '1337/tcp'])).stdout.trim().split(':').at(-1);
      const base = `http://127.0.0.1:${port}`;
      await ready(`${base}/readyz`);
      await tutorial(base);

      const one = await processOne(web);
      assert.equal(one.cmdline[0], 'node', 'node is PID 1, so it receives SIGTERM');
      assert.match(one.uid!, /^1000\s+1000\s+1000\s+1000$/);
      assert.match(one.gid!, /^1000\s+1000\s+1000\s+1000$/);
      assert.equal(BigInt(`0x${one.capEff}`), 0n, 'no effective capability');
      assert.equal(BigInt(`0x${one.capPrm}`), 0n, 'no permitted capability');
      // podman itself touches the root (mount points for /etc/hosts and the like): compare with
      // a container of the same image, started the same way, that does nothing.
      const idle = await start('idle', [
        '--read-only',
        IMAGE,
        'node',
        '-e',
        'setInterval(()=>{},1e3)',
      ]);
      const [changed, baseline] = await Promise.all(
        [web, idle].map(async (name) => (await podman(['diff', name])).stdout.trim().split('\n')),
      );
      assert.deepEqual(changed, baseline, 'nothing written outside the data volume');

      assert.equal(await stopGracefully(web), 0, 'SIGTERM drains and exits 0 within the grace');
      const lines = await logLines(web);
      assert.ok(lines.some((line) => line.msg === 'web ready'));
      const data = await podman([
        'run',
        '--rm',
        '-v',
        `${volume}:/app/data`,
        IMAGE,
        'ls',
        '-n',
        '/app/data',
      ]);
      assert.match(
        data.stdout,
        /1000\s+1000\s.*12factor-app\.db$/m,
        'the store lives in the volume',
      );
    });

    // compose.yaml's database: the stand-in test/deploy/base-images/ builds must keep the part of
    // the official image's contract the stack relies on, as the official image would pass this.
    test('postgres:17 makes its cluster from POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB, asks every TCP client for the password, passes the healthcheck, runs postgres as PID 1 under its own user, and stops on its stop signal with exit 0', async () => {
      const db = await start('postgres', [
        '-p',
        '127.0.0.1::5432',
        '-e',
        'POSTGRES_USER=app',
        '-e',
        'POSTGRES_PASSWORD=s3cret',
        '-e',
        'POSTGRES_DB=app',
        'postgres:17',
      ]);
      const healthy = async () =>
        (await podman(['exec', db, 'pg_isready', '-U', 'app', '-d', 'app'], true)).code === 0;
      await until('pg_isready', healthy, 2 * 60_000);
      const port = (await podman(['port', db, '5432/tcp'])).stdout.trim().split(':').at(-1)!;
      const row = await queryOverTcp(
        port,
        's3cret',
        `SELECT current_user AS "user", rolsuper AS super, pg_get_userbyid(datdba) AS owner
           FROM pg_roles, pg_database WHERE rolname = current_user AND datname = 'app'`,
      );
      assert.deepEqual(row, { user: 'app', super: true, owner: 'app' });
      await queryOverTcp(port, 's3cret', 'CREATE TABLE kept (id int)');
      const wrong = await queryOverTcp(port, 'guess', 'SELECT 1');
      assert.match(String(wrong.refused), /password authentication failed/);

      const one = await processOne(db);
      assert.equal(one.cmdline[0], 'postgres', 'postgres is PID 1, so it receives the signal');
      assert.doesNotMatch(one.uid!, /^0\s/, 'not root');
      assert.equal(
        (await podman(['inspect', '--format', '{{.Config.StopSignal}}', db])).stdout.trim(),
        '2',
        'SIGINT: a fast shutdown, which ends sessions and checkpoints',
      );
      assert.equal(await stopGracefully(db), 0);
      const { stdout, stderr } = await podman(['logs', db]);
      assert.match(
        stdout + stderr,
        /received fast shutdown request[\s\S]*database system is shut down/,
      );

      // Started again on its data: the cluster is kept, not made again.
      await podman(['start', db]);
      await until('pg_isready after a restart', healthy, 2 * 60_000);
      const again = (await podman(['port', db, '5432/tcp'])).stdout.trim().split(':').at(-1)!;
      assert.deepEqual(
        await queryOverTcp(again, 's3cret', `SELECT to_regclass('kept') IS NOT NULL AS kept`),
        { kept: true },
      );
    });

    test('postgres:17 refuses to make a cluster without POSTGRES_PASSWORD', async () => {
      const refused = await podman(['run', '--rm', 'postgres:17'], true);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /POSTGRES_PASSWORD/);
    });

    describe('on the host’s PostgreSQL', () => {
      let database: TestDatabase;
      before(async () => (database = await createTestDatabase()));
      after(async () => database?.drop());

      test('release migrates first, then web, worker and clock become ready, serve the tutorial, and each stops with exit 0', async () => {
        // The host's network: the container reaches the host's PostgreSQL on 127.0.0.1.
        const common = [
          '--read-only',
          '--network',
          'host',
          '-e',
          `DATABASE_URL=${database.url}`,
          '-e',
          'HOST=127.0.0.1',
        ];
        const release = await run(
          'podman',
          ['run', '--rm', ...common, IMAGE, 'node', 'dist/processes/admin.js', 'migrate'],
          { env },
        );
        assert.match(release.stdout, /^migrate: applied .*\(\d+ applied, 0 pending\)$/m);

        const [web, worker, clock] = [await freePort(), await freePort(), await freePort()];
        const names = [
          await start('pg-web', [
            ...common,
            '-e',
            `PORT=${web}`,
            '-e',
            'ALLOW_ANONYMOUS_WRITES=true',
            IMAGE,
          ]),
          await start('pg-worker', [
            ...common,
            '-e',
            `WORKER_PORT=${worker}`,
            IMAGE,
            'node',
            'dist/processes/worker.js',
          ]),
          await start('pg-clock', [
            ...common,
            '-e',
            `CLOCK_PORT=${clock}`,
            IMAGE,
            'node',
            'dist/processes/clock.js',
          ]),
        ];
        // The worker with no WEBHOOK_URLS is ready too: its readiness probe gates rollouts.
        for (const port of [web, worker, clock]) await ready(`http://127.0.0.1:${port}/readyz`);
        await tutorial(`http://127.0.0.1:${web}`);

        for (const name of names) {
          assert.equal(await stopGracefully(name), 0, `${name} exits 0`);
          assert.ok((await logLines(name)).length > 0);
        }
      });
    });
  });
}
