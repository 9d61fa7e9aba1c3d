/** The attacks `npm run attack` runs, one per way a single client could hurt the service. */
import net from 'node:net';
import http from 'node:http';
import { loop, request, Tally } from './attack-clients.ts';
import type { TcpProxy } from '../test/support/tcp-proxy.ts';
import { rawExchange } from '../test/support/raw-http.ts';

export interface AttackContext {
  port: number;
  /** The attacker's own loopback address. */
  from: string;
  /** An existing user's id. */
  id: string;
  redisRelay: TcpProxy;
  signal: AbortSignal;
}

export interface Attack {
  name: string;
  /** Runs until the signal aborts; says what the attacker got. */
  run(context: AttackContext): Promise<string>;
}

const MISSING = '/user/000000000000000000000000';
const onAbort = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve());
  });

/** Many sockets, each sending one keep-alive GET /healthz, then idling for the whole phase. */
async function idleFlood(context: AttackContext, count: number): Promise<string> {
  const sockets: net.Socket[] = [];
  let answered = 0;
  const prefix = context.from.split('.').slice(0, 3).join('.');
  for (let i = 0; i < count && !context.signal.aborted; i++) {
    const socket = net.connect({
      port: context.port,
      host: '127.0.0.1',
      // Spread over 8 addresses, as a small botnet would be.
      localAddress: `${prefix}.${100 + (i % 8)}`,
    });
    socket.on('error', () => undefined);
    socket.on('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
    socket.once('data', () => answered++);
    sockets.push(socket);
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  await onAbort(context.signal);
  const open = sockets.filter((s) => !s.destroyed).length;
  for (const s of sockets) s.destroy();
  const closed = count - open;
  return (
    `${count} sockets: ${answered} answered 200, ${open} still open at the end` +
    (closed > 0 ? `, ${closed} closed by the server` : '')
  );
}

const QUERY = (() => {
  const term = { email: { contains: 'x'.repeat(100) } };
  const where = JSON.stringify({ or: Array.from({ length: 99 }, () => term) });
  return `/user?limit=1000&where=${encodeURIComponent(where)}`;
})();

const WIDE = (() => {
  const keys = Object.fromEntries(Array.from({ length: 90_000 }, (_, i) => [i.toString(36), '1']));
  return { json: JSON.stringify(keys), form: new URLSearchParams(keys).toString() };
})();

const PROTOTYPE_NAMES = ['toString', 'valueOf', 'constructor', '__proto__', 'hasOwnProperty'];

const status = async (answer: Promise<{ status: number }>) => (await answer).status;

export const ATTACKS: Attack[] = [
  {
    name: '1,500 idle keep-alive sockets (one `GET /healthz` each, 8 addresses)',
    run: (context) => idleFlood(context, 1500),
  },
  {
    name: '`GET /healthz` flood, 16 keep-alive connections',
    async run(context) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const got = await loop(context.signal, 16, () =>
        status(request({ ...context, method: 'GET', path: '/healthz', agent })),
      );
      agent.destroy();
      return got;
    },
  },
  {
    name: '`where` of 99 `contains` terms, `limit=1000` (15 KB URL), 3 clients',
    run: (context) =>
      loop(context.signal, 3, () => status(request({ ...context, method: 'GET', path: QUERY }))),
  },
  {
    name: '`PATCH` bodies of 90,000 unknown keys (JSON and form, ~0.7 MB)',
    run: (context) =>
      loop(context.signal, 1, (n) => {
        const form = n % 2 === 1;
        return status(
          request({
            ...context,
            method: 'PATCH',
            path: `/user/${context.id}`,
            headers: {
              'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
            },
            body: form ? WIDE.form : WIDE.json,
          }),
        );
      }),
  },
  {
    name: '50 bodies trickled one byte per 500 ms',
    async run(context) {
      const tally = new Tally();
      const body = `{"name":"${'s'.repeat(40)}"}`;
      const head = `POST /user HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      const answers = await Promise.all(
        Array.from({ length: 50 }, () =>
          rawExchange(context.port, [head, ...body], {
            from: context.from,
            gapMs: 500,
            guardMs: 15_000,
          }),
        ),
      );
      for (const answer of answers) tally.add(answer.status);
      await onAbort(context.signal);
      return tally.toString();
    },
  },
  {
    name: '`where` operators named after `Object.prototype` members',
    run: (context) =>
      loop(context.signal, 2, (n) => {
        const name = PROTOTYPE_NAMES[n % PROTOTYPE_NAMES.length]!;
        const where = encodeURIComponent(`{"name":{"${name}":"x"}}`);
        return status(request({ ...context, method: 'GET', path: `/user?where=${where}` }));
      }),
  },
  {
    name: 'rotating `X-Forwarded-For` (the proxy is trusted by address)',
    run: (context) =>
      loop(context.signal, 8, (n) =>
        status(
          request({
            ...context,
            method: 'GET',
            path: MISSING,
            headers: { 'x-forwarded-for': `198.51.${(n >> 8) & 255}.${n & 255}` },
          }),
        ),
      ),
  },
  ...(['down', 'hung'] as const).map((state): Attack => ({
    name: `Redis ${state} while one client floods (8 connections)`,
    async run(context) {
      if (state === 'down') context.redisRelay.cut();
      else context.redisRelay.stall();
      const got = await loop(context.signal, 8, () =>
        status(request({ ...context, method: 'GET', path: MISSING })),
      );
      if (state === 'down') context.redisRelay.restore();
      else context.redisRelay.resume();
      return got;
    },
  })),
  {
    name: 'requests refused before routing (20 KB header, two `Content-Length`, bare LF) and unknown routes',
    run(context) {
      const bad = [
        `GET /user HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`,
        'POST /user HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
        'GET /user HTTP/1.1\nHost: x\n\n',
      ];
      return loop(context.signal, 4, (n) =>
        n % 4 === 3
          ? status(request({ ...context, method: 'GET', path: `/scan-${n}` }))
          : status(rawExchange(context.port, [bad[n % 4]!], { from: context.from })),
      );
    },
  },
];
