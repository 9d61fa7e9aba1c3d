import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  execForm,
  instructionsOf,
  parsePairs,
  readDockerfile,
  splitFlags,
} from './support/dockerfile.ts';
import { DockerIgnore } from './support/dockerignore.ts';
import { replayDockerfile } from './support/image-replay.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readDockerfile(join(ROOT, 'Dockerfile'));
const runtime = dockerfile.stages.at(-1)!;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const BUILD_ARGS = {
  GIT_COMMIT: '0123456789abcdef0123456789abcdef01234567',
  BUILD_TIME: '2026-11-25T06:00:00Z',
  SOURCE_URL: 'https://git.example.com/12factor-app.git',
};
const scratchDirs: string[] = [];
const scratch = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755); // the app's user must reach the replayed image inside it
  scratchDirs.push(dir);
  return dir;
};
after(() => scratchDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

test('image — when the stages are read, then each starts from the official Node.js 24 slim image this machine runs', () => {
  const external = dockerfile.stages
    .map((stage) => stage.from)
    .filter((from) => !dockerfile.stages.some((stage) => stage.name === from));
  assert.ok(external.length > 0);
  for (const image of external) {
    const major = /^node:(\d+)(?:\.[\d.]+)?-(?:[a-z]+-)?slim(?:@sha256:[0-9a-f]{64})?$/.exec(
      image,
    )?.[1];
    assert.equal(major, '24', `${image} is node:24-slim`);
    assert.equal(process.versions.node.split('.')[0], major, 'the replay runs the same major');
  }
  assert.ok(dockerfile.stages.length >= 3, 'multi-stage: build, production deps, runtime');
});

test('image — when the final stage is read, then it starts node directly, in production, as a numeric non-root user, with OCI labels and the release from build args', () => {
  const user = instructionsOf(runtime, 'USER').at(-1)?.args ?? '';
  assert.match(user, /^\d+(:\d+)?$/, 'numeric, so runAsNonRoot can verify it');
  assert.notEqual(Number(user.split(':')[0]), 0);
  const cmd = execForm(instructionsOf(runtime, 'CMD').at(-1)?.args ?? '');
  assert.equal(cmd?.[0], 'node', 'exec-form CMD: node is PID 1 and gets SIGTERM');
  assert.equal(instructionsOf(runtime, 'ENTRYPOINT').length, 0);

  const args = Object.fromEntries(
    instructionsOf(runtime, 'ARG').map((arg) => arg.args.split(/=(.*)/s).slice(0, 2)),
  ) as Record<string, string | undefined>;
  assert.equal(args.VERSION, pkg.version, 'ARG VERSION defaults to package.json version');
  const vars = { ...args, ...BUILD_ARGS } as Record<string, string>;
  const env = Object.assign(
    {},
    ...instructionsOf(runtime, 'ENV').map((e) => parsePairs(e.args, vars)),
  );
  assert.equal(env.NODE_ENV, 'production');
  assert.equal(env.GIT_COMMIT, BUILD_ARGS.GIT_COMMIT);
  assert.equal(env.BUILD_TIME, BUILD_ARGS.BUILD_TIME);
  const labels = Object.assign(
    {},
    ...instructionsOf(runtime, 'LABEL').map((l) => parsePairs(l.args, vars)),
  );
  assert.equal(labels['org.opencontainers.image.version'], pkg.version);
  assert.equal(labels['org.opencontainers.image.revision'], BUILD_ARGS.GIT_COMMIT);
  assert.equal(labels['org.opencontainers.image.created'], BUILD_ARGS.BUILD_TIME);
  assert.equal(labels['org.opencontainers.image.source'], BUILD_ARGS.SOURCE_URL);
});

test('image — when the final stage copies files, then it takes production dependencies, compiled code and package.json only', () => {
  const copies = instructionsOf(runtime, 'COPY').map((copy) => {
    const { flags, rest } = splitFlags(copy.args);
    return `${flags.from ?? 'context'}:${rest}`;
  });
  assert.deepEqual(copies, [
    'deps:/app/node_modules ./node_modules',
    'build:/app/dist ./dist',
    'context:package.json ./',
  ]);
  const deps = dockerfile.stages.find((stage) => stage.name === 'deps')!;
  const install = instructionsOf(deps, 'RUN')
    .map((run) => run.args)
    .join(' ');
  assert.match(install, /npm ci --omit=dev --ignore-scripts/);
  const build = dockerfile.stages.find((stage) => stage.name === 'build')!;
  assert.ok(instructionsOf(build, 'RUN').some((run) => /npm run build$/.test(run.args)));
});

test('image — when the build context is assembled, then .dockerignore keeps out dependencies, build output, data, git and secrets', () => {
  const files = DockerIgnore.read(ROOT).materialize(ROOT, scratch('12f-context-'));
  for (const needed of [
    'package.json',
    'package-lock.json',
    'vite.server.config.ts',
    'src/processes/web.ts',
  ]) {
    assert.ok(files.includes(needed), `${needed} is in the context`);
  }
  const leaked = files.filter((file) =>
    /^(node_modules|dist|data|\.git|test|coverage|bench|deploy)\/|^\.env$|\.log$/.test(file),
  );
  assert.deepEqual(leaked, []);
});

test(
  'image — when the image is replayed without Docker, then as its non-root user on a read-only app directory it serves the API, shows the build commit, and exits 0 on SIGTERM',
  {
    timeout: 10 * 60_000,
    skip:
      process.getuid?.() !== 0 && 'needs root, to run the app as the image user (CI runs as root)',
  },
  async () => {
    const dir = scratch('12f-image-');
    const { final, steps } = await replayDockerfile({
      dockerfile,
      context: ROOT,
      scratch: dir,
      buildArgs: BUILD_ARGS,
      toolEnv: toolEnv(),
    }).catch((error: Error) => assert.fail(`the image's steps failed:\n${error.message}`));
    const app = join(final.root, final.workdir);
    assert.ok(!existsSync(join(app, 'node_modules/typescript')), 'no dev dependency in the image');
    assert.ok(existsSync(join(app, 'node_modules/better-sqlite3')));

    // The base image's Node.js, at the path it has there.
    mkdirSync(join(final.root, 'usr/local/bin'), { recursive: true });
    copyFileSync(process.execPath, join(final.root, 'usr/local/bin/node'));
    chmodSync(join(final.root, 'usr/local/bin/node'), 0o755);

    const dataDir = join(final.root, final.volumes[0]!);
    const [uid, gid] = final.user!.split(':').map(Number) as [number, number];
    assert.equal(statSync(dataDir).uid, uid, 'the data volume belongs to the image user');
    makeReadOnly(app, dataDir);
    const appFilesBefore = listFiles(app, dataDir);

    const web = startAs(uid, gid, final.cmd!, {
      cwd: app,
      env: {
        PATH: `${join(final.root, 'usr/local/bin')}:/usr/bin:/bin`,
        HOME: join(final.root, 'home/node'),
        ...final.env,
        // Deploy-time config, as `docker run -e` would give it.
        PORT: '0',
        HOST: '127.0.0.1',
        ALLOW_EMBEDDED_STORE: 'true',
        ALLOW_ANONYMOUS_WRITES: 'true',
        SHUTDOWN_DELAY_MS: '100',
      },
    });
    try {
      const ready = await web.waitFor((line) => line.msg === 'web ready');
      const base = `http://127.0.0.1:${(ready.address as { port: number }).port}`;
      await driveApi(base);
      assert.equal(statSync(join(dataDir, '12factor-app.db')).uid, uid);

      web.child.kill('SIGTERM');
      const exit = await web.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, web.output());
    } finally {
      web.kill();
    }
    assert.deepEqual(
      listFiles(app, dataDir),
      appFilesBefore,
      'nothing written outside the data volume',
    );
    assert.ok(steps.length > 0);
  },
);

async function driveApi(base: string) {
  const call = async (method: string, path: string) => {
    const response = await fetch(`${base}${path}`, { method });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  assert.equal((await call('GET', '/healthz')).status, 200);
  assert.equal((await call('GET', '/readyz')).status, 200);

  const created = await call('POST', '/user?name=bingo');
  assert.equal(created.status, 201);
  assert.equal(created.body.name, 'bingo');
  const id = created.body.id as string;
  const listed = await fetch(`${base}/user`).then((r) => r.json() as Promise<{ id: string }[]>);
  assert.deepEqual(
    listed.map((user) => user.id),
    [id],
  );
  const updated = await call('PUT', `/user/${id}?name=bingohuang`);
  assert.equal(updated.status, 200);
  assert.equal(updated.body.name, 'bingohuang');
  assert.equal((await call('DELETE', `/user/${id}`)).status, 200);
  assert.equal((await call('GET', `/user/${id}`)).status, 404);

  // The bundle inlines the page's and the docs' static serving (ADR 7): they answer from it too.
  for (const [path, type] of [
    ['/', 'text/html'],
    ['/docs', 'text/html'],
    ['/docs/static/swagger-ui.css', 'text/css'],
  ] as const) {
    const response = await fetch(`${base}${path}`);
    assert.equal(response.status, 200, path);
    assert.match(String(response.headers.get('content-type')), new RegExp(`^${type}`), path);
    assert.ok((await response.text()).length > 100, path);
  }

  const version = await call('GET', '/version');
  assert.equal(version.body.commit, BUILD_ARGS.GIT_COMMIT);
  assert.equal(version.body.buildTime, BUILD_ARGS.BUILD_TIME);
  assert.equal(version.body.version, pkg.version);
}

/**
 * The environment npm runs with: this machine's (registry, proxy and CA settings), Node 24 first
 * on PATH with its headers for native addons, and nothing of this test run's own.
 */
function toolEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(NODE_ENV|NODE_OPTIONS|NODE_TEST_CONTEXT)$/.test(key))
      env[key] = value;
  }
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  const prefix = dirname(dirname(process.execPath));
  if (!env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node.h'))) {
    env.npm_config_nodedir = prefix;
  }
  return env;
}

/** chmod a-w over the app directory, the data volume aside: a read-only root filesystem. */
function makeReadOnly(dir: string, except: string) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (path === except) continue;
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) continue;
    if (stat.isDirectory()) makeReadOnly(path, except);
    chmodSync(path, stat.mode & 0o555);
  }
  chmodSync(dir, lstatSync(dir).mode & 0o555);
}

function listFiles(dir: string, except: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => path !== except && !path.startsWith(`${except}/`))
    .sort();
}

interface Started {
  child: ChildProcess;
  waitFor(predicate: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  kill(): void;
}

/** Runs `argv` as uid:gid with no supplementary groups, as the container runtime would. */
function startAs(
  uid: number,
  gid: number,
  argv: string[],
  options: { cwd: string; env: Record<string, string> },
): Started {
  const child = spawn(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--no-new-privs', '--', ...argv],
    { ...options, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as Record<string, unknown>);
    } catch {
      lines.push({ raw: text });
    }
    waiters.forEach((wake) => wake());
  });
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      waiters.forEach((wake) => wake());
      resolve({ code, signal });
    }),
  );
  const output = () =>
    `stderr: ${stderr}\nstdout: ${lines.map((l) => JSON.stringify(l)).join('\n')}`;
  return {
    child,
    exited,
    output,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    waitFor: (predicate) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`not ready within 30 s\n${output()}`)),
          30_000,
        );
        const done = (error?: Error, line?: Record<string, unknown>) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(line!);
        };
        const check = () => {
          const line = lines.find(predicate);
          if (line) done(undefined, line);
          else if (child.exitCode !== null || child.signalCode !== null) {
            done(new Error(`exited before the line\n${output()}`));
          }
        };
        waiters.add(check);
        check();
      }),
  };
}
