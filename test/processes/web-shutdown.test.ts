import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWeb } from '../support/web-process.ts';

interface Outcome {
  requestId: string;
  status?: number;
  error?: string;
  after: boolean;
}

function send(port: number, agent: http.Agent, requestId: string, method: string, path: string) {
  return new Promise<{ status?: number; error?: string }>((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent, headers: { 'x-request-id': requestId } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode }));
        res.on('error', (error: NodeJS.ErrnoException) =>
          resolve({ error: error.code ?? error.message }),
        );
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ error: error.code ?? error.message }),
    );
    req.end();
  });
}

test('web — when SIGTERM arrives mid-stream, then no request the server accepted fails', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), '12f-drain-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const web = await startWeb({
    DATABASE_URL: `sqlite:${join(dir, 'app.db')}`,
    SHUTDOWN_DELAY_MS: '800',
    LOG_LEVEL: 'trace',
  });
  t.after(() => web.kill());
  const seed = (await (
    await fetch(`http://127.0.0.1:${web.port}/user?name=seed`, { method: 'POST' })
  ).json()) as {
    id: string;
  };

  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.after(() => agent.destroy());
  const outcomes: Outcome[] = [];
  let signalled = false;
  const worker = async (w: number) => {
    for (let i = 0; i < 100_000; i++) {
      const requestId = `w${w}-${i}`;
      const after = signalled;
      const result =
        i % 2 === 0
          ? await send(web.port, agent, requestId, 'GET', `/user/${seed.id}`)
          : await send(web.port, agent, requestId, 'POST', `/user?name=${requestId}`);
      outcomes.push({ requestId, after, ...result });
      // Refused: nothing listens any more; the stream has moved elsewhere.
      if (result.error === 'ECONNREFUSED') return;
    }
  };
  const workers = Array.from({ length: 8 }, (_, w) => worker(w));
  // The signal lands mid-stream: after a steady stream has been answered, however busy the machine.
  for (let waited = 0; outcomes.length < 120 && waited < 20_000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  signalled = true;
  web.child.kill('SIGTERM');
  const { code } = await web.exited;
  await Promise.all(workers);

  assert.equal(code, 0, 'exits 0 within the budget');
  const received = new Set(
    web.lines.filter((l) => l.msg === 'request received').map((l) => l.requestId),
  );
  const accepted = outcomes.filter((o) => received.has(o.requestId));
  const failedAccepted = accepted.filter((o) => o.status === undefined || o.status >= 500);
  assert.deepEqual(failedAccepted, [], 'every request the server accepted got its answer');
  for (const o of outcomes) {
    if (o.status === undefined) {
      assert.ok(!received.has(o.requestId), `${o.requestId} failed after being accepted`);
      assert.match(String(o.error), /ECONNREFUSED|ECONNRESET|EPIPE|socket hang up/);
    }
  }
  const servedAfterSignal = outcomes.filter(
    (o) => o.after && o.status !== undefined && o.status < 300,
  );
  assert.ok(servedAfterSignal.length > 0, 'requests were still served during the shutdown delay');
  assert.ok(accepted.length > 100, `a steady stream (${accepted.length} accepted)`);
  t.diagnostic(
    `accepted ${accepted.length}, served after SIGTERM ${servedAfterSignal.length}, not accepted ${outcomes.length - accepted.length}`,
  );
});
