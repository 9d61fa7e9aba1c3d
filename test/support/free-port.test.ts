import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { closedPort } from './free-port.ts';

const listenOn = (port: number) =>
  new Promise<string>((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve('listening')));
  });

const connectTo = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve('connected')));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });

test('closedPort — while held, then its port refuses connections and nothing else can listen on it', async () => {
  const closed = await closedPort();
  try {
    assert.equal(await connectTo(closed.port), 'ECONNREFUSED');
    assert.equal(await listenOn(closed.port), 'EADDRINUSE', 'no one can take it meanwhile');
    assert.equal(await connectTo(closed.port), 'ECONNREFUSED');
  } finally {
    await closed.release();
  }
});
