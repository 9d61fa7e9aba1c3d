import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

export interface ConnectionSettings {
  /** Open connections this process keeps; past it Node closes new ones at once. */
  maxConnections: number;
  /** Open connections one peer address may hold; 0 is no cap. */
  maxConnectionsPerClient: number;
}

/** From this share of the cap on, idle keep-alive connections are closed to make room. */
const RECLAIM_AT = 0.9;
/** Closing idle connections walks them all: at most once per this many ms. */
const RECLAIM_EVERY_MS = 250;
/** One warning per condition per this many ms, not one per refused socket. */
const WARN_EVERY_MS = 10_000;

/**
 * Bounds what connections can take: a process-wide cap below the open-files limit (so accepting
 * never fails with EMFILE, which would crash whatever next opens a file), a cap per peer address,
 * and, near the cap, idle keep-alive connections closed first so that a client with a request to
 * make gets a place. An accept error is logged, never thrown.
 */
export function connectionLimits(app: FastifyInstance, settings: ConnectionSettings): void {
  const server = app.server;
  const log = app.log.child({ component: 'connections' });
  server.maxConnections = settings.maxConnections;
  const reclaimAt = Math.floor(settings.maxConnections * RECLAIM_AT);
  const perClient = new Map<string, number>();
  let open = 0;
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
    server.closeIdleConnections();
    warn('near the connection cap: closing idle keep-alive connections', { open });
  };

  server.on('connection', (socket: Socket) => {
    open++;
    const address = socket.remoteAddress ?? '';
    const held = (perClient.get(address) ?? 0) + 1;
    perClient.set(address, held);
    socket.once('close', () => {
      open--;
      const left = (perClient.get(address) ?? 1) - 1;
      if (left === 0) perClient.delete(address);
      else perClient.set(address, left);
    });
    if (settings.maxConnectionsPerClient > 0 && held > settings.maxConnectionsPerClient) {
      warn('connection refused: too many from one address', {
        address,
        maxConnectionsPerClient: settings.maxConnectionsPerClient,
      });
      socket.destroy();
      return;
    }
    if (open >= reclaimAt) reclaim();
  });
  // Node closes connections past maxConnections itself, and says so with this event; the
  // client's retry then finds the room the idle connections left.
  server.on('drop', (peer) => {
    warn('connection refused: the connection cap is reached', { address: peer?.remoteAddress });
    reclaim();
  });
  // An accept error (EMFILE, ENFILE) is emitted here; without a listener it would be thrown.
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.syscall === 'listen') return;
    warn('cannot accept a connection', { err: error });
  });
}
