import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import { requestDeadline } from '../../src/http/plugins/request-deadline.ts';

/** A raw client: everything the server sent, and when the socket closed. */
function rawClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, closed, received: () => received };
}

/** Writes one byte every 200 ms until the socket closes or `limit` bytes are sent. */
function trickle(socket: net.Socket, text: string): void {
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || sent >= text.length) return clearInterval(timer);
    socket.write(text[sent++]!);
  }, 200);
  socket.once('close', () => clearInterval(timer));
}

/** Resolves with 'closed' when app.close() ends, or 'hung' when it has not within `ms`. */
async function closeWithin(app: { close(): Promise<unknown> }, ms: number) {
  return Promise.race([app.close().then(() => 'closed'), sleep(ms).then(() => 'hung')]);
}

describe('request deadline at shutdown', () => {
  test('when a body starts arriving after the drain began, then it is answered 503 and the server closes', async (t) => {
    const app = Fastify();
    requestDeadline(app, { timeoutMs: 1000 });
    // A request still in an async hook (a rate-limit store, a token check) when the drain begins.
    app.addHook('onRequest', async () => sleep(300));
    app.post('/user', async () => ({ ok: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    t.after(() => app.close());
    const { port } = app.server.address() as net.AddressInfo;
    const client = rawClient(port);
    client.socket.write(
      'POST /user HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    trickle(client.socket, '"name":"slow", "padding": "'.padEnd(99, 'x'));
    await sleep(100);
    // Hung: the old code waited for the trickled body for as long as the client kept sending.
    assert.equal(await closeWithin(app, 10_000), 'closed');
    await client.closed;
    // The app's error handler makes this a 503 problem document; here Fastify's own answers.
    assert.match(client.received(), /"code":"DRAINING"/);
    assert.match(client.received(), /^connection: close\r$/im);
  });

  test('when an answer is in flight as the drain begins, then its connection ends with it', async (t) => {
    // As the app builds it: no Fastify 503 while closing, the drain is the app's own.
    const app = Fastify({ return503OnClosing: false });
    requestDeadline(app, { timeoutMs: 1000 });
    app.get('/slow', async () => {
      await sleep(500);
      return { ok: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    t.after(() => app.close());
    const { port } = app.server.address() as net.AddressInfo;
    const client = rawClient(port);
    client.socket.write('GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await sleep(100);
    const closing = closeWithin(app, 10_000);
    // Kept alive, the client would now trickle a next request's headers for as long as it liked.
    await sleep(600);
    trickle(client.socket, 'GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal(await closing, 'closed');
    await client.closed;
    assert.match(client.received(), /^HTTP\/1\.1 200 /);
    assert.match(client.received(), /^connection: close\r$/im);
  });
});
