/**
 * `npm run soak`: ten minutes (SOAK_SECONDS) of mixed load on 127.0.0.1 against the compiled web
 * process on PostgreSQL, with token auth on, the way it would be exposed. Every SAMPLE_SECONDS
 * it records the process's RSS and the interval's latency percentiles; at the end it prints a
 * table and the growth from the first sample after warm-up to the last. Not part of CI.
 */
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { freePort } from '../test/support/free-port.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const SAMPLE_SECONDS = Number(process.env.SOAK_SAMPLE_SECONDS ?? 60);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 16);
const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROOT = new URL('..', import.meta.url).pathname;
const TOKEN = 'soak-writer-token-0123456789abcdef';

const database = `soak_${process.pid}`;
const queryOne = async (sql: string) => {
  const client = new pg.Client(PG_ADMIN);
  await client.connect();
  const { rows } = await client.query<Record<string, string>>(sql);
  await client.end();
  return Object.values(rows[0] ?? {})[0];
};
const vacuumAll = async () => {
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query('VACUUM (ANALYZE)');
  await client.end();
};
const admin = async (sql: string) => {
  const client = new pg.Client(PG_ADMIN);
  await client.connect();
  await client.query(sql);
  await client.end();
};
await admin(`CREATE DATABASE ${database}`);
const url = new URL(PG_ADMIN);
url.pathname = `/${database}`;
const env = {
  PATH: process.env.PATH ?? '',
  NODE_ENV: 'production',
  DATABASE_URL: url.toString(),
  HOST: '127.0.0.1',
  PORT: String(await freePort()),
  API_TOKENS: TOKEN,
  // One client address sends everything; the limiter would only measure itself.
  RATE_LIMIT_MAX: '0',
  LOG_LEVEL: 'info',
};
execFileSync(process.execPath, ['dist/processes/admin.js', 'migrate'], {
  cwd: ROOT,
  env,
  stdio: 'ignore',
});
// The Procfile's web command, node's flags included (they bound the heap): the soak's RSS is what
// production's would be.
const webArgs = readFileSync(`${ROOT}Procfile`, 'utf8')
  .split('\n')
  .find((line) => line.startsWith('web: node '))!
  .slice('web: node '.length)
  .trim()
  .split(/\s+/);
const web = spawn(process.execPath, webArgs, {
  cwd: ROOT,
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
web.stdout!.resume();
const base = `http://127.0.0.1:${env.PORT}`;
for (let ready = false; !ready;) {
  await new Promise((resolve) => setTimeout(resolve, 200));
  ready = await fetch(`${base}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
}

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'content-type': 'application/json' };
const ids: string[] = [];
let latencies: number[] = [];
let requests = 0;
const errors: string[] = [];
let serial = 0;

/** Whether a list answer is a page: an array of at most 30 records within its count. */
function isWholePage(text: string, total: string | null): boolean {
  const records = JSON.parse(text) as unknown;
  return (
    Array.isArray(records) &&
    records.length <= 30 &&
    records.every((record: { id?: unknown } | null) => typeof record?.id === 'string') &&
    Number(total) >= records.length
  );
}

/**
 * One step of the mix: 40 % read by id, 10 % filtered list, 10 % page of the whole list (the
 * pages PostgreSQL prints as JSON), 15 % create, 10 % update, 15 % delete. As many creates as
 * deletes keep the table near its seeded size, so a trend in the figures is the process's, not
 * the data's (a growing table makes every filtered list slower).
 */
async function step(seeding = false): Promise<void> {
  const dice = seeding ? 0 : Math.random();
  const id = ids[Math.floor(Math.random() * ids.length)];
  const n = serial++;
  let method = 'GET';
  let path = `/user/${id}`;
  let body: string | undefined;
  let expected = [200, 404];
  /** A page of the whole list, whose body isWholePage checks. */
  let isPage = false;
  if (dice < 0.15 || !id) {
    method = 'POST';
    path = '/user';
    body = JSON.stringify({ name: `soak ${n}`, email: `soak${n}@example.com` });
    expected = [201];
  } else if (dice < 0.25) {
    path = `/user?limit=30&sort=name%20DESC&where=${encodeURIComponent('{"name":{"contains":"9"}}')}`;
    expected = [200];
  } else if (dice < 0.35) {
    path = `/user?limit=30&skip=${Math.floor(Math.random() * ids.length)}`;
    expected = [200];
    isPage = true;
  } else if (dice < 0.45) {
    method = 'PATCH';
    body = JSON.stringify({ name: `soak ${n} renamed` });
  } else if (dice < 0.6) {
    method = 'DELETE';
    ids.splice(ids.indexOf(id), 1);
  }
  const started = performance.now();
  const headers = body ? json : auth;
  const res = await fetch(`${base}${path}`, { method, headers, ...(body && { body }) });
  const text = await res.text();
  latencies.push(performance.now() - started);
  requests++;
  if (!expected.includes(res.status))
    errors.push(`${method} ${path} → ${res.status} ${text.slice(0, 120)}`);
  else if (isPage && !isWholePage(text, res.headers.get('x-total-count')))
    errors.push(`${method} ${path} → not a page: ${text.slice(0, 120)}`);
  if (res.status === 201) ids.push((JSON.parse(text) as { id: string }).id);
}

const cleanUp = async () => {
  web.kill('SIGTERM');
  await new Promise((resolve) => web.once('exit', resolve));
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
};
process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));

const SEED = 2000;
await Promise.all(
  Array.from({ length: CLIENTS }, async (_, c) => {
    for (let i = c; i < SEED; i += CLIENTS) await step(true);
  }),
);
latencies = [];
requests = 0;

const rssMb = () =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${web.pid}/status`, 'utf8'))?.[1]) / 1024;
const pct = (sorted: number[], p: number) => sorted[Math.floor((sorted.length - 1) * p)] ?? 0;
const samples: {
  minute: number;
  rss: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}[] = [];
const deadline = Date.now() + SECONDS * 1000;
// Production PostgreSQL runs autovacuum; a test server may not (this one has it off). Without
// it dead rows pile up under the updates and deletes and every list scans them, so the soak
// vacuums once a minute to measure the service, not the missing housekeeping.
const autovacuum = await queryOne(`SHOW autovacuum`);
const vacuum =
  autovacuum === 'off'
    ? setInterval(
        () => void vacuumAll().catch((error: unknown) => errors.push(String(error))),
        60_000,
      )
    : undefined;
const sample = () => {
  const sorted = latencies.sort((a, b) => a - b);
  samples.push({
    minute: Math.round(((samples.length + 1) * SAMPLE_SECONDS) / 6) / 10,
    rss: Math.round(rssMb()),
    rps: Math.round(requests / SAMPLE_SECONDS),
    p50: Math.round(pct(sorted, 0.5) * 10) / 10,
    p99: Math.round(pct(sorted, 0.99) * 10) / 10,
    errors: errors.length,
  });
  console.log(JSON.stringify(samples.at(-1)));
  latencies = [];
  requests = 0;
};
const sampler = setInterval(sample, SAMPLE_SECONDS * 1000);

await Promise.all(
  Array.from({ length: CLIENTS }, async () => {
    while (Date.now() < deadline) {
      try {
        await step();
      } catch (error) {
        errors.push(String(error));
      }
    }
  }),
);
clearInterval(sampler);
clearInterval(vacuum);
// The last interval ends with the load, a moment before its timer would fire.
if (samples.length < Math.round(SECONDS / SAMPLE_SECONDS)) sample();
await cleanUp();

const first = samples[1] ?? samples[0]!;
const last = samples.at(-1)!;
const growth = (a: number, b: number) =>
  `${a} → ${b} (${b >= a ? '+' : ''}${Math.round(((b - a) / a) * 100)} %)`;
console.log(
  `\n| minute | RSS MB | requests/s | p50 ms | p99 ms | errors so far |\n|---|---|---|---|---|---|`,
);
for (const s of samples)
  console.log(`| ${s.minute} | ${s.rss} | ${s.rps} | ${s.p50} | ${s.p99} | ${s.errors} |`);
console.log(
  `\nRSS after warm-up ${growth(first.rss, last.rss)} MB; p99 ${growth(first.p99, last.p99)} ms; p50 ${growth(first.p50, last.p50)} ms; errors ${errors.length}`,
);
console.log(
  `autovacuum ${autovacuum}${vacuum ? '; the soak ran VACUUM ANALYZE every minute' : ''}`,
);
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`load average at the end (other work on the machine shows here): ${load}`);
for (const error of errors.slice(0, 10)) console.log(`error: ${error}`);
process.exit(errors.length === 0 ? 0 : 1);
