import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWeb } from '../support/web-process.ts';

/** Linux routes all of 127.0.0.0/8 to loopback: the victim connects from another address. */
const VICTIM_ADDRESS = '127.0.0.2';

/**
 * Opens `count` sockets from 127.0.0.1, each sending one keep-alive GET /healthz and then idling.
 * Resolves once every socket was answered, refused or closed; returns the ones still open.
 */
async function idleFlood(port: number, count: number): Promise<net.Socket[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect({ port, host: '127.0.0.1' });
          socket.on('error', () => undefined);
          socket.on('connect', () =>
            socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
          );
          socket.once('data', () => resolve(socket));
          socket.on('close', () => resolve(socket));
          setTimeout(() => resolve(socket), 5000).unref();
        }),
    ),
  );
  return sockets.filter((s) => !s.destroyed);
}

/**
 * One request on a fresh connection from VICTIM_ADDRESS. A refused connection is retried, and so
 * is a 503 OVERLOADED (load shedding on a busy machine), as its Retry-After asks.
 */
async function victim(
  port: number,
  method: string,
  path: string,
): Promise<{ status: number; body: string }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          { port, host: '127.0.0.1', localAddress: VICTIM_ADDRESS, method, path, agent: false },
          (res) => {
            let body = '';
            res.on('data', (chunk) => (body += String(chunk)));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
      if (answer.status !== 503 || !answer.body.includes('OVERLOADED')) return answer;
      lastError = new Error(`503 OVERLOADED: ${answer.body}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  throw lastError;
}

const sqliteUrl = (t: { after(fn: () => void): void }) => {
  const dir = mkdtempSync(join(tmpdir(), '12f-flood-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'app.db')}`;
};

describe('web process connections', () => {
  test('more idle keep-alive sockets than open files allow do not crash the process, and a victim is served', async (t) => {
    const web = await startWeb(
      {
        DATABASE_URL: sqliteUrl(t),
        MAX_CONNECTIONS_PER_CLIENT: '0',
        MAX_EVENT_LOOP_DELAY_MS: '1000',
      },
      { openFiles: 256 },
    );
    t.after(() => web.kill());
    const created = await victim(web.port, 'POST', '/user?name=victim');
    assert.equal(created.status, 201);
    const { id } = JSON.parse(created.body) as { id: string };

    const held = await idleFlood(web.port, 600);
    t.after(() => held.forEach((s) => s.destroy()));
    // The memory sampler of load shedding runs every second: give it a turn under the flood.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(web.child.exitCode, null, `alive; stderr: ${web.stderr()}`);
    assert.ok(
      held.length < 256,
      `${held.length} attacker sockets held, below the open-files limit`,
    );

    assert.equal((await victim(web.port, 'GET', `/user/${id}`)).status, 200);
    assert.equal((await victim(web.port, 'POST', '/user?name=second')).status, 201);
    await web.waitForLine((l) => String(l.msg).startsWith('near the connection cap'));
    assert.ok(!web.lines.some((l) => String(l.err && JSON.stringify(l.err)).includes('EMFILE')));
    t.diagnostic(`${held.length} of 600 idle attacker sockets left open`);
    web.child.kill('SIGTERM');
    assert.equal((await web.exited).code, 0);
  });

  test('one address past MAX_CONNECTIONS_PER_CLIENT has its extra connections closed while another is served', async (t) => {
    const web = await startWeb({ DATABASE_URL: sqliteUrl(t), MAX_CONNECTIONS_PER_CLIENT: '20' });
    t.after(() => web.kill());
    const held = await idleFlood(web.port, 60);
    t.after(() => held.forEach((s) => s.destroy()));
    assert.ok(held.length <= 20, `${held.length} sockets from one address stayed open`);
    assert.equal((await victim(web.port, 'POST', '/user?name=neighbour')).status, 201);
    // The log names the cause (lines are written in batches: wait for it).
    await web.waitForLine((l) => l.msg === 'connection refused: too many from one address');
  });
});
