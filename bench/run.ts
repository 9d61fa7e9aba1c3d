/**
 * `npm run bench`: load on 127.0.0.1 only, bounded in time. Every figure is a ratio to a bare
 * node:http server measured in the same run with the same load. Writes bench/README.md.
 */
import autocannon from 'autocannon';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../test/support/free-port.ts';
import { startOtlpSink } from './otlp-sink.ts';

const DURATION = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const COLD_STARTS = Number(process.env.BENCH_COLD_STARTS ?? 10);
const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROOT = new URL('..', import.meta.url).pathname;

interface Server {
  child: ChildProcess;
  port: number;
}

/** The Procfile's web command, node's flags included: the bench measures what production runs. */
const WEB_ARGS = (() => {
  const line = readFileSync(join(ROOT, 'Procfile'), 'utf8')
    .split('\n')
    .find((text) => text.startsWith('web:'));
  const [node, ...args] = line!.slice('web:'.length).trim().split(/\s+/);
  if (node !== 'node')
    throw new Error(`the Procfile's web command does not start with node: ${line}`);
  return args;
})();

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
    ...env,
  };
}

function launch(
  args: string[],
  env: Record<string, string>,
  port: number,
  stdout: 'ignore' | number,
) {
  return spawn(process.execPath, args, {
    cwd: ROOT,
    env: serverEnv(port, env),
    stdio: ['ignore', stdout, 'inherit'],
  });
}

/** Polls `path` until it answers 200; fails if the server exits or 30 s pass. */
async function firstAnswer(child: ChildProcess, port: number, path: string): Promise<void> {
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
 * Starts a server with its stdout going to `logFile`: a file, not a pipe this process reads, so
 * the load generator (autocannon, in this process) does not also pay for reading the log lines.
 */
async function start(
  args: string[],
  env: Record<string, string>,
  logFile: string,
): Promise<Server> {
  const port = await freePort();
  const out = openSync(logFile, 'w');
  const child = launch(args, env, port, out);
  closeSync(out);
  await firstAnswer(child, port, '/readyz');
  return { child, port };
}

/** Access lines the web process wrote: proof that it logged every request it served. */
function accessLines(logFile: string): number {
  return readFileSync(logFile, 'utf8').split('"msg":"request completed"').length - 1;
}

async function stop(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

/**
 * Each scenario's time is cut into this many slices, alternating with the bare server's; whole
 * seconds each, as autocannon counts its duration in whole seconds.
 */
const SLICES = Number(process.env.BENCH_SLICES ?? 5);
if (!Number.isInteger(DURATION / SLICES) || DURATION < SLICES)
  throw new Error(`BENCH_DURATION_S (${DURATION}) must be a multiple of BENCH_SLICES (${SLICES})`);

const SETTLE_MS = 300;

interface Load {
  /** The URL's path autocannon is given (requests that name their own path replace it). */
  path: string;
  /** autocannon options for one slice, made anew for each: they carry per-run state. */
  options?: () => Partial<autocannon.Options>;
}

async function slice(port: number, load: Load, seconds: number) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${load.path}`,
    connections: CONNECTIONS,
    duration: seconds,
    ...load.options?.(),
  });
  return {
    requests: result.requests.total,
    seconds: result.duration,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/**
 * One scenario against the service and, interleaved with it, the very same load against the
 * bare server: SLICES slices each, alternating which goes first, so both see the same phases of
 * a machine whose speed drifts by a third within minutes. The ratio is taken over the sums.
 */
async function interleaved(web: Server, bare: Server, load: Load) {
  const seconds = DURATION / SLICES;
  const sums = {
    web: { requests: 0, seconds: 0, p99: 0, errors: 0 },
    bare: { requests: 0, seconds: 0, p99: 0, errors: 0 },
  };
  for (let i = 0; i < SLICES; i++) {
    const order = i % 2 === 0 ? (['web', 'bare'] as const) : (['bare', 'web'] as const);
    for (const side of order) {
      // What a slice leaves behind (a collection, the access lines it buffered) settles before
      // the next one starts, rather than slowing the other server's slice.
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const r = await slice((side === 'web' ? web : bare).port, load, seconds);
      sums[side].requests += r.requests;
      sums[side].seconds += r.seconds;
      sums[side].errors += r.errors;
      // The worst slice's p99: merging them would need the raw samples.
      sums[side].p99 = Math.max(sums[side].p99, r.p99);
    }
  }
  return {
    rps: sums.web.requests / sums.web.seconds,
    bareRps: sums.bare.requests / sums.bare.seconds,
    p99: sums.web.p99,
    errors: sums.web.errors + sums.bare.errors,
    total: sums.web.requests,
  };
}

async function timeToFirstAnswer(
  args: string[],
  env: Record<string, string>,
  path: string,
): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = launch(args, env, port, 'ignore');
  try {
    await firstAnswer(child, port, path);
    return performance.now() - started;
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * The same kind of load for every server: connection k sends its own list of requests in turn,
 * built once before the clock starts. (With autocannon's setupRequest every request is rebuilt
 * as it is sent: that cost its one thread ~18 µs a request here, about as much as the bare
 * server spends answering one, and only the service's scenarios paid it.) The lists are
 * disjoint, so no two requests in flight name the same user, and together they cover `count`
 * users.
 */
function perConnection(
  method: 'GET' | 'POST' | 'PUT',
  count: number,
  path: (index: number) => string,
): Partial<autocannon.Options> {
  const share = Math.ceil(count / CONNECTIONS);
  let clients = 0;
  return {
    setupClient: (client) => {
      const connection = clients++;
      client.setRequests(
        Array.from({ length: share }, (_, turn) => ({
          method,
          path: path((connection * share + turn) % count),
        })),
      );
    },
  };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function seed(port: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/user?name=seed-${i}`, {
      method: 'POST',
      signal: AbortSignal.timeout(10_000),
    });
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

interface Row {
  store: string;
  scenario: string;
  rps: number;
  /** The bare server's throughput under the same load, interleaved with this scenario's. */
  bareRps: number;
  p99: number;
  errors: number;
}

async function benchStore(
  store: string,
  env: Record<string, string>,
  bare: Server,
  rows: Row[],
  logFile: string,
) {
  const web = await start(WEB_ARGS, env, logFile);
  const ids = await seed(web.port, 1000);
  let requests = ids.length;
  const add = (scenario: string, r: Awaited<ReturnType<typeof interleaved>>) => {
    requests += r.total;
    rows.push({ store, scenario, rps: r.rps, bareRps: r.bareRps, p99: r.p99, errors: r.errors });
  };
  // Each connection reads its own share of the seeded users, so no store can answer from one
  // hot row, nor fetch one row for several requests at once.
  const each = (method: 'GET' | 'POST' | 'PUT', path: (i: number) => string): Load => ({
    path: '/user',
    options: () => perConnection(method, ids.length, path),
  });
  add(
    'GET /user/:id',
    await interleaved(
      web,
      bare,
      each('GET', (i) => `/user/${ids[i]}`),
    ),
  );
  add('GET /user?limit=30', await interleaved(web, bare, { path: '/user?limit=30' }));
  add(
    'POST /user',
    await interleaved(
      web,
      bare,
      each('POST', (i) => `/user?name=load-${i}`),
    ),
  );
  add(
    'PUT /user/:id',
    await interleaved(
      web,
      bare,
      each('PUT', (i) => `/user/${ids[i]}?name=upd-${i}`),
    ),
  );
  const rss = rssMb(web.child.pid!);
  await stop(web);
  const logged = accessLines(logFile);
  const times: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    times.push(await timeToFirstAnswer(WEB_ARGS, env, `/user/${ids[0]}`));
  }
  const cold = median(times);
  return { rss, cold, logged, requests };
}

/**
 * GET by id and POST with tracing on (the default sampler, every request a trace, exported over
 * OTLP/protobuf to a local sink) on SQLite: compared with the same scenarios of the plain
 * SQLite run above, which has tracing off.
 */
async function benchTracing(dir: string, bare: Server, rows: Row[]) {
  const sink = await startOtlpSink();
  const store = 'sqlite, tracing on';
  const web = await start(
    WEB_ARGS,
    {
      DATABASE_URL: `sqlite:${join(dir, 'bench-traced.db')}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
    },
    join(dir, 'web-traced.log'),
  );
  try {
    const ids = await seed(web.port, 1000);
    const each = (method: 'GET' | 'POST', path: (i: number) => string): Load => ({
      path: '/user',
      options: () => perConnection(method, ids.length, path),
    });
    for (const [scenario, load] of [
      ['GET /user/:id', each('GET', (i) => `/user/${ids[i]}`)],
      ['POST /user', each('POST', (i) => `/user?name=load-${i}`)],
    ] as const) {
      const r = await interleaved(web, bare, load);
      rows.push({ store, scenario, rps: r.rps, bareRps: r.bareRps, p99: r.p99, errors: r.errors });
    }
  } finally {
    await stop(web);
    await sink.close();
  }
}

/** The bare node:http baseline's cold start: process start to its first answer, median. */
async function bareColdStart(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++)
    times.push(await timeToFirstAnswer(['bench/bare-server.mjs'], {}, '/'));
  return median(times);
}

async function main() {
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  // The build's writes are flushed before anything is timed, not during the baseline.
  execFileSync('sync');
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), '12f-bench-'));
  const stores: { store: string; result: Awaited<ReturnType<typeof benchStore>> }[] = [];
  let pgVersion = 'not reachable';
  // Runs throughout, idle but for its slices of each scenario (interleaved).
  const bare = await start(['bench/bare-server.mjs'], {}, join(dir, 'bare.log'));
  try {
    // Cold starts are timed before and after the stores; the ratio uses the faster median.
    const coldBefore = await bareColdStart();
    stores.push({
      store: 'sqlite',
      result: await benchStore(
        'sqlite',
        { DATABASE_URL: `sqlite:${join(dir, 'bench.db')}` },
        bare,
        rows,
        join(dir, 'web-sqlite.log'),
      ),
    });
    await benchTracing(dir, bare, rows);
    const admin = new pg.Client({ connectionString: PG_ADMIN });
    try {
      await admin.connect();
      pgVersion = (await admin.query('SHOW server_version')).rows[0].server_version;
      const db = `bench_${process.pid}`;
      await admin.query(`CREATE DATABASE ${db}`);
      try {
        const url = new URL(PG_ADMIN);
        url.pathname = `/${db}`;
        const env = { DATABASE_URL: url.toString() };
        execFileSync(process.execPath, ['dist/processes/migrate.js'], {
          cwd: ROOT,
          env: { ...process.env, ...env },
          stdio: 'ignore',
        });
        stores.push({
          store: 'postgres',
          result: await benchStore('postgres', env, bare, rows, join(dir, 'web-postgres.log')),
        });
      } finally {
        await admin.query(`DROP DATABASE ${db} WITH (FORCE)`);
      }
    } catch (error) {
      console.error('bench: PostgreSQL skipped:', (error as Error).message);
    } finally {
      await admin.end().catch(() => undefined);
    }
    const bareRss = rssMb(bare.child.pid!);
    const coldAfter = await bareColdStart();
    const bareCold = Math.min(coldBefore, coldAfter);
    const extras = stores.map(
      ({ store, result: r }) =>
        `| ${store} | ${r.cold.toFixed(0)} ms | ${(r.cold / bareCold).toFixed(3)} | ${r.rss.toFixed(0)} MB | ${r.logged} of ${r.requests} |`,
    );
    writeReport({ rows, extras, bareRss, bareColds: [coldBefore, coldAfter], pgVersion });
  } finally {
    await stop(bare);
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeReport(r: {
  rows: Row[];
  extras: string[];
  bareRss: number;
  bareColds: number[];
  pgVersion: string;
}) {
  const pkg = (name: string) =>
    JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  const table = r.rows
    .map(
      (row) =>
        `| ${row.store} | ${row.scenario} | ${row.rps.toFixed(0)} | ${row.bareRps.toFixed(0)} | ${(row.rps / row.bareRps).toFixed(3)} | ${row.p99} ms | ${row.errors} |`,
    )
    .join('\n');
  const text = `# Benchmarks

Written by \`npm run bench\` on ${new Date().toISOString()}. Load: autocannon, ${CONNECTIONS} connections, ${DURATION} s per
scenario, 127.0.0.1 only. Every throughput is also given as a ratio to a bare \`node:http\` server answering a fixed
small JSON record under the very same load, measured in the same run and interleaved with the scenario: each gets
${SLICES} slices of ${DURATION / SLICES} s, alternating which goes first, so both see the same phases of a machine whose speed drifts
(the bare column; errors count both). The web process runs the compiled build (\`dist/\`) as the Procfile's \`web\`
command runs it (\`node ${WEB_ARGS.join(' ')}\`), with \`NODE_ENV=production\` and \`LOG_LEVEL=info\`: one JSON line per
request, written to a file (the last column of the second table counts them). Each store was seeded with 1,000 users
over HTTP first. Each connection sends its own list of requests in turn, built before the clock starts: GET and PUT
\`/user/:id\` split the 1,000 users among the connections. p99 is the worst slice's. Ratios have three decimals, so
a figure just under a target never rounds up to it.

Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB. Node.js ${process.version},
Fastify ${pkg('fastify')}, better-sqlite3 ${pkg('better-sqlite3')} (SQLite, WAL), pg ${pkg('pg')} (PostgreSQL ${r.pgVersion}),
Kysely ${pkg('kysely')}.

| store | scenario | requests/s | bare node, same load | × bare node | p99 | errors |
|---|---|---|---|---|---|---|
${table}

Cold start: process start to the first answered \`GET /user/:id\`, median of ${COLD_STARTS}; bare node:
${r.bareColds.map((ms) => `${ms.toFixed(0)} ms`).join(' before, ')} after, to its first answer. RSS after all the load above (bare
node after all its slices: ${r.bareRss.toFixed(0)} MB).

| store | cold start | × bare node | RSS after load | access lines written, of answers counted |
|---|---|---|---|---|
${r.extras.join('\n')}

Targets: GET by id on SQLite ≥ 0.45 × bare; on PostgreSQL ≥ 0.13 ×; POST on SQLite ≥ 0.12 ×; cold start
≤ 3.5 × bare; RSS after load ≤ 100 MB. For scale, the tutorial's Sails 0.12 app takes ~670 ms to start and ~116 MB.
`;
  // Other benches own marked sections of this file (npm run bench:admin): keep them.
  const path = join(ROOT, 'bench', 'README.md');
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const kept = /<!-- admin-bulk[\s\S]*?<!-- \/admin-bulk -->/.exec(previous)?.[0];
  const events =
    'Webhook delivery throughput and lag: [events.md](events.md) (`npm run bench:events`).\n';
  writeFileSync(path, `${text}\n${events}${kept ? `\n${kept}\n` : ''}`);
  console.log(text);
}

await main();
