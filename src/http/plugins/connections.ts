import cluster from 'node:cluster';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6, type Socket } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';
import type { FastifyInstance } from 'fastify';
import type { TrustProxy } from '../../config/index.ts';
import { DeferredReads } from './deferred-reads.ts';

export interface ConnectionSettings {
  /** Open connections this process keeps; past it new ones are closed at once. */
  maxConnections: number;
  /** Open connections one peer address may hold; 0 is no cap. */
  maxConnectionsPerClient: number;
  /**
   * Behind trusted proxies every connection of theirs carries many clients: those addresses are
   * not capped. `true` trusts every peer, so the cap is off altogether.
   */
  trustProxy: TrustProxy;
}

export interface ConnectionLimits {
  /**
   * Requests received on the server's connections whose response has not finished or been
   * aborted yet (requests made with inject() never reach the server's connections).
   */
  inFlight(): number;
}

const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * Whom a connection is counted against: an IPv4 address as it is (also when it arrives mapped
 * into IPv6, `::ffff:a.b.c.d`), and an IPv6 peer by its /64, since one host is handed a whole
 * /64 and could otherwise take a fresh address for every connection.
 */
export function clientKey(address: string): string {
  // Every IPv6 form has a colon and no IPv4 one does: a plain IPv4 address (most peers) skips
  // the checks below, whose IPv6 pattern was a third of the cost of accepting a connection.
  if (!address.includes(':')) return address;
  const mapped = MAPPED_IPV4.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare)) return address;
  const [head = '', tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded dotted IPv4 tail sits in the last 32 bits, never in the first 64.
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** From this share of the cap on, idle keep-alive connections are closed to make room. */
const RECLAIM_AT = 0.9;
/** A reclaim closes idle connections until this share of the cap is open. */
const RECLAIM_TO = 0.75;
/** Closing idle connections walks them all: at most once per this many ms. */
const RECLAIM_EVERY_MS = 250;
/** One warning per condition per this many ms, not one per refused socket. */
const WARN_EVERY_MS = 10_000;
/**
 * An address holding more open connections than this is heavy: while connections keep arriving,
 * its new ones are accepted but not read yet. A browser holds at most 6 per host; trusted
 * proxies, which carry many clients, are never heavy.
 */
const HEAVY_HOLDING = 8;

interface Held {
  socket: Socket;
  /** Responses not yet finished on this connection. */
  inFlight: number;
  /**
   * `bytesRead` when its last response finished; more since is a request arriving. -1 until a
   * first response: a connection that has not sent its first request is left to the deadline.
   */
  readAtRest: number;
  /** Whether `open` still counts it: until it closes, or until this plugin closes it. */
  counted: boolean;
}

/** Kept alive after an answer, with nothing read since: closing it loses no request. */
const idle = (held: Held) => held.inFlight === 0 && held.socket.bytesRead === held.readAtRest;
/** Nothing read from it yet: it has sent nothing, or its reading is deferred. */
const unread = (held: Held) => held.inFlight === 0 && held.socket.bytesRead === 0;

/**
 * Bounds what connections can take: a process-wide cap below the open-files limit (so accepting
 * never fails with EMFILE, which would crash whatever next opens a file), a cap per peer address,
 * and, near the cap, idle keep-alive connections closed first so that a client with a request to
 * make gets a place: those of the addresses holding the most connections first, so that a flood
 * from a few addresses does not cost everyone else their kept-alive connections (each of which
 * would then have to be opened again, into a full accept queue); at the cap, a new connection
 * from an address holding few takes the place of one of the address holding the most rather
 * than being refused. While connections keep arriving, those of heavy addresses are read only
 * once the burst has been accepted (DeferredReads). An accept error is logged, never thrown.
 */
export function connectionLimits(
  app: FastifyInstance,
  settings: ConnectionSettings,
): ConnectionLimits {
  const server = app.server;
  const log = app.log.child({ component: 'connections' });
  // Under the cluster supervisor Node's own cap cannot be used: a child over it refuses the
  // connection back to the supervisor, which hands it to another child, and round again while
  // every child is full, so the connection circulates between them, never closed, and no child
  // hears of it to make room. A child closes connections past the cap itself instead.
  // A single process keeps Node's cap one above its own, as a backstop that never bites: every
  // connection past the cap reaches the handler below, which closes it or makes room for it.
  if (!cluster.isWorker) server.maxConnections = settings.maxConnections + 1;
  // Nothing is read from a new connection until the handler below resumes it (or defers it):
  // net.Server's `pauseOnConnect` option, which http.createServer does not pass on, but which
  // net.Server reads from this field at every accept.
  (server as typeof server & { pauseOnConnect: boolean }).pauseOnConnect = true;
  const reclaimAt = Math.floor(settings.maxConnections * RECLAIM_AT);
  const reclaimTo = Math.floor(settings.maxConnections * RECLAIM_TO);
  const byClient = new Map<string, Map<Socket, Held>>();
  const heldOf = new WeakMap<Socket, Held>();
  const capPerClient = settings.trustProxy === true ? 0 : settings.maxConnectionsPerClient;
  // Every peer trusted: each may be a proxy carrying many clients, so none is heavy.
  const deferHeavy = settings.trustProxy !== true;
  const trusted = Array.isArray(settings.trustProxy)
    ? proxyAddr.compile([...settings.trustProxy])
    : () => false;
  /** An address holding more than HEAVY_HOLDING, not a trusted proxy. */
  const heavy = (sockets: Map<Socket, Held>, peer: string) =>
    sockets.size > HEAVY_HOLDING && deferHeavy && !trusted(peer, 0);
  let open = 0;
  /** Responses not yet finished or aborted, on every connection. */
  let serving = 0;
  // Counted out at once (the socket's own 'close' comes a turn later): the next connection,
  // accepted in the next turn, sees the count as it is.
  const close = (held: Held) => {
    if (held.counted) open--;
    held.counted = false;
    held.socket.destroy();
  };

  const deferred = new DeferredReads();
  let lastReclaim = -Infinity;
  const lastWarning = new Map<string, number>();
  const warn = (message: string, fields: Record<string, unknown>) => {
    const now = Date.now();
    if (now - (lastWarning.get(message) ?? 0) < WARN_EVERY_MS) return;
    lastWarning.set(message, now);
    log.warn({ ...fields, maxConnections: settings.maxConnections }, message);
  };

  const reclaim = () => {
    const now = Date.now();
    if (now - lastReclaim < RECLAIM_EVERY_MS) return;
    lastReclaim = now;
    let excess = open - reclaimTo;
    let closed = 0;
    const heaviestFirst = [...byClient.values()].sort((a, b) => b.size - a.size);
    // A heavy address's connections that have not sent a request yet (or whose reading is
    // deferred) go too, after its idle ones: they are part of the burst that filled the process.
    // Without them, a burst not answered yet (deferred, or its requests still on their way) had
    // the light addresses after it lose their kept-alive connections in its place.
    const closable = (held: Held) => idle(held) || unread(held);
    for (const sockets of heaviestFirst) {
      const { socket } = sockets.values().next().value!;
      for (const pass of heavy(sockets, socket.remoteAddress ?? '') ? [idle, closable] : [idle]) {
        for (const held of sockets.values()) {
          if (excess <= 0) break;
          if (!held.counted || !pass(held)) continue;
          close(held);
          excess--;
          closed++;
        }
      }
      if (excess <= 0) break;
    }
    warn('near the connection cap: closing idle keep-alive connections', { open, closed });
  };

  /**
   * At the cap, a connection from an address holding few is worth more than one more kept by the
   * address holding the most: one of the latter's that no request is on is closed to make room,
   * an idle kept-alive one first, else one that has sent nothing yet. One with a request arriving
   * or answered is never chosen: its client may not retry (a POST is not retried by undici, nor
   * anything by node:http). Trusted proxies, which carry many clients, are never chosen. False
   * when there is no such connection.
   */
  const evictFor = (address: string, holding: number): boolean => {
    let heaviest: Map<Socket, Held> | undefined;
    for (const [key, sockets] of byClient) {
      if (key === address || sockets.size <= holding + 1) continue;
      if (heaviest && sockets.size <= heaviest.size) continue;
      const { socket } = sockets.values().next().value!;
      if (!trusted(socket.remoteAddress ?? '', 0)) heaviest = sockets;
    }
    if (!heaviest) return false;
    let chosen: Held | undefined;
    for (const held of heaviest.values()) {
      if (!held.counted) continue;
      if (idle(held)) {
        chosen = held;
        break;
      }
      if (!chosen && unread(held)) chosen = held;
    }
    if (!chosen) return false;
    close(chosen);
    warn('at the connection cap: closed a connection of the address holding the most', {
      address: clientKey(chosen.socket.remoteAddress ?? ''),
      holding: heaviest.size,
    });
    return true;
  };

  server.on('connection', (socket: Socket) => {
    open++;
    deferred.accepted();
    const peer = socket.remoteAddress ?? '';
    const address = clientKey(peer);
    let sockets = byClient.get(address);
    if (!sockets) byClient.set(address, (sockets = new Map()));
    const held: Held = { socket, inFlight: 0, readAtRest: -1, counted: true };
    sockets.set(socket, held);
    heldOf.set(socket, held);
    socket.once('close', () => {
      if (held.counted) open--;
      held.counted = false;
      deferred.forget(socket);
      sockets.delete(socket);
      if (sockets.size === 0) byClient.delete(address);
    });
    if (capPerClient > 0 && sockets.size > capPerClient && !trusted(peer, 0)) {
      warn('connection refused: too many from one address', {
        address,
        maxConnectionsPerClient: capPerClient,
      });
      close(held);
      return;
    }
    if (open >= reclaimAt) reclaim();
    if (open > settings.maxConnections && !evictFor(address, sockets.size)) {
      warn('connection refused: the connection cap is reached', { address: peer });
      close(held);
      return;
    }
    if (heavy(sockets, peer)) deferred.defer(socket);
    else socket.resume();
  });
  // One listener for every response ('close' is emitted once, for finished and aborted
  // responses alike), not a closure per request; the response has let go of its socket by then,
  // its request has not.
  function answered(this: ServerResponse) {
    serving--;
    const held = heldOf.get(this.req.socket);
    if (!held) return;
    held.inFlight--;
    held.readAtRest = held.socket.bytesRead;
  }
  // Ahead of Fastify's own listener, which may answer at once (a scrape of this very count).
  server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    serving++;
    response.on('close', answered);
    const held = heldOf.get(request.socket);
    if (held) held.inFlight++;
  });
  // Node's backstop cap, should it ever bite, closes the connection itself and says so here.
  server.on('drop', (peer) => {
    warn('connection refused: the connection cap is reached', { address: peer?.remoteAddress });
    reclaim();
  });
  // An accept error (EMFILE, ENFILE) is emitted here; without a listener it would be thrown.
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.syscall === 'listen') return;
    warn('cannot accept a connection', { err: error });
  });
  return { inFlight: () => serving };
}
