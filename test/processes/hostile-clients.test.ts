import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWeb } from '../support/web-process.ts';
import { rawExchange, type RawAnswer } from '../support/raw-http.ts';

const sqliteUrl = (t: { after(fn: () => void): void }) => {
  const dir = mkdtempSync(join(tmpdir(), '12f-hostile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'app.db')}`;
};

const bodyHead = (length: number) =>
  'POST /user HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
  `Content-Length: ${length}\r\n\r\n`;

function assertProblem(answer: RawAnswer, status: number, code: string) {
  assert.equal(answer.status, status, answer.text);
  assert.match(answer.text, /content-type: application\/problem\+json/i);
  assert.equal(answer.json?.code, code);
  assert.equal(answer.json?.status, status);
  assert.ok(answer.closedByServer, 'the server closed the socket');
}

describe('web process', () => {
  test('one deadline for headers and body: a request whose headers took most of REQUEST_TIMEOUT_MS, then trickles its body, gets 408 and its socket closed while others are served', async (t) => {
    const timeoutMs = 4000;
    const web = await startWeb({
      DATABASE_URL: sqliteUrl(t),
      REQUEST_TIMEOUT_MS: String(timeoutMs),
    });
    t.after(() => web.kill());
    const body = `{"name":"${'s'.repeat(200)}"}`;
    // The headers arrive in 16 pieces 200 ms apart (3.2 s, within the deadline), then the body a
    // byte per 200 ms: with a deadline for the headers and another for the body, the socket
    // would stay open until 3.2 s + REQUEST_TIMEOUT_MS.
    const head = bodyHead(body.length);
    const pieces = Array.from({ length: 16 }, (_, i) =>
      head.slice((i * head.length) / 16, ((i + 1) * head.length) / 16),
    );
    const started = performance.now();
    const slow = rawExchange(web.port, [...pieces, ...body], { gapMs: 200, guardMs: 20_000 });
    const victim = await fetch(`http://127.0.0.1:${web.port}/user?name=victim`, {
      method: 'POST',
    });
    assert.equal(victim.status, 201);
    const answer = await slow;
    const closedAfterMs = performance.now() - started;
    t.diagnostic(`the slow request was cut ${Math.round(closedAfterMs)} ms after its first byte`);
    assertProblem(answer, 408, 'REQUEST_TIMEOUT');
    assert.ok(
      closedAfterMs < 16 * 200 + timeoutMs,
      `one deadline from the first byte, not a second one for the body (${Math.round(closedAfterMs)} ms)`,
    );
    assert.ok(closedAfterMs >= timeoutMs - 50, 'not cut before the deadline');
    const names = (
      (await (await fetch(`http://127.0.0.1:${web.port}/user`)).json()) as {
        name: string;
      }[]
    ).map((u) => u.name);
    assert.deepEqual(names, ['victim'], 'the cut request stored nothing');
    assert.equal((await fetch(`http://127.0.0.1:${web.port}/healthz`)).status, 200);
  });

  test('a body cut by the deadline is one 408: counted once, with the id and path of its own access line', async (t) => {
    const web = await startWeb({ DATABASE_URL: sqliteUrl(t), REQUEST_TIMEOUT_MS: '1000' });
    t.after(() => web.kill());
    const body = `{"name":"${'s'.repeat(40)}"}`;
    const answer = await rawExchange(web.port, [bodyHead(body.length), ...body], {
      gapMs: 200,
      guardMs: 10_000,
    });
    assertProblem(answer, 408, 'REQUEST_TIMEOUT');
    const header = /^x-request-id: (.+)\r$/im.exec(answer.text)?.[1];
    assert.equal(answer.json?.requestId, header, 'the problem names the request it answers');
    assert.equal(answer.json?.instance, '/user');
    const access = await web.waitForLine(
      (l) => l.msg === 'request completed' && l.requestId === answer.json?.requestId,
    );
    assert.equal(access.status, 408);
    const metrics = await (await fetch(`http://127.0.0.1:${web.port}/metrics`)).text();
    const problems = metrics.split('\n').filter((l) => /^http_problems_total\{/.test(l));
    assert.deepEqual(problems, ['http_problems_total{code="REQUEST_TIMEOUT"} 1']);
  });

  test('SIGTERM while a body, headers and nothing yet are arriving: the body gets 503, every such socket is closed, and the process exits 0 within SHUTDOWN_TIMEOUT_MS', async (t) => {
    const web = await startWeb({
      DATABASE_URL: sqliteUrl(t),
      REQUEST_TIMEOUT_MS: '600000',
      SHUTDOWN_TIMEOUT_MS: '3000',
    });
    t.after(() => web.kill());
    const trickle = { gapMs: 1000, guardMs: 20_000 };
    const slowBody = rawExchange(web.port, [bodyHead(100), ...'{      '], trickle);
    const slowHeaders = rawExchange(web.port, [...'GET /user HTTP/1.1\r\nHost: x'], trickle);
    const silent = rawExchange(web.port, [], trickle);
    await web.waitForLine((l) => l.msg === 'web ready');
    await new Promise((resolve) => setTimeout(resolve, 300));
    web.child.kill('SIGTERM');
    const { code } = await web.exited;
    assert.equal(code, 0, 'shutdown finished within its budget (an overrun exits 1)');
    assertProblem(await slowBody, 503, 'DRAINING');
    assert.ok((await slowHeaders).closedByServer, 'a socket still sending headers was closed');
    assert.ok((await silent).closedByServer, 'a socket that sent nothing was closed');
  });

  test('requests Node refuses before routing get problem documents, and the process serves on', async (t) => {
    const web = await startWeb({ DATABASE_URL: sqliteUrl(t), REQUEST_TIMEOUT_MS: '1000' });
    t.after(() => web.kill());
    const get = (headers: string) => `GET /user HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`;
    assertProblem(
      await rawExchange(web.port, [get(`X-Big: ${'h'.repeat(20_000)}\r\n`)]),
      431,
      'HEADERS_TOO_LARGE',
    );
    assertProblem(
      await rawExchange(web.port, [
        'POST /user HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      ]),
      400,
      'BAD_REQUEST',
    );
    assertProblem(
      await rawExchange(web.port, ['GET /user HTTP/1.1\nHost: 127.0.0.1\n\n']),
      400,
      'BAD_REQUEST',
    );
    // Headers that never finish: Node's headers timeout, then our 408.
    assertProblem(
      await rawExchange(web.port, ['GET /user HTTP/1.1\r\nHost: 127.0.0.1\r\n'], {
        guardMs: 8000,
      }),
      408,
      'REQUEST_TIMEOUT',
    );
    const health = await fetch(`http://127.0.0.1:${web.port}/healthz`);
    assert.equal(health.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${web.port}/metrics`)).text();
    assert.match(metrics, /http_problems_total\{code="HEADERS_TOO_LARGE"\} 1/);
  });
});
