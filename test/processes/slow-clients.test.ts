import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWeb } from '../support/web-process.ts';

const REQUEST_TIMEOUT_MS = 1000;
const CLIENTS = 60;

/**
 * Slowloris: a client that trickles a request byte by byte holds a socket for as long as the
 * server lets it. Resolves with how long the server took to close it.
 */
function trickle(port: number, head: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    const bytes = [...head, ...body];
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      timer = setInterval(() => {
        const next = bytes.shift();
        if (next !== undefined) socket.write(next);
      }, 150);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(performance.now() - started);
    });
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error('the server never closed a slow client'));
    }, 10_000).unref();
  });
}

test('slow clients — when many clients trickle their requests, then each is cut after REQUEST_TIMEOUT_MS and others are served meanwhile', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), '12f-slow-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const web = await startWeb({
    DATABASE_URL: `sqlite:${join(dir, 'app.db')}`,
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  });
  t.after(() => web.kill());
  const slowHeaders = 'POST /user HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(200);
  const slowBody =
    'POST /user HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n';
  const attacks = Array.from({ length: CLIENTS }, (_, i) =>
    i % 2 === 0
      ? trickle(web.port, slowHeaders, '')
      : trickle(web.port, slowBody, `{"name":"${'b'.repeat(380)}"}`),
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  const during = performance.now();
  const res = await fetch(`http://127.0.0.1:${web.port}/user?name=patient`, { method: 'POST' });
  assert.equal(res.status, 201, 'an ordinary client is served while the slow ones wait');
  const servedMs = performance.now() - during;

  const closedAfter = await Promise.all(attacks);
  const slowest = Math.max(...closedAfter);
  t.diagnostic(
    `${CLIENTS} slow clients closed after ${Math.round(Math.min(...closedAfter))}–${Math.round(slowest)} ms; an ordinary create meanwhile took ${Math.round(servedMs)} ms`,
  );
  assert.ok(Math.min(...closedAfter) >= REQUEST_TIMEOUT_MS - 50, 'not cut early');
  assert.ok(slowest < REQUEST_TIMEOUT_MS + 2500, `cut in time (${Math.round(slowest)} ms)`);
  const users = (await (await fetch(`http://127.0.0.1:${web.port}/user`)).json()) as {
    name: string;
  }[];
  assert.deepEqual(
    users.map((u) => u.name),
    ['patient'],
    'no half-sent request stored anything',
  );
  assert.equal((await fetch(`http://127.0.0.1:${web.port}/healthz`)).status, 200);
  web.child.kill('SIGTERM');
  assert.equal((await web.exited).code, 0);
});
