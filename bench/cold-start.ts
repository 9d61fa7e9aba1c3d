/**
 * `npm run bench:cold`: the cold start alone, as `npm run bench` times it (process start to the
 * first answered `GET /user/:id`), without the load scenarios: the web process, started as the
 * Procfile's web command runs it, and the hand-written server on the same store, taking turns
 * (the order swapped every round), BENCH_COLD_STARTS rounds (10) per store. Prints each side's
 * median and the ratio. Stores: BENCH_STORES (sqlite,postgres). Runs the build in dist/ as it is:
 * `npm run build` first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/support/free-port.ts';
import { fillDeletePool } from './delete-pool.ts';
import {
  HANDWRITTEN,
  launch,
  timeToFirstAnswer,
  WEB_ARGS,
  withMigratedPostgres,
} from './servers.ts';

const ROUNDS = Number(process.env.BENCH_COLD_STARTS ?? 10);
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function measure(store: string, env: Record<string, string>) {
  // One user to read, through the service (which also brings the schema up to date), and some
  // thousands more; a normal exit, as after the bench's load, so node writes its compile cache.
  const port = await freePort();
  const web = launch(WEB_ARGS, env, port, 'ignore');
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
    for (const side of i % 2 === 0 ? (['ours', 'hand'] as const) : (['hand', 'ours'] as const)) {
      const args = side === 'ours' ? WEB_ARGS : [HANDWRITTEN[store]!];
      times[side].push(await timeToFirstAnswer(args, env, `/user/${id}`));
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
  if (STORES.includes('postgres')) await withMigratedPostgres((env) => measure('postgres', env));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
