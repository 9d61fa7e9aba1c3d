/**
 * `npm run bench:admin`: a million users through `admin export` and `admin import` on SQLite and
 * PostgreSQL, each command run as operators run it (`npm run admin -- …`, the compiled build),
 * timed from spawn to exit, with the peak RSS each command reports in its summary (getrusage's
 * maxRSS). Writes its own section of bench/README.md and leaves the rest of the file alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { format } from 'prettier';

const USERS = Number(process.env.BENCH_ADMIN_USERS ?? 1_000_000);
const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROOT = new URL('..', import.meta.url).pathname;
const README = join(ROOT, 'bench', 'README.md');
const START = '<!-- admin-bulk: this section is written by `npm run bench:admin` -->';
const END = '<!-- /admin-bulk -->';

interface Step {
  store: string;
  command: string;
  note: string;
  seconds: number;
  rssMb: number;
  load: number;
  summary: string;
}

type Measure = Omit<Step, 'store' | 'command' | 'note'>;

async function admin(env: Record<string, string>, args: string[]): Promise<Measure> {
  const load = loadavg()[0] ?? 0;
  const started = performance.now();
  const child = spawn('npm', ['run', '--silent', 'admin', '--', ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  const summary =
    output.split('\n').find((line) => /^(seed|export|import|migrate)\b.*:/.test(line)) ?? '';
  if (code !== 0) throw new Error(`admin ${args.join(' ')} exited ${code}:\n${output}`);
  const rss = /peak RSS (\d+) MB/.exec(summary)?.[1];
  console.log(`${args.join(' ')}: ${seconds.toFixed(1)} s; ${summary}`);
  return { seconds, rssMb: rss === undefined ? Number.NaN : Number(rss), load, summary };
}

async function withPostgres<T>(run: (url: string) => Promise<T>): Promise<T> {
  const name = `bench_admin_${process.pid}`;
  const client = new pg.Client({ connectionString: PG_ADMIN });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await client.query(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  try {
    return await run(url.toString());
  } finally {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), '12f-bench-admin-'));
  const file = join(dir, 'users.ndjson');
  const again = join(dir, 'again.ndjson');
  const steps: Step[] = [];
  const step = async (store: string, env: Record<string, string>, args: string[], note = '') => {
    const command = args.map((arg) => (arg === file || arg === again ? 'FILE' : arg)).join(' ');
    steps.push({ store, command, note, ...(await admin(env, args)) });
  };
  try {
    const source = { DATABASE_URL: `sqlite:${join(dir, 'source.db')}` };
    await step('sqlite', source, ['seed', '--count', String(USERS), '--no-events'], 'setup');
    await step('sqlite', source, ['export', '--out', file]);
    const copy = { DATABASE_URL: `sqlite:${join(dir, 'copy.db')}` };
    await step('sqlite', copy, ['import', '--in', file], 'records events (the default)');
    await step('sqlite', copy, ['import', '--in', file], 'again: nothing changes');

    await withPostgres(async (url) => {
      const env = { DATABASE_URL: url };
      await admin(env, ['migrate']);
      await step('postgres', env, ['import', '--in', file, '--no-events'], 'a move');
      await step('postgres', env, ['export', '--out', again]);
      if (!readFileSync(again).equals(readFileSync(file)))
        throw new Error('the PostgreSQL export differs from the SQLite export');
      await step('postgres', env, ['import', '--in', file], 'again: nothing changes');
    });
    await withPostgres(async (url) => {
      const env = { DATABASE_URL: url };
      await admin(env, ['migrate']);
      await step('postgres', env, ['import', '--in', file], 'records events (the default)');
    });
    await writeSection(steps);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function writeSection(steps: Step[]): Promise<void> {
  const rows = steps
    .map(
      (s) =>
        `| ${s.store} | \`${s.command}\` | ${s.note} | ${s.seconds.toFixed(1)} s | ${s.rssMb} MB | ${s.load.toFixed(1)} |`,
    )
    .join('\n');
  const peak = Math.max(...steps.map((s) => s.rssMb));
  const pgImport = steps.find((s) => s.store === 'postgres' && s.note.startsWith('records events'));
  const section = `${START}
## Admin export and import: ${USERS.toLocaleString('en-US')} users

Written by \`npm run bench:admin\` on ${new Date().toISOString()}. Each command ran as operators run it,
\`npm run admin -- …\` on the compiled build (Node.js ${process.version}, \`--max-semi-space-size=8\` as the
\`admin\` script sets it), timed from spawn to exit (an import's time includes its checking pass over the
whole file). Peak RSS is the command's own getrusage maxRSS, as its summary line prints it. Batches of
2,000 users per transaction; the file is ${USERS.toLocaleString('en-US')} lines of NDJSON. The PostgreSQL export was
compared byte for byte with the SQLite export: identical.

Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, shared with other work: the
last column is the 1-minute load average when the step started (${cpus().length} means both cores busy).

| store | command | | time | peak RSS | load |
|---|---|---|---|---|---|
${rows}

Targets: peak RSS under 200 MB — highest here ${peak} MB; importing ${USERS.toLocaleString('en-US')} users into
PostgreSQL under 2 minutes — ${pgImport ? `${pgImport.seconds.toFixed(1)} s with events, the slowest variant` : 'not measured'}.
${END}`;
  // Formatted as `prettier --check .` expects, so the section never fails the lint.
  const formatted = (await format(section, { parser: 'markdown', printWidth: 100 })).trimEnd();
  const current = existsSync(README) ? readFileSync(README, 'utf8') : '# Benchmarks\n';
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next =
    start >= 0 && end > start
      ? `${current.slice(0, start)}${formatted}${current.slice(end + END.length)}`
      : `${current.trimEnd()}\n\n${formatted}\n`;
  writeFileSync(README, next);
  console.log(formatted);
}

await main();
