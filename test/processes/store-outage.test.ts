import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { startWeb } from '../support/web-process.ts';

const OUTAGE_MS = 10_000;
const STALL_MS = 4_000;
const RESPONSE_TIMEOUT_MS = 1_500;
const CLIENTS = 8;

interface Outcome {
  start: number;
  end: number;
  status: number;
  code?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pct = (values: number[], p: number) =>
  values.length ? [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) * p)]! : 0;

/**
 * PostgreSQL goes away under load (every connection dropped, new ones refused) for 10 s, then
 * hangs (bytes held, connections open) for 4 s, through test/support/tcp-proxy.ts: the shared
 * server itself is never stopped. The one web process must answer 503 problem documents
 * throughout, never restart, serve fully within seconds of the store's return, and keep every
 * write it acknowledged.
 */
const pg = await postgresAvailability();
if (pg.reachable) {
  test('store outage — when PostgreSQL is away for 10 s and then hangs for 4 s under load, then 503s meanwhile, no restart, quick recovery and no acknowledged write lost', async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    await promisify(execFile)(process.execPath, ['src/processes/admin.ts', 'migrate'], {
      env: { PATH: process.env.PATH, DATABASE_URL: database.url },
    });
    const target = new URL(database.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    t.after(() => proxy.close());
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const web = await startWeb({
      DATABASE_URL: viaProxy.toString(),
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      RESPONSE_TIMEOUT_MS: String(RESPONSE_TIMEOUT_MS),
      LOG_LEVEL: 'info',
    });
    t.after(() => web.kill());
    const base = `http://127.0.0.1:${web.port}`;

    const outcomes: Outcome[] = [];
    const acknowledged: string[] = [];
    let stop = false;
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        const start = performance.now();
        const read = i % 2 === 1 && acknowledged.length > 0;
        const url = read
          ? `${base}/user/${acknowledged[Math.floor(Math.random() * acknowledged.length)]}`
          : `${base}/user?name=c${c}-${i}`;
        let outcome: Outcome;
        try {
          const res = await fetch(url, { method: read ? 'GET' : 'POST' });
          const body = (await res.json()) as { id?: string; code?: string };
          outcome = { start, end: performance.now(), status: res.status };
          if (res.status === 201) acknowledged.push(body.id!);
          if (res.status >= 400) outcome.code = body.code;
        } catch {
          outcome = { start, end: performance.now(), status: 0 };
        }
        outcomes.push(outcome);
        // Refused clients back off a little, as Retry-After asks (shortened to keep figures fine-grained).
        if (outcome.status !== 200 && outcome.status !== 201) await sleep(50);
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));

    await sleep(2000);
    const cutAt = performance.now();
    proxy.cut();
    await sleep(OUTAGE_MS);
    const restoredAt = performance.now();
    proxy.restore();
    await sleep(5000);
    const stalledAt = performance.now();
    proxy.stall();
    await sleep(STALL_MS);
    const resumedAt = performance.now();
    proxy.resume();
    await sleep(3000);
    stop = true;
    await Promise.all(clients);

    const inWindow = (from: number, to: number) =>
      outcomes.filter((o) => o.start >= from && o.start < to);
    // Answered while the store was away: begun after the cut and answered before the store came
    // back. One begun just before the return may reach a busy server after it, and succeed.
    const outage = inWindow(cutAt + 50, restoredAt).filter((o) => o.end < restoredAt);
    const notProblem = outage.filter((o) => o.status !== 503 || o.code === undefined);
    assert.ok(outage.length > 0, 'requests were made while the store was away');
    assert.deepEqual(notProblem, [], 'only 503 problem documents while the store is away');
    const afterRestore = inWindow(restoredAt, stalledAt).filter((o) => o.end < stalledAt);
    const lastFailure = Math.max(
      restoredAt,
      ...afterRestore.filter((o) => o.status >= 500 || o.status === 0).map((o) => o.end),
    );
    const firstSuccess = Math.min(...afterRestore.filter((o) => o.status < 300).map((o) => o.end));
    // Requests whose deadline falls before the store comes back. The margin covers the time a
    // request may wait on a busy machine between the client's clock starting and the server
    // reading it; it must stay short enough that requests begun after the first 503s fall in.
    const stall = inWindow(stalledAt, resumedAt - RESPONSE_TIMEOUT_MS - 300);
    const stallLatencies = stall.map((o) => o.end - o.start);
    assert.ok(
      stall.length > 0 && stall.every((o) => o.status === 503),
      `a hung store answers 503: ${JSON.stringify(stall.filter((o) => o.status !== 503))} of ${stall.length}`,
    );
    assert.ok(pct(stallLatencies, 1) < RESPONSE_TIMEOUT_MS + 1000, 'within the deadline');
    const afterResume = inWindow(resumedAt + 1000, Infinity);
    assert.ok(
      afterResume.length > 0 && afterResume.every((o) => o.status < 300),
      'served after the stall',
    );

    assert.equal(web.child.exitCode, null, 'no process restart');
    assert.equal(web.lines.filter((l) => l.msg === 'web ready').length, 1);
    const missing = [];
    for (const id of acknowledged) {
      if ((await fetch(`${base}/user/${id}`)).status !== 200) missing.push(id);
    }
    assert.deepEqual(missing, [], 'every acknowledged write survived');
    const codes = [...new Set(outage.map((o) => o.code))].join(', ');
    t.diagnostic(
      `outage ${OUTAGE_MS / 1000} s: ${outage.length} requests, all 503 (${codes}), p99 ${Math.round(
        pct(
          outage.map((o) => o.end - o.start),
          0.99,
        ),
      )} ms; ` +
        `first success ${Math.round(firstSuccess - restoredAt)} ms and full service ${Math.round(lastFailure - restoredAt)} ms after the store returned; ` +
        `stall ${STALL_MS / 1000} s: ${stall.length} requests, all 503 (${[...new Set(stall.map((o) => o.code))].join(', ')}), slowest ${Math.round(pct(stallLatencies, 1))} ms; ` +
        `${outcomes.length} requests in all, ${acknowledged.length} acknowledged creates, 0 lost, 0 restarts`,
    );
    assert.ok(lastFailure - restoredAt < 5000, 'full service within 5 s of the store’s return');
    web.child.kill('SIGTERM');
    assert.equal((await web.exited).code, 0);
  });
}
