import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const IMAGE = '12factor-app:v1.0';
/** The values CI passes from git and the clock; fixed here so the build cache holds across runs. */
export const BUILD = {
  GIT_COMMIT: '0123456789abcdef0123456789abcdef01234567',
  BUILD_TIME: '2026-11-25T06:00:00Z',
  SOURCE_URL: 'https://git.example.com/12factor-app.git',
};

/**
 * Whether podman can be used: under CI it must (a missing podman fails the suite); elsewhere the
 * suite is skipped with the reason, as the PostgreSQL suite is.
 */
export function podmanMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'the image suite runs podman as root (CI runs as root)';
  try {
    execFileSync('podman', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'podman is not installed (.ci/run installs it with apt-get)';
  }
}

/**
 * podman's settings for these tests only, through CONTAINERS_CONF, never the machine's: CI
 * machines run as root without CAP_SYS_RESOURCE, so podman's default rlimits (above the caller's
 * hard limits) cannot be set, and with hybrid cgroups crun refuses to start; runc does not.
 */
export function podmanEnv(dir: string): NodeJS.ProcessEnv {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const hard = (name: string, fallback: number) => {
    const value = new RegExp(`^${name}\\s+\\S+\\s+(\\S+)`, 'm').exec(limits)?.[1];
    return value && value !== 'unlimited' ? Number(value) : fallback;
  };
  // podman lowers its own process limit to the kernel's pid_max; a container may not exceed it.
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const nofile = hard('Max open files', 1_048_576);
  const nproc = Math.min(hard('Max processes', pidMax), pidMax);
  const conf = join(dir, 'containers.conf');
  writeFileSync(
    conf,
    [
      '[containers]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '',
    ].join('\n'),
  );
  return { ...process.env, CONTAINERS_CONF: conf };
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; rejects with its output unless it exits 0 (or `allowFail`). */
export function run(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; allowFail?: boolean; timeoutMs?: number },
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 10 * 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.on('error', reject);
    child.on('close', (code) => {
      const result = { code, stdout, stderr };
      if (code === 0 || options.allowFail) resolve(result);
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} exited ${code}\n${stderr.slice(-4000)}\n${stdout.slice(-4000)}`,
          ),
        );
    });
  });
}

/** The base images the Dockerfile and compose.yaml name, from test/deploy/base-images/. */
export function buildBaseImages(env: NodeJS.ProcessEnv): Promise<Result> {
  return run(join(ROOT, 'test/deploy/base-images/build.sh'), [], { env, timeoutMs: 40 * 60_000 });
}

/**
 * The README's build command for CI, with podman: the host's CA bundle and npm config go in as
 * build secrets, so `npm ci` inside trusts what the host's npm trusts.
 */
export function buildImage(env: NodeJS.ProcessEnv): Promise<Result> {
  const secrets: string[] = [];
  const ca = npmCaFile(env);
  if (ca) secrets.push('--secret', `id=ca,src=${ca}`);
  const npmrc = join(homedir(), '.npmrc');
  if (existsSync(npmrc)) secrets.push('--secret', `id=npmrc,src=${npmrc}`);
  return run(
    'podman',
    [
      'build',
      '-t',
      IMAGE,
      ...secrets,
      '--build-arg',
      `GIT_COMMIT=${BUILD.GIT_COMMIT}`,
      '--build-arg',
      `BUILD_TIME=${BUILD.BUILD_TIME}`,
      '--label',
      `org.opencontainers.image.revision=${BUILD.GIT_COMMIT}`,
      '--label',
      `org.opencontainers.image.created=${BUILD.BUILD_TIME}`,
      '--label',
      `org.opencontainers.image.source=${BUILD.SOURCE_URL}`,
      '.',
    ],
    { env, timeoutMs: 30 * 60_000 },
  );
}

/** The CA bundle the host's npm uses: its `cafile`, else Debian's bundle. */
function npmCaFile(env: NodeJS.ProcessEnv): string | undefined {
  let configured = '';
  try {
    configured = execFileSync('npm', ['config', 'get', 'cafile'], { env }).toString().trim();
  } catch {
    // npm without a config: Debian's bundle below.
  }
  return [configured, '/etc/ssl/certs/ca-certificates.crt'].find(
    (path) => path && path !== 'null' && path !== 'undefined' && existsSync(path),
  );
}

export function scratchDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` answers true, or fails with `what` after `timeoutMs`. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
}
