/**
 * bench:events' webhook receiver, in a process of its own: the bench process writes changes at
 * up to the web process's create rate, and a receiver sharing its event loop stamped webhooks
 * late by as much as the writing kept it busy. It answers 204 at once, stamps each change's
 * first receipt and sends the stamps to its parent every 50 ms.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let stamps: [string, number][] = [];
let requests = 0;
const seen = new Set<string>();
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (c: Buffer) => chunks.push(c));
  request.on('end', () => {
    const at = Date.now();
    const body = JSON.parse(Buffer.concat(chunks).toString()) as {
      data: { userId: string; after: { updatedAt: string } | null };
    };
    requests++;
    const key = `${body.data.userId} ${body.data.after?.updatedAt}`;
    if (!seen.has(key)) {
      seen.add(key);
      stamps.push([key, at]);
    }
    response.writeHead(204).end();
  });
});
server.listen(0, '127.0.0.1', () => {
  process.send!({ port: (server.address() as AddressInfo).port });
});
const flush = setInterval(() => {
  if (stamps.length === 0) return;
  process.send!({ stamps, requests });
  stamps = [];
}, 50);
process.on('disconnect', () => {
  clearInterval(flush);
  server.closeAllConnections();
  server.close();
});
