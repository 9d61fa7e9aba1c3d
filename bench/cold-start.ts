/**
 * `npm run bench:cold`: the cold start alone, as `npm run bench` times it (process start to the
 * first answered `GET /user/:id`), without the load scenarios: the web process, started as the
 * Procfile's web command runs it, and the hand-written server on the same store, taking turns
 * (the order swapped every round), BENCH_COLD_STARTS rounds (10) per store. Prints each side's
 * median and the ratio. Stores: BENCH_STORES (sqlite,postgres). Runs the build in dist/ as it is:
 * `npm run build` first.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../test/support/free-port.ts';
import { fillDeletePool } from './delete-pool.ts';

const ROUNDS = Number(process.env.BENCH_COLD_STARTS ?? 10);
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');
const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROOT = new URL('..', import.meta.url).pathname;

/** The Procfile's web command, node's flags included. */
const WEB_ARGS = readFileSync(join(ROOT, 'Procfile'), 'utf8')
  .split('\n')
  .find((line) => line.startsWith('web:'))!
  .slice('web:'.length)
  .trim()
  .split(/\s+/)
  .slice(1);
const HANDWRITTEN: Record<string, string> = {
  sqlite: 'bench/handwritten-sqlite.mjs',
  postgres: 'bench/handwritten-pg.mjs',
};

function launch(args: string[], env: Record<string, string>, port: number) {
  return spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      NODE_ENV: 'production',
      ALLOW_ANONYMOUS_WRITES: 'true',
      RATE_LIMIT_MAX: '0',
      ALLOW_EMBEDDED_STORE: 'true',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Polls until `path` answers 200, every 2 ms; the time from spawn, in ms. */
async function answered(args: string[], env: Record<string, string>, path: string, kill = true) {
  const port = await freePort();
  const started = performance.now();
  const child = launch(args, env, port);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited ${child.exitCode}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`, {
          signal: AbortSignal.timeout(2000),
        });
        if (res.status === 200) return { ms: performance.now() - started, port };
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 30_000) throw new Error(`${path}: no answer in 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(kill ? 'SIGKILL' : 'SIGTERM');
    await exited;
  }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function measure(store: string, env: Record<string, string>) {
  // One user to read, through the service (which also brings the schema up to date), and some
  // thousands more; a normal exit, as after the bench's load, so node writes its compile cache.
  const port = await freePort();
  const web = launch(WEB_ARGS, env, port);
  let id: string | undefined;
  for (let i = 0; i < 3000 && !id; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const res = await fetch(`http://127.0.0.1:${port}/user?name=cold`, { method: 'POST' }).catch(
      () => undefined,
    );
    if (res?.status === 201) id = ((await res.json()) as { id: string }).id;
  }
  const exited = new Promise((resolve) => web.once('exit', resolve));
  web.kill('SIGTERM');
  await exited;
  if (!id) throw new Error(`${store}: could not create a user`);
  await fillDeletePool(env.DATABASE_URL!, 'c0', 10_000);
  const times = { ours: [] as number[], hand: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? (['ours', 'hand'] as const) : (['hand', 'ours'] as const);
    for (const side of order) {
      const args = side === 'ours' ? WEB_ARGS : [HANDWRITTEN[store]!];
      times[side].push((await answered(args, env, `/user/${id}`)).ms);
    }
  }
  const ours = median(times.ours);
  const hand = median(times.hand);
  console.log(
    `${store}: ours ${ours.toFixed(0)} ms, hand-written ${hand.toFixed(0)} ms, ` +
      `ratio ${(ours / hand).toFixed(3)} (median of ${ROUNDS}; ours ` +
      `${times.ours.map((t) => t.toFixed(0)).join(' ')}; hand-written ` +
      `${times.hand.map((t) => t.toFixed(0)).join(' ')}; load ${loadavg()[0]!.toFixed(1)})`,
  );
}

const dir = mkdtempSync(join(tmpdir(), '12f-cold-'));
try {
  if (STORES.includes('sqlite')) await measure('sqlite', { DATABASE_URL: `sqlite:${dir}/cold.db` });
  if (STORES.includes('postgres')) {
    const admin = new pg.Client({ connectionString: PG_ADMIN });
    await admin.connect();
    const db = `cold_${process.pid}`;
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
      await measure('postgres', env);
    } finally {
      await admin.query(`DROP DATABASE ${db} WITH (FORCE)`);
      await admin.end();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
