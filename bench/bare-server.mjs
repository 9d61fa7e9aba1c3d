import { Buffer } from 'node:buffer';
import http from 'node:http';
import process from 'node:process';

// The baseline every figure is a ratio to: node:http answering a fixed small JSON record. Plain
// JavaScript, as the web process runs from dist/: a .ts file would add Node's type stripping to
// the baseline's start-up (≈30 ms here) and memory, and flatter every ratio.
const body = JSON.stringify({
  name: 'bingo',
  createdAt: '2017-02-13T06:13:53.791Z',
  updatedAt: '2017-02-13T06:13:53.791Z',
  id: '58a41d952f53291200b9e065',
});
const server = http.createServer((_req, res) => {
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', address: server.address() })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
