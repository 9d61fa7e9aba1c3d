/**
 * `npm run bench`: load on 127.0.0.1 only, bounded in time. Every figure is a ratio to a bare
 * node:http server and to a hand-written Fastify handler on the same store, measured in the same
 * run with the same load. Writes bench/README.md.
 */
import autocannon from 'autocannon';
import { execFileSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/support/free-port.ts';
import { doomedId, fillDeletePool } from './delete-pool.ts';
import { startOtlpSink } from './otlp-sink.ts';
import {
  firstAnswer,
  HANDWRITTEN,
  launch,
  ROOT,
  timeToFirstAnswer,
  WEB_ARGS,
  withMigratedPostgres,
} from './servers.ts';

const DURATION = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const COLD_STARTS = Number(process.env.BENCH_COLD_STARTS ?? 10);
/** Which stores to measure (comma-separated); both by default. */
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');

interface Server {
  child: ChildProcess;
  port: number;
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
 * Each scenario's time is cut into this many slices per server, taken in turn; whole seconds
 * each, as autocannon counts its duration in whole seconds.
 */
const SLICES = Number(process.env.BENCH_SLICES ?? 5);
if (!Number.isInteger(DURATION / SLICES) || DURATION < SLICES)
  throw new Error(`BENCH_DURATION_S (${DURATION}) must be a multiple of BENCH_SLICES (${SLICES})`);

const SETTLE_MS = 300;

/**
 * The servers every scenario runs against: the service, the hand-written Fastify handler on the
 * same store and database (what a user would write instead), and bare node:http.
 */
const SIDES = ['ours', 'hand', 'bare'] as const;
type Side = (typeof SIDES)[number];

interface Load {
  /** The URL's path autocannon is given (requests that name their own path replace it). */
  path: string;
  /**
   * autocannon options for one slice of one server, made anew for each: they carry per-run
   * state, and a load whose requests can each succeed once (DELETE) gives each its own.
   */
  options?: (side: Side, slice: number) => Partial<autocannon.Options>;
}

async function slice(port: number, load: Load, side: Side, index: number, seconds: number) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${load.path}`,
    connections: CONNECTIONS,
    duration: seconds,
    ...load.options?.(side, index),
  });
  return {
    requests: result.requests.total,
    seconds: result.duration,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/**
 * One unmeasured slice of GET by id for each server before its first scenario: a fresh process
 * runs code V8 has not optimised yet, and the first scenario alone paid for it (a traced
 * server's first slice cost 10–50 µs a request more than its later ones). Reads only, so no
 * scenario finds its data changed.
 */
async function warmUp(servers: { port: number; ids: string[] }[]) {
  for (const { port, ids } of servers) {
    await slice(
      port,
      { path: '/user', options: () => perConnection('GET', ids.length, (i) => `/user/${ids[i]}`) },
      'ours',
      0,
      DURATION / SLICES,
    );
  }
}

interface Measured {
  rps: number;
  /** Each round's (slice's) throughput, in round order. */
  rounds: number[];
  /** The worst slice's p99: merging them would need the raw samples. */
  p99: number;
  errors: number;
  requests: number;
}

/**
 * One scenario against each server in turn: SLICES slices each, the order rotating every round
 * so that all see the same phases of a machine whose speed drifts by a third within minutes.
 * Each server's throughput is taken over the sums of its slices.
 */
async function interleaved(servers: Record<Side, Server>, load: Load) {
  const seconds = DURATION / SLICES;
  const sums = Object.fromEntries(
    SIDES.map((side) => [
      side,
      { requests: 0, seconds: 0, p99: 0, errors: 0, rounds: [] as number[] },
    ]),
  ) as Record<
    Side,
    { requests: number; seconds: number; p99: number; errors: number; rounds: number[] }
  >;
  for (let i = 0; i < SLICES; i++) {
    const order = SIDES.map((_, k) => SIDES[(i + k) % SIDES.length]!);
    for (const side of order) {
      // What a slice leaves behind (a collection, the access lines it buffered) settles before
      // the next one starts, rather than slowing the other server's slice.
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const r = await slice(servers[side].port, load, side, i, seconds);
      sums[side].rounds.push(r.requests / r.seconds);
      sums[side].requests += r.requests;
      sums[side].seconds += r.seconds;
      sums[side].errors += r.errors;
      sums[side].p99 = Math.max(sums[side].p99, r.p99);
    }
  }
  return Object.fromEntries(
    SIDES.map((side) => {
      const s = sums[side];
      return [
        side,
        {
          rps: s.requests / s.seconds,
          rounds: s.rounds,
          p99: s.p99,
          errors: s.errors,
          requests: s.requests,
        },
      ];
    }),
  ) as Record<Side, Measured>;
}

/**
 * The same kind of load for every server: connection k sends its own list of requests in turn,
 * built once before the clock starts. (With autocannon's setupRequest every request is rebuilt
 * as it is sent: that cost its one thread ~18 µs a request here, about as much as the bare
 * server spends answering one, and only the service's scenarios paid it.) The lists are
 * disjoint, so no two requests in flight name the same user, and together they cover `count`
 * users.
 */
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

function perConnection(
  method: Method,
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
    // A loaded machine can make a seed request fail (a deadline, a shed request): its id would
    // be missing, and every GET of it would count as an error of the server under test.
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`http://127.0.0.1:${port}/user?name=seed-${i}`, {
        method: 'POST',
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { id?: string };
      if (res.status === 201 && body.id) {
        ids.push(body.id);
        break;
      }
      if (attempt === 5)
        throw new Error(`seeding user ${i}: ${res.status} ${JSON.stringify(body)}`);
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
  return ids;
}

interface Row {
  store: string;
  scenario: string;
  measured: Record<Side, Measured>;
}

/** Each server's own users for the DELETE scenario (the bare server is sent the service's). */
const DELETE_POOL = Number(process.env.BENCH_DELETE_POOL ?? 250_000);
const DELETE_PREFIX: Record<Side, string> = { ours: 'd0', hand: 'd1', bare: 'd0' };

interface StoreResult {
  store: string;
  /** Per server: RSS after all the load, median cold start. */
  rss: Record<'ours' | 'hand', number>;
  cold: Record<'ours' | 'hand', number>;
  logged: number;
  requests: number;
}

async function benchStore(
  store: string,
  env: Record<string, string>,
  bare: Server,
  rows: Row[],
  dir: string,
): Promise<StoreResult> {
  const logFile = join(dir, `web-${store}.log`);
  const web = await start(WEB_ARGS, env, logFile);
  const hand = await start([HANDWRITTEN[store]!], env, join(dir, `hand-${store}.log`));
  const servers = { ours: web, hand, bare };
  const ids = await seed(web.port, 1000);
  await warmUp([web, hand, bare].map((server) => ({ port: server.port, ids })));
  let requests = ids.length;
  const add = (scenario: string, measured: Record<Side, Measured>) => {
    requests += measured.ours.requests;
    rows.push({ store, scenario, measured });
  };
  // Each connection reads its own share of the seeded users, so no store can answer from one
  // hot row, nor fetch one row for several requests at once.
  const each = (method: Method, path: (i: number) => string): Load => ({
    path: '/user',
    options: () => perConnection(method, ids.length, path),
  });
  add(
    'GET /user/:id',
    await interleaved(
      servers,
      each('GET', (i) => `/user/${ids[i]}`),
    ),
  );
  add('GET /user?limit=30', await interleaved(servers, { path: '/user?limit=30' }));
  add(
    'POST /user',
    await interleaved(
      servers,
      each('POST', (i) => `/user?name=load-${i}`),
    ),
  );
  add(
    'PUT /user/:id',
    await interleaved(
      servers,
      each('PUT', (i) => `/user/${ids[i]}?name=upd-${i}`),
    ),
  );
  await fillDeletePool(env.DATABASE_URL!, DELETE_PREFIX.ours, DELETE_POOL);
  await fillDeletePool(env.DATABASE_URL!, DELETE_PREFIX.hand, DELETE_POOL);
  // Slice k of each server deletes the k-th part of that server's own users.
  const share = Math.floor(DELETE_POOL / SLICES);
  add(
    'DELETE /user/:id',
    await interleaved(servers, {
      path: '/user',
      options: (side, k) =>
        perConnection(
          'DELETE',
          share,
          (i) => `/user/${doomedId(DELETE_PREFIX[side], k * share + i)}`,
        ),
    }),
  );
  const rss = { ours: rssMb(web.child.pid!), hand: rssMb(hand.child.pid!) };
  await stop(web);
  await stop(hand);
  const logged = accessLines(logFile);
  const cold = { ours: [] as number[], hand: [] as number[] };
  // Taking turns, the order swapped every round, so neither always follows the other's kill.
  for (let i = 0; i < COLD_STARTS; i++) {
    for (const side of i % 2 === 0 ? (['ours', 'hand'] as const) : (['hand', 'ours'] as const)) {
      const args = side === 'ours' ? WEB_ARGS : [HANDWRITTEN[store]!];
      cold[side].push(await timeToFirstAnswer(args, env, `/user/${ids[0]}`));
    }
  }
  return {
    store,
    rss,
    cold: { ours: median(cold.ours), hand: median(cold.hand) },
    logged,
    requests,
  };
}

/**
 * GET by id and POST with telemetry off and on, on SQLite, four web processes (each on its own
 * database) taking turns as the other scenarios' servers do: tracing off twice (the second shows
 * how far two identical servers drift apart in one run: the noise), tracing on with the default
 * settings (parentbased_always_on, at most TRACES_MAX_PER_SECOND traces a second) and tracing
 * on with every request traced (no bound). Spans and metrics go over OTLP/protobuf to a local
 * sink. `interleaved` takes three servers; each traced one runs against the two untraced ones.
 */
const TELEMETRY_SIDES = {
  default: 'on, default settings',
  every: 'on, every request traced',
} as const;

interface TelemetryResult {
  rows: {
    scenario: string;
    traced: string;
    measured: Record<Side, Measured>;
    /** Each server's CPU time (all threads) per request served, over the scenario, in µs. */
    cpuUs: Record<Side, number>;
  }[];
  load: number[];
  dropped: string;
}

/** CPU time (user and system, all threads) a process has used so far, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime, in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function benchTelemetry(dir: string): Promise<TelemetryResult> {
  const load = [loadavg()[0]!];
  const sink = await startOtlpSink();
  // Each server on a SQLite file of its own, seeded alike; one process each, as production's
  // embedded-store check wants.
  const launchWeb = async (name: string, extra: Record<string, string>) => {
    const env = {
      DATABASE_URL: `sqlite:${join(dir, `telemetry-${name}.db`)}`,
      ALLOW_EMBEDDED_STORE: 'true',
      ...extra,
    };
    const server = await start(WEB_ARGS, env, join(dir, `web-${name}.log`));
    const ids = await seed(server.port, 1000);
    await warmUp([{ port: server.port, ids }]);
    return { ...server, ids };
  };
  const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint };
  const off = await launchWeb('off', {});
  const offAgain = await launchWeb('off-again', {});
  const on = {
    default: await launchWeb('traced', traced),
    every: await launchWeb('traced-all', { ...traced, TRACES_MAX_PER_SECOND: '0' }),
  };
  const rows: TelemetryResult['rows'] = [];
  let dropped: string;
  try {
    for (const [scenario, method, path] of [
      ['GET /user/:id', 'GET', (ids: string[], i: number) => `/user/${ids[i]}`],
      ['POST /user', 'POST', (_ids: string[], i: number) => `/user?name=load-${i}`],
    ] as const) {
      for (const key of Object.keys(TELEMETRY_SIDES) as (keyof typeof TELEMETRY_SIDES)[]) {
        // ours: traced; hand: off; bare: off again.
        const servers = { ours: on[key], hand: off, bare: offAgain };
        const load: Load = {
          path: '/user',
          options: (side) => {
            const { ids } = servers[side];
            return perConnection(method, ids.length, (i) => path(ids, i));
          },
        };
        const before = SIDES.map((side) => cpuMs(servers[side].child.pid!));
        const measured = await interleaved(servers, load);
        const cpuUs = Object.fromEntries(
          SIDES.map((side, k) => [
            side,
            ((cpuMs(servers[side].child.pid!) - before[k]!) * 1000) / measured[side].requests,
          ]),
        ) as Record<Side, number>;
        rows.push({ scenario, traced: key, measured, cpuUs });
      }
    }
    // What the traced servers could not export (none, with a healthy sink): proof the figures
    // are of spans sent, not of spans dropped.
    const counts = await Promise.all(
      Object.values(on).map(async (server) => {
        const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
        return [...text.matchAll(/^telemetry_spans_dropped_total\{[^}]*\} (\d+)/gm)].reduce(
          (sum, m) => sum + Number(m[1]),
          0,
        );
      }),
    );
    dropped = counts.join(' and ');
  } finally {
    for (const server of [off, offAgain, on.default, on.every]) await stop(server);
    await sink.close();
  }
  load.push(loadavg()[0]!);
  return { rows, load, dropped };
}

function telemetrySection(r: TelemetryResult): string {
  const table = r.rows
    .map(({ scenario, traced, measured: { ours, hand, bare }, cpuUs }) =>
      [
        scenario,
        TELEMETRY_SIDES[traced as keyof typeof TELEMETRY_SIDES],
        hand.rps.toFixed(0),
        bare.rps.toFixed(0),
        ours.rps.toFixed(0),
        medianRatio(bare.rounds, hand.rounds).toFixed(3),
        `**${medianRatio(ours.rounds, hand.rounds).toFixed(3)}**`,
        ratio(ours.rps, hand.rps),
        `${cpuUs.hand.toFixed(0)} / ${cpuUs.bare.toFixed(0)} / ${cpuUs.ours.toFixed(0)}`,
        ratio(cpuUs.ours, cpuUs.hand),
        `${hand.p99} / ${ours.p99} ms`,
        ours.errors + hand.errors + bare.errors,
      ].join(' | '),
    )
    .map((line) => `| ${line} |`)
    .join('\n');
  return `<!-- telemetry: this section is written by \`npm run bench\` (alone: \`BENCH_ONLY=telemetry npm run bench\`) -->

## Telemetry: tracing off and on

Written on ${new Date().toISOString()}. GET by id and POST on SQLite, against four web processes,
each on a database of its own seeded with 1,000 users and warmed by one unmeasured slice of GET by id, each run as the other scenarios' \`ours\` is: tracing **off**, the same once more
(**off again**: two identical servers, so their ratio is this run's noise), and tracing **on**
(OTLP/protobuf to a local sink that answers 200 at once) with the default settings
(\`parentbased_always_on\`, at most \`TRACES_MAX_PER_SECOND\`=100 traces a second a process) and
with every request traced (\`TRACES_MAX_PER_SECOND=0\`). Each traced server takes turns with the two
untraced ones, ${SLICES} slices of ${DURATION / SLICES} s each, ${CONNECTIONS} connections. With tracing off no part of the SDK is
loaded. Spans dropped by the traced servers over the run: ${r.dropped}. 1-minute load average
${r.load.map((l) => l.toFixed(1)).join(' → ')} (start → end; the machine's 2 cores were shared with other work).

| scenario | traced server | off, req/s | off again, req/s | on, req/s | off again × off | on × off | on × off, all rounds | CPU µs a request, off / off again / on | CPU on × off | p99 off / on | errors |
|---|---|---|---|---|---|---|---|---|---|---|---|
${table}

Target: tracing on with the default settings ≥ 0.90 × off; off again × off shows how far apart
two identical servers land in this run. Both ratios are the median over the ${SLICES} rounds of the two
servers' ratio in that round (the servers of a round run one after the other, so a machine whose
speed drifts over minutes sways them alike); **all rounds** is the ratio of their requests a second
over the whole scenario. The CPU columns are each process's CPU time (all its
threads, from /proc) over the scenario divided by the requests it answered: less swayed than
requests a second by how much of the shared cores each process happened to get.
<!-- /telemetry -->`;
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
  if (process.env.BENCH_ONLY === 'telemetry') return onlyTelemetry();
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), '12f-bench-'));
  const stores: StoreResult[] = [];
  let pgVersion = 'not reachable';
  const load = [loadavg()[0]!];
  // Runs throughout, idle but for its slices of each scenario (interleaved).
  const bare = await start(['bench/bare-server.mjs'], {}, join(dir, 'bare.log'));
  try {
    // Cold starts are timed before and after the stores; the ratio uses the faster median.
    const coldBefore = await bareColdStart();
    let telemetry = '';
    if (STORES.includes('sqlite')) {
      stores.push(
        await benchStore(
          'sqlite',
          { DATABASE_URL: `sqlite:${join(dir, 'bench.db')}` },
          bare,
          rows,
          dir,
        ),
      );
      telemetry = telemetrySection(await benchTelemetry(dir));
    }
    load.push(loadavg()[0]!);
    try {
      if (!STORES.includes('postgres')) throw new Error('not in BENCH_STORES');
      const { result, version } = await withMigratedPostgres((env) =>
        benchStore('postgres', env, bare, rows, dir),
      );
      stores.push(result);
      pgVersion = version;
    } catch (error) {
      console.error('bench: PostgreSQL skipped:', (error as Error).message);
    }
    load.push(loadavg()[0]!);
    const bareRss = rssMb(bare.child.pid!);
    const coldAfter = await bareColdStart();
    writeReport({
      rows,
      stores,
      bareRss,
      bareColds: [coldBefore, coldAfter],
      pgVersion,
      load,
      telemetry,
    });
  } finally {
    await stop(bare);
    rmSync(dir, { recursive: true, force: true });
  }
}

const ratio = (a: number, b: number) => (a / b).toFixed(3);

/** Each target of the table below the results, with this run's figure and whether it is met. */
function targetRows(rows: Row[], stores: StoreResult[]): string[][] {
  const out: string[][] = [];
  const check = (name: string, value: number | undefined, bound: number, atMost = false) => {
    if (value === undefined) return;
    const met = atMost ? value <= bound : value >= bound;
    out.push([name, value.toFixed(3), met ? '✓' : `✗ (${atMost ? '>' : '<'} ${bound})`]);
  };
  const measured = (store: string, scenario: string) =>
    rows.find((row) => row.store === store && row.scenario === scenario)?.measured;
  const vsHand = (store: string, scenario: string) => {
    const m = measured(store, scenario);
    return m && medianRatio(m.ours.rounds, m.hand.rounds);
  };
  check('PostgreSQL POST /user × hand-written ≥ 1.0', vsHand('postgres', 'POST /user'), 1);
  check('PostgreSQL PUT /user/:id × hand-written ≥ 1.0', vsHand('postgres', 'PUT /user/:id'), 1);
  check(
    'PostgreSQL DELETE /user/:id × hand-written ≥ 1.0',
    vsHand('postgres', 'DELETE /user/:id'),
    1,
  );
  const list = measured('postgres', 'GET /user?limit=30');
  check(
    'PostgreSQL GET /user?limit=30 × bare ≥ 0.10',
    list && medianRatio(list.ours.rounds, list.bare.rounds),
    0.1,
  );
  check('PostgreSQL GET /user/:id × hand-written ≥ 1.5', vsHand('postgres', 'GET /user/:id'), 1.5);
  check('SQLite GET /user/:id × hand-written ≥ 0.9', vsHand('sqlite', 'GET /user/:id'), 0.9);
  check('SQLite POST /user × hand-written ≥ 1.0', vsHand('sqlite', 'POST /user'), 1);
  const handSqlite = stores.find((store) => store.store === 'sqlite')?.rss.hand;
  for (const store of stores) {
    if (handSqlite !== undefined)
      check(
        `${store.store}: RSS after load × hand-written SQLite's ≤ 1.3`,
        store.rss.ours / handSqlite,
        1.3,
        true,
      );
    check(
      `${store.store}: cold start × hand-written's ≤ 1.1`,
      store.cold.ours / store.cold.hand,
      1.1,
      true,
    );
  }
  return out;
}

/** The median over rounds of one server's throughput over another's in the same round. */
const medianRatio = (a: number[], b: number[]) => median(a.map((value, i) => value / b[i]!));

function writeReport(r: {
  rows: Row[];
  stores: StoreResult[];
  bareRss: number;
  bareColds: number[];
  pgVersion: string;
  load: number[];
  telemetry: string;
}) {
  const pkg = (name: string) =>
    JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  const table = r.rows
    .map(({ store, scenario, measured: { ours, hand, bare } }) =>
      [
        store,
        scenario,
        ours.rps.toFixed(0),
        hand.rps.toFixed(0),
        bare.rps.toFixed(0),
        ratio(ours.rps, bare.rps),
        ratio(hand.rps, bare.rps),
        `**${medianRatio(ours.rounds, hand.rounds).toFixed(3)}**`,
        ratio(ours.rps, hand.rps),
        `${ours.p99} / ${hand.p99} ms`,
        ours.errors + hand.errors + bare.errors,
      ].join(' | '),
    )
    .map((line) => `| ${line} |`)
    .join('\n');
  const bareCold = Math.min(...r.bareColds);
  const extras = r.stores
    .map((s) =>
      [
        s.store,
        `${s.cold.ours.toFixed(0)} ms`,
        `${s.cold.hand.toFixed(0)} ms`,
        ratio(s.cold.ours, bareCold),
        `**${ratio(s.cold.ours, s.cold.hand)}**`,
        `${s.rss.ours.toFixed(0)} MB`,
        `${s.rss.hand.toFixed(0)} MB`,
        `**${ratio(s.rss.ours, s.rss.hand)}**`,
        `${s.logged} of ${s.requests}`,
      ].join(' | '),
    )
    .map((line) => `| ${line} |`)
    .join('\n');
  const targets = targetRows(r.rows, r.stores)
    .map((line) => `| ${line.join(' | ')} |`)
    .join('\n');
  const text = `# Benchmarks

Written by \`npm run bench\` on ${new Date().toISOString()}. Load: autocannon, ${CONNECTIONS} connections, ${DURATION} s per
scenario and server, 127.0.0.1 only. Each scenario runs against three servers, taking turns: **ours** (the service), the
**hand-written** handler on the same store and the same database (\`bench/handwritten-sqlite.mjs\`,
\`bench/handwritten-pg.mjs\`: Fastify, one prepared statement per request, no logs, no metrics, no outbox — what a user
would write instead of adopting the service) and a **bare** \`node:http\` server answering a fixed small JSON record. Each
server gets ${SLICES} slices of ${DURATION / SLICES} s, the order rotating every round, so all see the same phases of a machine whose speed
drifts. Every throughput is given as a ratio to the bare server and, for ours, to the hand-written handler (errors count
all three); ours × hand-written is given as the median over the ${SLICES} rounds of the two servers' ratio in that round (the
targets' figure) and over all rounds' requests together. The web process runs the compiled build (\`dist/\`) as the Procfile's \`web\` command runs it
(\`node ${WEB_ARGS.join(' ')}\`), with \`NODE_ENV=production\` and \`LOG_LEVEL=info\`: one JSON line per request, written
to a file (the last column of the second table counts them). Each store was seeded with 1,000 users over HTTP first; then
each server got one unmeasured ${DURATION / SLICES} s slice of GET by id, so that no scenario pays for V8's warm-up alone.
Each connection sends its own list of requests in turn, built before the clock starts: GET and PUT \`/user/:id\` split
the 1,000 users among the connections; DELETE gives each server ${DELETE_POOL.toLocaleString('en')} users of its own, inserted straight into the
table before the scenario, one ${SLICES}th of them per slice. p99 is the worst slice's. Ratios have three decimals, so a figure just
under a target never rounds up to it.

Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; 1-minute load average
${r.load.map((l) => l.toFixed(1)).join(' → ')} (start → after SQLite → end; 2 means both cores busy). Node.js ${process.version},
Fastify ${pkg('fastify')}, better-sqlite3 ${pkg('better-sqlite3')} (SQLite, WAL), pg ${pkg('pg')} (PostgreSQL ${r.pgVersion}),
Kysely ${pkg('kysely')}.

| store | scenario | ours, req/s | hand-written, req/s | bare, req/s | ours × bare | hand-written × bare | ours × hand-written, median of rounds | ours × hand-written, all rounds | p99 ours / hand-written | errors |
|---|---|---|---|---|---|---|---|---|---|---|
${table}

Cold start: process start to the first answered \`GET /user/:id\`, median of ${COLD_STARTS}, ours and the
hand-written server taking turns. Ours runs with Node's compile cache (\`module.enableCompileCache()\`, as it does however
it is started), written when its load run above ended with SIGTERM; the hand-written server and bare node use none. Bare node:
${r.bareColds.map((ms) => `${ms.toFixed(0)} ms`).join(' before, ')} after, to its first answer. RSS after all the load above (bare
node after all its slices: ${r.bareRss.toFixed(0)} MB).

| store | cold start, ours | cold start, hand-written | ours × bare | ours × hand-written | RSS after load, ours | RSS, hand-written | ours × hand-written | access lines written, of answers counted |
|---|---|---|---|---|---|---|---|---|
${extras}

Targets: on PostgreSQL, POST, PUT and DELETE ≥ 1.0 × the hand-written handler, \`GET /user?limit=30\` ≥ 0.10 × bare,
\`GET /user/:id\` ≥ 1.5 × hand-written; on SQLite, \`GET /user/:id\` ≥ 0.9 × and POST ≥ 1.0 × hand-written; RSS after
load ≤ 1.3 × the hand-written SQLite server's; cold start ≤ 1.1 × the hand-written server's on the same store. For scale,
the tutorial's Sails 0.12 app takes ~670 ms to start and ~116 MB.

| target | measured | met |
|---|---|---|
${targets}
`;
  // Other benches own marked sections of this file (npm run bench:admin): keep them.
  const path = join(ROOT, 'bench', 'README.md');
  const previous = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const kept = /<!-- admin-bulk[\s\S]*?<!-- \/admin-bulk -->/.exec(previous)?.[0];
  const events =
    'Webhook delivery throughput and lag: [events.md](events.md) (`npm run bench:events`).\n';
  writeFileSync(path, `${text}\n${r.telemetry}\n\n${events}${kept ? `\n${kept}\n` : ''}`);
  console.log(text);
}

/** `BENCH_ONLY=telemetry`: the telemetry scenarios alone, replacing just their section. */
async function onlyTelemetry() {
  const dir = mkdtempSync(join(tmpdir(), '12f-bench-'));
  try {
    const section = telemetrySection(await benchTelemetry(dir));
    const path = join(ROOT, 'bench', 'README.md');
    const previous = readFileSync(path, 'utf8');
    const marked = /<!-- telemetry[\s\S]*?<!-- \/telemetry -->/;
    writeFileSync(
      path,
      marked.test(previous)
        ? previous.replace(marked, () => section)
        : previous.replace(/\nWebhook delivery/, () => `\n${section}\n\nWebhook delivery`),
    );
    console.log(section);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
