import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

// What a reading of the files can check at once; image.podman.ts builds the image with podman
// and runs it (`npm run test:image`).

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readDockerfile(join(ROOT, 'Dockerfile'));
const runtime = dockerfile.stages.at(-1)!;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const BUILD_ARGS = {
  GIT_COMMIT: '0123456789abcdef0123456789abcdef01234567',
  BUILD_TIME: '2026-11-25T06:00:00Z',
};
const scratchDirs: string[] = [];
const scratch = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
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
    assert.equal(process.versions.node.split('.')[0], major, 'the same major as development');
  }
  assert.ok(dockerfile.stages.length >= 3, 'multi-stage: build, production deps, runtime');
});

test('image — when the final stage is read, then it starts node directly, in production, as a numeric non-root user, with the release from build args and no empty label or anonymous volume without them', () => {
  const user = instructionsOf(runtime, 'USER').at(-1)?.args ?? '';
  assert.match(user, /^\d+(:\d+)?$/, 'numeric, so runAsNonRoot can verify it');
  assert.notEqual(Number(user.split(':')[0]), 0);
  const cmd = execForm(instructionsOf(runtime, 'CMD').at(-1)?.args ?? '');
  assert.equal(cmd?.[0], 'node', 'exec-form CMD: node is PID 1 and gets SIGTERM');
  assert.equal(instructionsOf(runtime, 'ENTRYPOINT').length, 0);
  assert.equal(instructionsOf(runtime, 'VOLUME').length, 0, 'no anonymous volume per container');

  const defaults = Object.fromEntries(
    instructionsOf(runtime, 'ARG').map((arg) => arg.args.split(/=(.*)/s).slice(0, 2)),
  ) as Record<string, string | undefined>;
  assert.equal(defaults.VERSION, pkg.version, 'ARG VERSION defaults to package.json version');
  const env = Object.assign(
    {},
    ...instructionsOf(runtime, 'ENV').map((e) =>
      parsePairs(e.args, { ...defaults, ...BUILD_ARGS } as Record<string, string>),
    ),
  );
  assert.equal(env.NODE_ENV, 'production');
  assert.equal(env.GIT_COMMIT, BUILD_ARGS.GIT_COMMIT);
  assert.equal(env.BUILD_TIME, BUILD_ARGS.BUILD_TIME);

  // A plain `docker build .`: every label still says something.
  const labels = Object.assign(
    {},
    ...instructionsOf(runtime, 'LABEL').map((l) =>
      parsePairs(l.args, defaults as Record<string, string>),
    ),
  ) as Record<string, string>;
  assert.equal(labels['org.opencontainers.image.version'], pkg.version);
  assert.equal(labels['org.opencontainers.image.title'], '12factor-app');
  assert.deepEqual(
    Object.entries(labels).filter(([, value]) => !value),
    [],
    'no empty label without build arguments',
  );
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
