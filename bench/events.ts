/**
 * `npm run bench:events`: webhook delivery throughput and end-to-end lag (change committed →
 * webhook received) for the outbox worker, on 127.0.0.1 only, bounded in time. Writes
 * bench/events.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import * as prettier from 'prettier';
import { createStore } from '../src/store/index.ts';
import { UserService } from '../src/users/user-service.ts';

const BACKLOG = Number(process.env.BENCH_EVENTS_BACKLOG ?? 5000);
const RATE = Number(process.env.BENCH_EVENTS_RATE ?? 100);
const LAG_SECONDS = Number(process.env.BENCH_EVENTS_SECONDS ?? 10);
const WORKERS = Number(process.env.BENCH_EVENTS_WORKERS ?? 2);
const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROOT = new URL('..', import.meta.url).pathname;
const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

/** Receipt time per change key (`<userId> <updatedAt>`), and how many requests came. */
class Receiver {
  readonly received = new Map<string, number>();
  requests = 0;
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const at = Date.now();
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          data: { userId: string; after: { updatedAt: string } | null };
        };
        this.requests++;
        const key = `${body.data.userId} ${body.data.after?.updatedAt}`;
        if (!this.received.has(key)) this.received.set(key, at);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.size < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.received.size}/${count} received`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  stop(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((resolve) => this.server!.close(() => resolve()));
  }
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['src/processes/worker.ts'], {
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

interface Result {
  store: string;
  pollMs: number;
  drainPerSecond: number;
  lagP50: number;
  lagP99: number;
  lagMax: number;
  changes: number;
}

async function run(store: string, url: string, pollMs: number): Promise<Result> {
  const db = await createStore({
    url,
    poolMax: 4,
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
    // Every webhook in flight settles through its own connection: WORKER_CONCURRENCY + a few.
    DATABASE_POOL_MAX: '24',
  });
  const basePort = 19_400 + Math.floor(Math.random() * 500);

  // Throughput: a backlog written while no worker runs, then drained by two.
  const created = [];
  for (let i = 0; i < BACKLOG; i += 50) {
    const batch = Array.from({ length: Math.min(50, BACKLOG - i) }, (_, j) =>
      users.create({ name: `backlog ${i + j}` }),
    );
    created.push(...(await Promise.all(batch)));
  }
  const drainStarted = performance.now();
  const workers = await Promise.all(
    Array.from({ length: WORKERS }, (_, i) => startWorker(env(basePort + i))),
  );
  await receiver.waitFor(BACKLOG, 120_000);
  const drainSeconds = (performance.now() - drainStarted) / 1000;

  // Lag: changes at a steady rate while the workers run; committed → received, per change.
  const committed = new Map<string, number>();
  const interval = 1000 / RATE;
  const lagStarted = performance.now();
  let n = 0;
  const writes: Promise<void>[] = [];
  while (performance.now() - lagStarted < LAG_SECONDS * 1000) {
    const i = n++;
    writes.push(
      (async () => {
        const user =
          i % 2 === 0
            ? await users.create({ name: `steady ${i}` })
            : await users.update(created[i % created.length]!.id, { name: `steady ${i}` });
        committed.set(`${user.id} ${user.updatedAt}`, Date.now());
      })(),
    );
    const due = lagStarted + (i + 1) * interval;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
  }
  await Promise.all(writes);
  await receiver.waitFor(BACKLOG + n, 60_000);
  const lags = [...committed]
    .map(([key, at]) => receiver.received.get(key)! - at)
    .sort((a, b) => a - b);
  await stopAll(workers);
  await receiver.stop();
  await db.close();
  return {
    store,
    pollMs,
    drainPerSecond: Math.round(BACKLOG / drainSeconds),
    lagP50: percentile(lags, 50),
    lagP99: percentile(lags, 99),
    lagMax: lags.at(-1) ?? NaN,
    changes: n,
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

const results: Result[] = [];
for (const { name, open } of await stores()) {
  for (const pollMs of [500, 50]) {
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

const rows = results
  .map(
    (r) =>
      `| ${r.store} | ${r.pollMs} ms | ${r.drainPerSecond} | ${r.changes} | ${r.lagP50} ms | ${r.lagP99} ms | ${r.lagMax} ms |`,
  )
  .join('\n');
const OUT = join(ROOT, 'bench', 'events.md');
const markdown = `# Benchmarks: webhook delivery

Written by \`npm run bench:events\` on ${new Date().toISOString()}. ${WORKERS} worker processes
(\`WORKER_CONCURRENCY\` 16, \`DATABASE_POOL_MAX\` 24, one URL) deliver to a receiver on 127.0.0.1 that answers 204 at once;
the bench process writes the changes through the same UserService the web process uses.

- **Drain**: ${BACKLOG} \`user.created\` events written while no worker runs, then delivered by
  ${WORKERS} workers started together: deliveries per second, worker start included.
- **Lag**: then ${RATE} changes per second for ${LAG_SECONDS} s while the workers run; for each,
  from the moment its transaction committed (the store call resolved) to the moment the
  receiver had the webhook.

Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB.
Node.js ${process.version}.

| store | \`WORKER_POLL_MS\` | drain, deliveries/s | steady changes | lag p50 | lag p99 | lag max |
|---|---|---|---|---|---|---|
${rows}

An idle worker looks for new events every \`WORKER_POLL_MS\`, so at a low rate the lag is mostly
that wait (half of it on average); a finished delivery wakes the worker at once, so under load
it does not add up.
`;
// Formatted with the repo's Prettier config, so `prettier --check` stays green.
const options = await prettier.resolveConfig(OUT);
writeFileSync(OUT, await prettier.format(markdown, { ...options, filepath: OUT }));
console.log('wrote bench/events.md');
