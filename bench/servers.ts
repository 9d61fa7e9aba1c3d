/**
 * What the benches share about the servers they start: the web process as the Procfile runs it,
 * the hand-written servers, the environment each runs with, the time to a first answer, and a
 * migrated PostgreSQL database of a run's own.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../test/support/free-port.ts';

export const ROOT = new URL('..', import.meta.url).pathname;
export const PG_ADMIN =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The Procfile's web command, node's flags included: the bench measures what production runs. */
export const WEB_ARGS = (() => {
  const line = readFileSync(join(ROOT, 'Procfile'), 'utf8')
    .split('\n')
    .find((text) => text.startsWith('web:'));
  const [node, ...args] = line!.slice('web:'.length).trim().split(/\s+/);
  if (node !== 'node')
    throw new Error(`the Procfile's web command does not start with node: ${line}`);
  return args;
})();

/** The hand-written server for each store, run as the bare server is: plain JavaScript. */
export const HANDWRITTEN: Record<string, string> = {
  sqlite: 'bench/handwritten-sqlite.mjs',
  postgres: 'bench/handwritten-pg.mjs',
};

/** The environment every server in the bench runs with, on `port`, plus `env`. */
function serverEnv(port: number, env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
    // Raw throughput from one client address: no token check, no per-IP limit.
    ALLOW_ANONYMOUS_WRITES: 'true',
    RATE_LIMIT_MAX: '0',
    // One web process on one machine: the embedded store is allowed in production here.
    ALLOW_EMBEDDED_STORE: 'true',
    ...env,
  };
}

export function launch(
  args: string[],
  env: Record<string, string>,
  port: number,
  stdout: 'ignore' | number,
): ChildProcess {
  return spawn(process.execPath, args, {
    cwd: ROOT,
    env: serverEnv(port, env),
    stdio: ['ignore', stdout, 'inherit'],
  });
}

/** Polls `path` every 2 ms until it answers 200; fails if the server exits or 30 s pass. */
export async function firstAnswer(child: ChildProcess, port: number, path: string): Promise<void> {
  const started = performance.now();
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${child.spawnargs.join(' ')} exited ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        signal: AbortSignal.timeout(2000),
      });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 30_000) throw new Error(`${path}: no answer within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * CPU time a process has used so far, in ms: the sum of its threads' time on a CPU, in ns, from
 * /proc/<pid>/task/<tid>/schedstat (the main thread, libuv's pool, V8's helpers). Precise where
 * /proc/<pid>/stat counts 10 ms ticks; threads that already ended are not counted, which at
 * start-up none has. Undefined off Linux.
 */
function threadsCpuMs(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

/**
 * Cold start: the time from spawning `args` to its first 200 on `path`, in ms, and the CPU time
 * the process had used by then (less swayed than the time by what else the machine runs); then
 * SIGKILL.
 */
export async function coldStart(
  args: string[],
  env: Record<string, string>,
  path: string,
): Promise<{ ms: number; cpuMs: number | undefined }> {
  const port = await freePort();
  const started = performance.now();
  const child = launch(args, env, port, 'ignore');
  try {
    await firstAnswer(child, port, path);
    const ms = performance.now() - started;
    return { ms, cpuMs: threadsCpuMs(child.pid!) };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/** Cold start: the time from spawning `args` to its first 200 on `path`, in ms. */
export async function timeToFirstAnswer(
  args: string[],
  env: Record<string, string>,
  path: string,
): Promise<number> {
  return (await coldStart(args, env, path)).ms;
}

/**
 * `run` with the URL of a PostgreSQL database of its own, migrated by the build's admin command;
 * dropped after. Resolves with `run`'s result and the server's version.
 */
export async function withMigratedPostgres<T>(
  run: (env: { DATABASE_URL: string }) => Promise<T>,
): Promise<{ result: T; version: string }> {
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  try {
    const version = (await admin.query('SHOW server_version')).rows[0].server_version as string;
    const db = `bench_${process.pid}`;
    await admin.query(`CREATE DATABASE ${db}`);
    try {
      const url = new URL(PG_ADMIN);
      url.pathname = `/${db}`;
      const env = { DATABASE_URL: url.toString() };
      execFileSync(process.execPath, ['dist/processes/admin.js', 'migrate'], {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: 'ignore',
      });
      return { result: await run(env), version };
    } finally {
      await admin.query(`DROP DATABASE ${db} WITH (FORCE)`);
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
}
