import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { MAX_RESPONSE_BYTES, postWebhook } from '../../src/webhooks/webhook-sender.ts';

const TOTAL = 400 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'x');

/** A receiver answering `status` with a 400 MB body, written as fast as the socket takes it. */
async function floodingReceiver(t: TestContext, status: number) {
  const sent = { bytes: 0, finished: false };
  const server: Server = createServer((request, response) => {
    request.resume();
    response.writeHead(status, { 'content-type': 'text/plain', 'content-length': TOTAL });
    const pump = () => {
      while (sent.bytes < TOTAL && !response.destroyed) {
        sent.bytes += CHUNK.length;
        if (!response.write(CHUNK)) return void response.once('drain', pump);
      }
      if (sent.bytes >= TOTAL) {
        sent.finished = true;
        response.end();
      }
    };
    pump();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, sent };
}

/** Calls `run` while sampling the resident set; answers its result and the peak growth. */
async function peakGrowth<T>(run: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const base = process.memoryUsage.rss();
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 2);
  try {
    const result = await run();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, growth: peak - base };
  } finally {
    clearInterval(sampler);
  }
}

const request = (url: string) => ({
  url,
  id: 'msg_1',
  body: '{"type":"user.created"}',
  secrets: [`whsec_${Buffer.alloc(32, 1).toString('base64')}`],
  timeoutMs: 30_000,
  at: new Date(),
});

const MB = 1024 * 1024;

describe('postWebhook', () => {
  for (const status of [200, 500]) {
    test(`when a receiver answers ${status} with a 400 MB body, then at most a few KiB are read, the rest cancelled, and memory stays flat`, async (t) => {
      const receiver = await floodingReceiver(t, status);
      const { result, growth } = await peakGrowth(() => postWebhook(request(receiver.url)));
      assert.equal(result.status, status);
      assert.equal(result.ok, status === 200);
      if (status === 500) {
        assert.match(result.error ?? '', /^HTTP 500: x+/);
        assert.ok((result.error ?? '').length <= 300);
      }
      assert.equal(receiver.sent.finished, false, 'the receiver could not send it all');
      assert.ok(growth < 64 * MB, `resident set grew by ${Math.round(growth / MB)} MB`);
      assert.ok(MAX_RESPONSE_BYTES <= 16 * 1024);
    });
  }
});
