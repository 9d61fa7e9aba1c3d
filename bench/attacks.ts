/** The attacks `npm run attack` runs, one per way a single client could hurt the service. */
import net from 'node:net';
import http from 'node:http';
import { loop, rawStatus, request, Tally } from './attack-clients.ts';
import type { TcpProxy } from '../test/support/tcp-proxy.ts';

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
  return `${count} sockets: ${answered} answered 200, ${open} still open at the end (the rest closed by the server)`;
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

export const ATTACKS: Attack[] = [
  {
    name: '1,500 idle keep-alive sockets (one `GET /healthz` each, 8 addresses)',
    run: (context) => idleFlood(context, 1500),
  },
  {
    name: '`GET /healthz` flood, 16 keep-alive connections',
    async run(context) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const tally = new Tally();
      await loop(context.signal, 16, async () =>
        tally.add((await request({ ...context, method: 'GET', path: '/healthz', agent })).status),
      );
      agent.destroy();
      return tally.toString();
    },
  },
  {
    name: '`where` of 99 `contains` terms, `limit=1000` (15 KB URL), 3 clients',
    async run(context) {
      const tally = new Tally();
      await loop(context.signal, 3, async () =>
        tally.add((await request({ ...context, method: 'GET', path: QUERY })).status),
      );
      return tally.toString();
    },
  },
  {
    name: '`PATCH` bodies of 90,000 unknown keys (JSON and form, ~0.7 MB)',
    async run(context) {
      const tally = new Tally();
      let i = 0;
      await loop(context.signal, 1, async () => {
        const form = i++ % 2 === 1;
        const answer = await request({
          ...context,
          method: 'PATCH',
          path: `/user/${context.id}`,
          headers: {
            'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
          },
          body: form ? WIDE.form : WIDE.json,
        });
        tally.add(answer.status);
      });
      return tally.toString();
    },
  },
  {
    name: '50 bodies trickled one byte per 500 ms',
    async run(context) {
      const tally = new Tally();
      const body = `{"name":"${'s'.repeat(40)}"}`;
      const head = `POST /user HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      const statuses = await Promise.all(
        Array.from({ length: 50 }, () =>
          rawStatus(context.port, context.from, [head, ...body], 500, 15_000),
        ),
      );
      for (const s of statuses) tally.add(s);
      await onAbort(context.signal);
      return tally.toString();
    },
  },
  {
    name: '`where` operators named after `Object.prototype` members',
    async run(context) {
      const tally = new Tally();
      let i = 0;
      await loop(context.signal, 2, async () => {
        const name = PROTOTYPE_NAMES[i++ % PROTOTYPE_NAMES.length]!;
        const where = encodeURIComponent(`{"name":{"${name}":"x"}}`);
        tally.add(
          (await request({ ...context, method: 'GET', path: `/user?where=${where}` })).status,
        );
      });
      return tally.toString();
    },
  },
  {
    name: 'rotating `X-Forwarded-For` (the proxy is trusted by address)',
    async run(context) {
      const tally = new Tally();
      let i = 0;
      await loop(context.signal, 8, async () => {
        const forwarded = `198.51.${(i >> 8) & 255}.${i++ & 255}`;
        const answer = await request({
          ...context,
          method: 'GET',
          path: MISSING,
          headers: { 'x-forwarded-for': forwarded },
        });
        tally.add(answer.status);
      });
      return tally.toString();
    },
  },
  ...(['down', 'hung'] as const).map((state): Attack => ({
    name: `Redis ${state} while one client floods (8 connections)`,
    async run(context) {
      if (state === 'down') context.redisRelay.cut();
      else context.redisRelay.stall();
      const tally = new Tally();
      await loop(context.signal, 8, async () =>
        tally.add((await request({ ...context, method: 'GET', path: MISSING })).status),
      );
      if (state === 'down') context.redisRelay.restore();
      else context.redisRelay.resume();
      return tally.toString();
    },
  })),
  {
    name: 'requests refused before routing (20 KB header, two `Content-Length`, bare LF) and unknown routes',
    async run(context) {
      const tally = new Tally();
      const bad = [
        `GET /user HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`,
        'POST /user HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
        'GET /user HTTP/1.1\nHost: x\n\n',
      ];
      let i = 0;
      await loop(context.signal, 4, async () => {
        const n = i++;
        if (n % 4 === 3) {
          tally.add((await request({ ...context, method: 'GET', path: `/scan-${n}` })).status);
        } else tally.add(await rawStatus(context.port, context.from, [bad[n % 4]!]));
      });
      return tally.toString();
    },
  },
];
