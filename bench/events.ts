/**
 * `npm run bench:events`: webhook delivery throughput and end-to-end lag (change committed →
 * webhook received) for the outbox worker, on 127.0.0.1 only, bounded in time. Writes
 * bench/events.md.
 */
import autocannon from 'autocannon';
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import * as prettier from 'prettier';
import { createStore } from '../src/store/index.ts';
import { UserService } from '../src/users/user-service.ts';

const RATE_SECONDS = Number(process.env.BENCH_EVENTS_RATE_SECONDS ?? 5);
const LAG_SECONDS = Number(process.env.BENCH_EVENTS_SECONDS ?? 10);
const WORKERS = Number(process.env.BENCH_EVENTS_WORKERS ?? 2);
const POLLS = (process.env.BENCH_EVENTS_POLL_MS ?? '500').split(',').map(Number);
/** Only these stores (comma-separated), e.g. `sqlite`; all by default. */
const ONLY = process.env.BENCH_EVENTS_STORES?.split(',');
/**
 * The rate the lag phases' shares are of, a second, instead of the create rate this run
 * measured: to compare two builds at the same load while the machine's load moves the
 * measured rate. Reported in the table.
 */
const LAG_BASE = process.env.BENCH_EVENTS_LAG_BASE
  ? Number(process.env.BENCH_EVENTS_LAG_BASE)
  : undefined;
/** A directory for each worker's V8 CPU profile (`--cpu-prof`); none by default. */
const CPU_PROF = process.env.BENCH_EVENTS_CPU_PROF;
/** Shares of the web process's sustained create rate at which the lag is measured. */
const SHARES = [0.25, 0.5, 1];
const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROOT = new URL('..', import.meta.url).pathname;
const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

/**
 * Receipt time per change key (`<userId> <updatedAt>`), and how many requests came, as stamped
 * by bench/events-receiver.ts in a process of its own.
 */
class Receiver {
  readonly received = new Map<string, number>();
  requests = 0;
  private child: ChildProcess | undefined;
  port = 0;

  async start(): Promise<void> {
    const child = fork(join(ROOT, 'bench', 'events-receiver.ts'), { stdio: 'inherit' });
    this.child = child;
    this.port = await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`receiver exited ${code}`)));
      child.once('message', (message) => resolve((message as { port: number }).port));
    });
    child.on('message', (message) => {
      const { stamps, requests } = message as { stamps?: [string, number][]; requests: number };
      for (const [key, at] of stamps ?? []) if (!this.received.has(key)) this.received.set(key, at);
      this.requests = requests;
    });
  }

  /** Whether `count` changes were received within `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<boolean> {
    return this.waitUntil(() => this.received.size >= count, timeoutMs);
  }

  /** Whether every one of `keys` was received within `timeoutMs`. */
  async waitForKeys(keys: Iterable<string>, timeoutMs: number): Promise<boolean> {
    const pending = new Set(keys);
    return this.waitUntil(() => {
      for (const key of pending) {
        if (!this.received.has(key)) return false;
        pending.delete(key);
      }
      return true;
    }, timeoutMs);
  }

  private async waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }

  async stop(): Promise<void> {
    const child = this.child!;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.disconnect();
    await exited;
  }
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
function cpuMs(pid: number): number {
  // Fields 14 and 15 (utime, stime) after the command name, in clock ticks of 10 ms.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The workers' CPU ms so far, added up. */
const workersCpuMs = (workers: ChildProcess[]) =>
  workers.reduce((sum, worker) => sum + cpuMs(worker.pid!), 0);

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  // The Procfile's worker command, on the compiled build, as production runs it.
  const profile = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, 'dist/processes/worker.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    // LOG_LEVEL=warn hides 'worker ready'; the ops port answering /readyz says the same.
    const poll = setInterval(() => {
      fetch(`http://127.0.0.1:${env.WORKER_PORT}/readyz`).then(
        (r) => r.ok && (clearInterval(poll), resolve(child)),
        () => undefined,
      );
    }, 50);
    child.once('exit', (code) => {
      clearInterval(poll);
      reject(new Error(`worker exited ${code}`));
    });
  });
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }),
    ),
  );
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/**
 * The web process's sustained create rate on this store: the compiled build as the Procfile runs
 * it, autocannon's POST /user from 50 connections for RATE_SECONDS, no worker running. Its
 * events stay in the outbox: they are the backlog the workers drain next.
 */
async function createRate(url: string): Promise<{ perSecond: number; failed: number }> {
  const port = 19_900 + Math.floor(Math.random() * 90);
  const web = spawn(process.execPath, [...WEB_ARGS], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DATABASE_URL: url,
      ALLOW_EMBEDDED_STORE: 'true',
      ALLOW_ANONYMOUS_WRITES: 'true',
      RATE_LIMIT_MAX: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    for (let ready = false; !ready;) {
      if (web.exitCode !== null) throw new Error(`web exited ${web.exitCode}`);
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const result = await autocannon({
      url: `http://127.0.0.1:${port}/user?name=rate`,
      method: 'POST',
      connections: 50,
      duration: RATE_SECONDS,
    });
    // Answers other than 201 (a 503 when the machine is too busy to answer in time) are not
    // creates: counted and reported, and left out of the rate.
    return {
      perSecond: result['2xx'] / result.duration,
      failed: result.non2xx + result.errors + result.timeouts,
    };
  } finally {
    await stopAll([web]);
  }
}

/** The Procfile's web command's flags and script. */
const WEB_ARGS = (() => {
  const line = readFileSync(join(ROOT, 'Procfile'), 'utf8')
    .split('\n')
    .find((text) => text.startsWith('web:'));
  return line!.slice('web:'.length).trim().split(/\s+/).slice(1);
})();

interface Lag {
  share: number;
  rate: number;
  changes: number;
  p50: number;
  p99: number;
  max: number;
  /** Changes not received within the wait: counted as infinitely late. */
  missing: number;
  /** Writes the store refused (its pool overwhelmed): not changes, so not in the lag. */
  failed: number;
}

interface Result {
  store: string;
  pollMs: number;
  createPerSecond: number;
  /** Create requests that were not answered 201 during the rate phase. */
  createsFailed: number;
  backlog: number;
  drainPerSecond: number;
  /**
   * The workers' CPU time per delivery while draining (from the moment both were ready) and
   * over the lag phases: what a delivery costs a worker, whatever else the machine is doing.
   */
  drainCpuMs: number;
  lagCpuMs: number;
  /** Whether the whole backlog arrived; if not, the drain rate is of what arrived. */
  drained: boolean;
  lags: Lag[];
}

/**
 * Changes at `rate` a second for LAG_SECONDS, half creates and half updates, through the same
 * UserService the web process uses; for each, from the moment its transaction committed (the
 * store call resolved) to the moment the receiver had the webhook. Writes are issued every 5 ms,
 * as many as are due, so rates above a thousand a second are kept. The updates go round all the
 * users made for them, one after another: a user's events are delivered one at a time, each
 * after the last one's outcome is recorded, so how often one user changes bounds its lag. (Taken
 * as `ids[i % ids.length]` for the odd `i` only, they went to every other user, at twice the
 * rate each.)
 */
async function lagAt(
  users: UserService,
  receiver: Receiver,
  ids: string[],
  rate: number,
): Promise<Omit<Lag, 'share'>> {
  const committed = new Map<string, number>();
  const started = performance.now();
  const writes: Promise<void>[] = [];
  let n = 0;
  let failed = 0;
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed >= LAG_SECONDS * 1000) break;
    const due = Math.floor((elapsed / 1000) * rate);
    while (n < due) {
      const i = n++;
      writes.push(
        (async () => {
          const user =
            i % 2 === 0
              ? await users.create({ name: `steady ${i}` })
              : await users.update(ids[((i - 1) / 2) % ids.length]!, { name: `steady ${i}` });
          committed.set(`${user.id} ${user.updatedAt}`, Date.now());
        })().catch(() => {
          // Open-loop writes past what the store's pool serves in time fail (pool checkout
          // timeout); they are counted, not fatal: the figure is then honest about it.
          failed++;
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(writes);
  await receiver.waitForKeys(committed.keys(), 60_000);
  const lags = [...committed]
    .map(([key, at]) => (receiver.received.get(key) ?? Infinity) - at)
    .sort((a, b) => a - b);
  return {
    rate: Math.round(rate),
    changes: n,
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    max: lags.at(-1) ?? NaN,
    missing: lags.filter((lag) => lag === Infinity).length,
    failed,
  };
}

async function run(store: string, url: string, pollMs: number): Promise<Result> {
  const db = await createStore({
    url,
    poolMax: 10,
    connectTimeoutMs: 2000,
    statementTimeoutMs: 10_000,
  });
  await db.migrate();
  const users = new UserService({ store: db });
  const receiver = new Receiver();
  await receiver.start();
  const env = (port: number) => ({
    DATABASE_URL: url,
    ALLOW_EMBEDDED_STORE: 'true',
    ALLOW_ANONYMOUS_WRITES: 'true',
    WEBHOOK_URLS: `http://127.0.0.1:${receiver.port}/hook`,
    WEBHOOK_SECRET: SECRET,
    WORKER_PORT: String(port),
    HOST: '127.0.0.1',
    WORKER_POLL_MS: String(pollMs),
    // The defaults, unless this run sets WORKER_CONCURRENCY (to compare settings).
    ...(process.env.WORKER_CONCURRENCY && { WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY }),
  });
  const basePort = 19_400 + Math.floor(Math.random() * 500);

  // Users the lag phase updates.
  const ids: string[] = [];
  for (let i = 0; i < 1000; i += 50) {
    const batch = Array.from({ length: 50 }, (_, j) => users.create({ name: `target ${i + j}` }));
    ids.push(...(await Promise.all(batch)).map((user) => user.id));
  }
  // Throughput: the web process's creates, written while no worker runs, drained by two.
  const rate = await createRate(url);
  // Every user has its create event; autocannon does not count answers that came after its end.
  const backlog = await db.count();
  const drainStarted = performance.now();
  const workers = await Promise.all(
    Array.from({ length: WORKERS }, (_, i) => startWorker(env(basePort + i))),
  );
  const [readyCpu, readyReceived] = [workersCpuMs(workers), receiver.received.size];
  const drained = await receiver.waitFor(backlog, 300_000);
  const drainSeconds = (performance.now() - drainStarted) / 1000;
  const drainCpu = workersCpuMs(workers) - readyCpu;
  const drainCpuMs = drainCpu / Math.max(1, receiver.received.size - readyReceived);
  const lags: Lag[] = [];
  const [lagCpu, lagRequests] = [workersCpuMs(workers), receiver.requests];
  if (drained) {
    for (const share of SHARES)
      lags.push({
        share,
        ...(await lagAt(users, receiver, ids, share * (LAG_BASE ?? rate.perSecond))),
      });
  }
  const lagCpuMs = (workersCpuMs(workers) - lagCpu) / Math.max(1, receiver.requests - lagRequests);
  await stopAll(workers);
  await receiver.stop();
  await db.close();
  return {
    store,
    pollMs,
    createPerSecond: Math.round(rate.perSecond),
    createsFailed: rate.failed,
    backlog,
    drainPerSecond: Math.round(receiver.received.size / drainSeconds),
    drainCpuMs: Number(drainCpuMs.toFixed(3)),
    lagCpuMs: Number(lagCpuMs.toFixed(3)),
    drained,
    lags,
  };
}

async function stores(): Promise<
  { name: string; open: () => Promise<{ url: string; drop: () => Promise<void> }> }[]
> {
  const list = [
    {
      name: 'sqlite',
      open: async () => {
        const dir = mkdtempSync(join(tmpdir(), 'bench-events-'));
        return {
          url: `sqlite:${join(dir, 'app.db')}`,
          drop: async () => rmSync(dir, { recursive: true, force: true }),
        };
      },
    },
  ];
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  try {
    await admin.connect();
    await admin.end();
    list.push({
      name: 'postgres',
      open: async () => {
        const name = `bench_events_${process.pid}_${Date.now()}`;
        const client = new pg.Client({ connectionString: PG_ADMIN });
        await client.connect();
        await client.query(`CREATE DATABASE ${name}`);
        await client.end();
        const url = new URL(PG_ADMIN);
        url.pathname = `/${name}`;
        return {
          url: url.toString(),
          drop: async () => {
            const c = new pg.Client({ connectionString: PG_ADMIN });
            await c.connect();
            await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
            await c.end();
          },
        };
      },
    });
  } catch {
    console.warn('# PostgreSQL unreachable: measuring SQLite only');
  }
  return list;
}

// BENCH_SKIP_BUILD=1 when dist/ is already the current build (another bench just made it).
if (process.env.BENCH_SKIP_BUILD !== '1')
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
const load = [loadavg()[0]!];
const results: Result[] = [];
for (const { name, open } of (await stores()).filter((s) => !ONLY || ONLY.includes(s.name))) {
  for (const pollMs of POLLS) {
    const { url, drop } = await open();
    try {
      const result = await run(name, url, pollMs);
      console.log(JSON.stringify(result));
      results.push(result);
    } finally {
      await drop();
    }
  }
}
load.push(loadavg()[0]!);

const ms = (value: number) => (value === Infinity ? 'not received' : `${value} ms`);
const rows = results
  .flatMap((r) => {
    const first = [
      r.store,
      `${r.pollMs} ms`,
      `${r.createPerSecond}${r.createsFailed ? ` (${r.createsFailed} not 201)` : ''}`,
      `${r.drainPerSecond}${r.drained ? '' : ` (${r.backlog} not all delivered in 300 s)`}`,
      (r.drainPerSecond / r.createPerSecond).toFixed(3),
      `${r.drainCpuMs} / ${r.lagCpuMs}`,
    ];
    if (r.lags.length === 0) return [[...first, '—', '—', '—', '—', '—'].join(' | ')];
    return r.lags.map((lag, i) =>
      [
        ...(i === 0 ? first : ['', '', '', '', '', '']),
        `${lag.share * 100} %: ${lag.rate}/s`,
        lag.changes,
        ms(lag.p50),
        ms(lag.p99),
        `${ms(lag.max)}${lag.missing ? ` (${lag.missing} missing)` : ''}${lag.failed ? ` (${lag.failed} writes failed)` : ''}`,
      ].join(' | '),
    );
  })
  .map((line) => `| ${line} |`)
  .join('\n');
const OUT = join(ROOT, 'bench', 'events.md');
const markdown = `# Benchmarks: webhook delivery

Written by \`npm run bench:events\` on ${new Date().toISOString()}. ${WORKERS} worker processes
(the compiled build, \`WORKER_CONCURRENCY\` ${process.env.WORKER_CONCURRENCY ?? 'at its default, 64'}, one URL) deliver to a receiver on 127.0.0.1
that answers 204 at once.

- **Create rate**: the web process (the compiled build, as the Procfile runs it) answering \`POST /user\` from 50
  connections for ${RATE_SECONDS} s with no worker running: the rate it sustains on that store.
- **Drain**: the events of those creates (and of 1,000 users created first), then delivered by ${WORKERS} workers
  started together: deliveries per second, worker start included, and as a ratio to the create rate (at least 1
  means the workers keep up with the web process).
- **Lag**: then changes at 25 %, 50 % and 100 % of ${LAG_BASE === undefined ? 'the create rate' : `${LAG_BASE}/s (\`BENCH_EVENTS_LAG_BASE\`), not the create rate`}, ${LAG_SECONDS} s each, half creates and half
  updates (of the 1,000 users in turn), written by this process through the same UserService the web process uses; for each, from the moment
  its transaction committed (the store call resolved) to the moment the receiver had the webhook.
- **Worker CPU a delivery**: the workers' CPU time (user + system, from \`/proc\`) while draining, from the
  moment both were ready, and over the three lag phases, divided by the deliveries made meanwhile. It is what a
  delivery costs a worker, and the figure the machine's load moves least.

Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; 1-minute load average
${load.map((l) => l.toFixed(1)).join(' at the start, ')} at the end (2 means both cores busy). Node.js ${process.version}.

| store | \`WORKER_POLL_MS\` | create rate, /s | drain, deliveries/s | drain × create rate | worker CPU ms a delivery: drain / lag | lag at | changes | lag p50 | lag p99 | lag max |
|---|---|---|---|---|---|---|---|---|---|---|
${rows}

An idle worker looks for new events every \`WORKER_POLL_MS\`; a finished delivery wakes it at once,
on PostgreSQL so does a write (LISTEN/NOTIFY), and on SQLite a worker that just found events looks
again 20 ms later, doubling back to \`WORKER_POLL_MS\`: so while changes keep coming, the lag is
not the poll's.
`;
// Formatted with the repo's Prettier config, so `prettier --check` stays green.
const options = await prettier.resolveConfig(OUT);
writeFileSync(OUT, await prettier.format(markdown, { ...options, filepath: OUT }));
console.log('wrote bench/events.md');
