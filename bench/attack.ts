/**
 * `npm run attack`: each attack of one hostile client against a real web process, on SQLite and
 * on PostgreSQL, while a victim keeps making `GET /user/:id` and `POST /user`. For every attack
 * the victim is measured for one phase without it, then one phase with it, in the same run.
 * 127.0.0.1 only, bounded (about 2 minutes), stops by itself; writes its table into
 * docs/reliability.md between the `attack-table` markers.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { startWeb, type RunningProcess } from '../test/support/web-process.ts';
import { startTcpProxy, type TcpProxy } from '../test/support/tcp-proxy.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/postgres.ts';
import { TEST_REDIS_URL } from '../test/support/redis.ts';
import { request, type VictimFigures } from './attack-clients.ts';
import type { VictimMessage } from './attack-victim.ts';
import { ATTACKS } from './attacks.ts';

const PHASE_MS = Number(process.env.ATTACK_PHASE_MS ?? 2500);
/**
 * `ATTACK_ONLY=<words>` runs only the attacks whose name contains them (and `ATTACK_STORE` only
 * that store), to look at one row again; such a partial run prints its table instead of writing it.
 */
const ONLY = process.env.ATTACK_ONLY;
const STORES = (['SQLite', 'PostgreSQL'] as const).filter(
  (s) => process.env.ATTACK_STORE === undefined || s === process.env.ATTACK_STORE,
);
const partial = ONLY !== undefined || STORES.length < 2;
/**
 * The victim's pace: 250 requests a phase, so that its p99 is the third slowest rather than the
 * slowest of 50, in both phases alike.
 */
const VICTIM_INTERVAL_MS = 10;
const VICTIM_REQUESTS = Math.round(PHASE_MS / VICTIM_INTERVAL_MS);
const ROOT = new URL('..', import.meta.url).pathname;
const DOC = join(ROOT, 'docs/reliability.md');

/** What the web process runs with: the defaults, except where the bench says otherwise. */
const SETTINGS: Record<string, string> = {
  RATE_LIMIT_MAX: '300',
  // Short enough that a trickled body is cut within one phase.
  REQUEST_TIMEOUT_MS: '1500',
  // A load balancer at an address no client here uses: X-Forwarded-For is believed only from it.
  TRUST_PROXY: '127.0.0.9',
};
const OPEN_FILES = 1024;

interface Row {
  attack: string;
  store: string;
  got: string;
  without: VictimFigures;
  during: VictimFigures;
  survived: boolean;
  memory: string;
}

async function web(
  store: string,
  url: string,
  relay: TcpProxy,
): Promise<RunningProcess & { port: number }> {
  return startWeb(
    { ...SETTINGS, DATABASE_URL: url, REDIS_URL: `redis://127.0.0.1:${relay.port}` },
    { openFiles: OPEN_FILES },
  ).catch((error: unknown) => {
    throw new Error(`the ${store} web process did not start: ${String(error)}`);
  });
}

async function alive(server: RunningProcess & { port: number }): Promise<boolean> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return false;
  const health = await request({
    port: server.port,
    from: '127.0.0.1',
    method: 'GET',
    path: '/healthz',
  });
  return health.status === 200;
}

/**
 * Resident memory, and the part of it that is JavaScript heap in use (live objects and garbage
 * not yet collected): RSS that grows while the heap does not is not JavaScript objects held.
 */
async function memory(port: number): Promise<string> {
  const metrics = await request({ port, from: '127.0.0.1', method: 'GET', path: '/metrics' });
  const mb = (name: string) => {
    const bytes = new RegExp(`^${name} (\\d+)`, 'm').exec(metrics.body)?.[1];
    return bytes ? `${Math.round(Number(bytes) / 1048576)} MB` : '—';
  };
  return `${mb('process_resident_memory_bytes')} / ${mb('nodejs_heap_size_used_bytes')}`;
}

/** The victim's process, started once per run; see bench/attack-victim.ts. */
function victimProcess(): { child: ChildProcess; ask<T>(message: VictimMessage): Promise<T> } {
  const child = fork(join(ROOT, 'bench/attack-victim.ts'), { stdio: 'inherit' });
  const ask = <T>(message: VictimMessage) =>
    new Promise<T>((resolve) => {
      child.once('message', (answer) => resolve(answer as T));
      child.send(message);
    });
  return { child, ask };
}
const victimSide = victimProcess();

/** One phase: the victim's requests, with the attack (if any) running until they are done. */
async function phase(
  port: number,
  id: string,
  from: string,
  attack?: (signal: AbortSignal) => Promise<string>,
): Promise<{ figures: VictimFigures; got: string }> {
  const controller = new AbortController();
  const victimDone = victimSide.ask<{ figures: VictimFigures }>({
    start: { port, from, id, intervalMs: VICTIM_INTERVAL_MS, count: VICTIM_REQUESTS },
  });
  const attacking = attack?.(controller.signal);
  const { figures } = await victimDone;
  controller.abort();
  return { figures, got: (await attacking) ?? '' };
}

/**
 * Every client has its own loopback address per store and attack (127.<store>.1.x attackers,
 * 127.<store>.2.x victims): the rate limit's counters live in Redis, shared by both stores' runs.
 */
async function runStore(store: 'SQLite' | 'PostgreSQL', rows: Row[]): Promise<void> {
  const net = store === 'SQLite' ? 1 : 2;
  const target = new URL(TEST_REDIS_URL);
  const relay = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  let database: TestDatabase | undefined;
  const dir = mkdtempSync(join(tmpdir(), '12f-attack-'));
  try {
    database = store === 'PostgreSQL' ? await createTestDatabase() : undefined;
    const url = database?.url ?? `sqlite:${join(dir, 'app.db')}`;
    // PostgreSQL is migrated by the release step, as in production; SQLite by the web process.
    if (database) {
      execFileSync(process.execPath, ['src/processes/admin.ts', 'migrate'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: url },
        stdio: 'ignore',
      });
    }
    let server = await web(store, url, relay);
    try {
      const created = await request({
        port: server.port,
        from: `127.${net}.2.1`,
        method: 'POST',
        path: '/user?name=victim',
      });
      const { id } = JSON.parse(created.body) as { id: string };
      for (const [index, attack] of ATTACKS.entries()) {
        if (ONLY !== undefined && !attack.name.includes(ONLY)) continue;
        const without = await phase(server.port, id, `127.${net}.2.${2 * index + 10}`);
        const from = `127.${net}.1.${index + 10}`;
        const during = await phase(server.port, id, `127.${net}.2.${2 * index + 11}`, (signal) =>
          attack.run({ port: server.port, from, id, redisRelay: relay, signal }),
        );
        // Connections the attack left are closed; give the server a moment to see it.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const survived = await alive(server);
        rows.push({
          attack: attack.name,
          store,
          got: during.got,
          without: without.figures,
          during: during.figures,
          survived,
          memory: survived ? await memory(server.port) : '—',
        });
        console.log(`${store}: ${attack.name}: ${during.got}; survived: ${survived}`);
        if (!survived) {
          // Why, for whoever reads the run: how it ended, and its last words.
          const { exitCode, signalCode } = server.child;
          console.error(
            `${store}: the web process did not survive: exit ${exitCode}, signal ${signalCode}\n` +
              `${server.stderr().slice(-2000)}\n` +
              server.lines
                .slice(-5)
                .map((l) => JSON.stringify(l))
                .join('\n'),
          );
          server.kill();
          server = await web(store, url, relay);
        }
      }
    } finally {
      server.child.kill('SIGTERM');
      await Promise.race([server.exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      server.kill();
    }
  } finally {
    await relay.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (n: number) => (Number.isNaN(n) ? '—' : `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`);
const victimCell = (f: VictimFigures) =>
  `${ms(f.p50)} / ${ms(f.p99)} / ${f.errors} of ${f.requests}` +
  (f.errorKinds ? ` (${f.errorKinds})` : '');

function table(rows: Row[]): string {
  const header =
    '| attack | store | what the attacker got | victim without: p50 / p99 / errors | victim during | p99 × | survived | after: RSS / heap used |\n' +
    '| --- | --- | --- | --- | --- | --- | --- | --- |\n';
  return (
    header +
    rows
      .map(
        (r) =>
          `| ${r.attack} | ${r.store} | ${r.got} | ${victimCell(r.without)} | ${victimCell(r.during)} | ${(r.during.p99 / r.without.p99).toFixed(1)} | ${r.survived ? 'yes' : '**no**'} | ${r.memory} |`,
      )
      .join('\n')
  );
}

const rows: Row[] = [];
const started = new Date();
const loadBefore = loadavg()[0]!;
for (const store of STORES) await runStore(store, rows);
const loadAfter = loadavg()[0]!;
victimSide.child.kill();
const settings = Object.entries(SETTINGS)
  .map(([k, v]) => `\`${k}=${v}\``)
  .join(', ');
const generated =
  `<!-- attack-table:start (written by \`npm run attack\`; do not edit by hand) -->\n\n` +
  `Run on ${started.toISOString()}; in each phase the victim sends ${VICTIM_REQUESTS} requests, one every ${VICTIM_INTERVAL_MS} ms ` +
  `(alternately \`GET /user/:id\` and \`POST /user\`), from its own address, so its p99 is its third slowest request; ` +
  `an error names its status and problem code, or how the connection failed. The web process runs from \`src/\` ` +
  `with \`ulimit -n ${OPEN_FILES}\`, Redis through a relay, and ${settings}; otherwise the defaults. ` +
  `The victim runs in a process of its own. The machine's load average (1 min) was ${loadBefore.toFixed(1)} ` +
  `at the start and ${loadAfter.toFixed(1)} at the end, on ${availableParallelism()} cores.\n\n` +
  table(rows) +
  '\n\n<!-- attack-table:end -->';
// As `npm run lint` (prettier --check) wants the file: the table's columns aligned.
const formatted = async (markdown: string) =>
  format(markdown, { ...(await resolveConfig(DOC)), filepath: DOC });
if (partial) {
  console.log(await formatted(generated));
  process.exit(rows.every((r) => r.survived) ? 0 : 1);
}
const doc = readFileSync(DOC, 'utf8');
const pattern = /<!-- attack-table:start[\s\S]*?<!-- attack-table:end -->/;
if (!pattern.test(doc)) throw new Error('docs/reliability.md has no attack-table markers');
writeFileSync(DOC, await formatted(doc.replace(pattern, generated)));
console.log(`wrote ${rows.length} rows to docs/reliability.md`);
process.exit(rows.every((r) => r.survived) ? 0 : 1);
