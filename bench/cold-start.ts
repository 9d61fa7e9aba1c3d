/**
 * `npm run bench:cold`: the cold start alone, as `npm run bench` times it (process start to the
 * first answered `GET /user/:id`), without the load scenarios: the web process, started as the
 * Procfile's web command runs it, and the hand-written server on the same store, taking turns
 * (the order swapped every round), BENCH_COLD_STARTS rounds (20) per store. Prints each side's
 * median with its quartiles, and the ratio of the medians; the same for the CPU time each
 * process had used by its first answer, which what else runs on a shared machine sways less
 * than the time (a time ratio off by more than the CPU ratio is the machine's, or waiting).
 * Stores: BENCH_STORES (sqlite,postgres). Runs the build in dist/ as it is: `npm run build` first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/support/free-port.ts';
import { fillDeletePool } from './delete-pool.ts';
import { coldStart, HANDWRITTEN, launch, WEB_ARGS, withMigratedPostgres } from './servers.ts';

const ROUNDS = Number(process.env.BENCH_COLD_STARTS ?? 20);
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');

/** The value a fraction `at` of the way through the sorted values (0.5: the median). */
const quantile = (values: number[], at: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * at))]!;
const median = (values: number[]) => quantile(values, 0.5);
/** `median [first quartile–third quartile]`, in whole ms. */
const spread = (values: number[]) =>
  `${median(values).toFixed(0)} [${quantile(values, 0.25).toFixed(0)}–${quantile(values, 0.75).toFixed(0)}]`;

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
  const cpu = { ours: [] as number[], hand: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const side of i % 2 === 0 ? (['ours', 'hand'] as const) : (['hand', 'ours'] as const)) {
      const args = side === 'ours' ? WEB_ARGS : [HANDWRITTEN[store]!];
      const { ms, cpuMs } = await coldStart(args, env, `/user/${id}`);
      times[side].push(ms);
      if (cpuMs !== undefined) cpu[side].push(cpuMs);
    }
  }
  const ratio = (of: typeof times) => (median(of.ours) / median(of.hand)).toFixed(3);
  console.log(
    `${store}: ours ${spread(times.ours)} ms, hand-written ${spread(times.hand)} ms, ` +
      `ratio ${ratio(times)} (median [quartiles] of ${ROUNDS}; load ${loadavg()[0]!.toFixed(1)})`,
  );
  if (cpu.ours.length === ROUNDS && cpu.hand.length === ROUNDS) {
    console.log(
      `${store}: CPU to the first answer, ours ${spread(cpu.ours)} ms, ` +
        `hand-written ${spread(cpu.hand)} ms, ratio ${ratio(cpu)}`,
    );
  }
}

const dir = mkdtempSync(join(tmpdir(), '12f-cold-'));
try {
  if (STORES.includes('sqlite')) await measure('sqlite', { DATABASE_URL: `sqlite:${dir}/cold.db` });
  if (STORES.includes('postgres')) await withMigratedPostgres((env) => measure('postgres', env));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
