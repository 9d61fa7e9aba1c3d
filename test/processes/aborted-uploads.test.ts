import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWeb } from '../support/web-process.ts';

/** Sends the headers and part of a body, then drops the connection as a client would. */
function abandon(port: number, path: string, length: number, sent: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      socket.write(
        `${path === '/user' ? 'POST' : 'PUT'} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${sent}`,
        () => setTimeout(() => socket.destroy(), 200),
      );
    });
    socket.on('close', () => resolve());
  });
}

describe('web process', () => {
  test('a client that drops its upload midway — its request is still finished and logged', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), '12f-abort-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const web = await startWeb({
      DATABASE_URL: `sqlite:${join(dir, 'app.db')}`,
      REQUEST_TIMEOUT_MS: '60000',
    });
    t.after(() => web.kill());
    // A small body is read through the deadline alone; a large one through the scan as well.
    const completed = (path: string) =>
      web.waitForLine((l) => l.msg === 'request completed' && l.path === path, 5000);
    await abandon(web.port, '/user', 400, '{"name":"');
    assert.equal((await completed('/user')).status, 499, 'a small body, read via the deadline');
    // PUT /user/x: a large body, read through the scan as well.
    await abandon(web.port, '/user/x', 100_000, `{"name":"${'a'.repeat(20_000)}`);
    assert.equal((await completed('/user/x')).status, 499, 'a large body, read via the scan');
    assert.equal((await fetch(`http://127.0.0.1:${web.port}/healthz`)).status, 200);
    web.child.kill('SIGTERM');
    assert.equal((await web.exited).code, 0);
  });
});
