import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProcess, type RunningProcess } from '../support/web-process.ts';

/**
 * Under WEB_CONCURRENCY the supervisor accepts every connection and hands it to a child; each
 * child applies MAX_CONNECTIONS and MAX_CONNECTIONS_PER_CLIENT to the connections it was handed.
 */
const CHILDREN = 2;

async function startCluster(
  t: { after(fn: () => void): void },
  env: Record<string, string>,
  options: { openFiles?: number } = {},
): Promise<RunningProcess & { port: number }> {
  const dir = mkdtempSync(join(tmpdir(), '12f-cluster-conn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const web = spawnProcess(
    'src/processes/web.ts',
    {
      WEB_CONCURRENCY: String(CHILDREN),
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${join(dir, 'app.db')}`,
      ...env,
    },
    options,
  );
  t.after(() => web.kill());
  for (let ready = 0; ready < CHILDREN;) {
    await web.waitForLine(() => web.lines.filter((l) => l.msg === 'web ready').length > ready);
    ready++;
  }
  return Object.assign(web, { port });
}

/** `count` sockets from `from`, each sending one keep-alive GET /healthz; the ones left open. */
async function idleFlood(port: number, count: number, from: string): Promise<net.Socket[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
          socket.on('error', () => undefined);
          socket.on('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
          socket.once('data', () => resolve(socket));
          socket.on('close', () => resolve(socket));
          setTimeout(() => resolve(socket), 5000).unref();
        }),
    ),
  );
  // A socket closed by the server right after its answer is seen closed a moment later.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return sockets.filter((s) => !s.destroyed);
}

/** A request on a fresh connection from 127.0.0.2; a refused or closed connection is retried. */
async function victim(port: number, method: string, path: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<number>((resolve, reject) => {
        const req = http.request(
          { port, host: '127.0.0.1', localAddress: '127.0.0.2', method, path, agent: false },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end();
      });
    } catch (error) {
      if (attempt === 4) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

const crashed = (web: RunningProcess) =>
  web.lines.filter((l) => l.msg === 'web child exited; restarting');

describe('web cluster connections', () => {
  test('each child caps the connections it is handed: one address holds at most WEB_CONCURRENCY × MAX_CONNECTIONS_PER_CLIENT', async (t) => {
    const web = await startCluster(t, { MAX_CONNECTIONS_PER_CLIENT: '5' });
    const held = await idleFlood(web.port, 40, '127.0.0.1');
    t.after(() => held.forEach((s) => s.destroy()));
    t.diagnostic(`${held.length} of 40 sockets from one address left open by ${CHILDREN} children`);
    assert.ok(held.length <= CHILDREN * 5, `${held.length} held, at most ${CHILDREN} × 5`);
    assert.equal(await victim(web.port, 'POST', '/user?name=neighbour'), 201);
    await web.waitForLine((l) => l.msg === 'connection refused: too many from one address');
    assert.deepEqual(crashed(web), []);
  });

  test('a flood past the open-files limit crashes neither the supervisor nor a child, holds at most WEB_CONCURRENCY × MAX_CONNECTIONS, and a victim is served', async (t) => {
    const web = await startCluster(
      t,
      { MAX_CONNECTIONS: '100', MAX_CONNECTIONS_PER_CLIENT: '0', MAX_EVENT_LOOP_DELAY_MS: '1000' },
      // The supervisor holds each connection until a child takes it: it can run out of
      // descriptors too, and an accept error there must not end it.
      { openFiles: 256 },
    );
    const sockets = await idleFlood(web.port, 800, '127.0.0.1');
    t.after(() => sockets.forEach((s) => s.destroy()));
    // Connections the supervisor accepted but has not handed to a child yet are open too, until
    // a child takes each and closes it over its cap: wait for that queue to drain.
    const open = () => sockets.filter((s) => !s.destroyed).length;
    for (let waited = 0; open() > CHILDREN * 100 && waited < 10_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.diagnostic(`${open()} of 800 idle sockets left open by ${CHILDREN} children`);
    assert.ok(open() <= CHILDREN * 100, `${open()} held, at most ${CHILDREN} × 100`);
    assert.equal(await victim(web.port, 'POST', '/user?name=victim'), 201);
    assert.equal(await victim(web.port, 'GET', '/healthz'), 200);
    assert.equal(web.child.exitCode, null, `the supervisor is alive; stderr: ${web.stderr()}`);
    assert.deepEqual(crashed(web), [], 'no child exited');
    assert.ok(!web.stderr().includes('EMFILE'), web.stderr());
    web.child.kill('SIGTERM');
    assert.equal((await web.exited).code, 0);
  });
});
