import { Registry } from 'prom-client';
import type { Config } from '../config/index.ts';
import { buildApp } from '../http/app.ts';
import { Lifecycle } from '../http/lifecycle.ts';
import type { Release } from '../http/routes/operations.ts';
import type { Logger } from '../log/logger.ts';
import { createStore } from '../store/index.ts';
import { instrumentStore } from '../store/instrumented-store.ts';
import { UserService } from '../users/user-service.ts';
import { installShutdown } from './shutdown.ts';
import { sleep, traceProcess, traceFlushMs } from './runtime.ts';
import { listenThenConnect } from './store-startup.ts';
import { ensureSchema } from '../users/user-store.ts';
import { connectRedis } from './redis.ts';
import { connectionCap, openFilesLimit } from './open-files.ts';
import { limitHeapGrowth } from './heap-growth.ts';

const HANDOFF_SETTLE_MS = 250;
/** Asks for the longest accept queue; the kernel lowers it to net.core.somaxconn. */
const LISTEN_BACKLOG = 65_535;

/**
 * One web process: listens at once (so /healthz answers), waits for the store with backoff,
 * prepares the schema, then serves. Under the cluster supervisor it drains on the SIGTERM the
 * supervisor forwards and ignores the terminal's SIGINT, which the supervisor handles.
 */
export async function serveWeb(options: {
  config: Config;
  logger: Logger;
  release: Release;
  clustered: boolean;
}): Promise<void> {
  const startedAt = performance.now();
  const { config, logger, release } = options;
  const registry = new Registry();
  const tracing = await traceProcess('web', config, release);
  tracing.register(registry);
  const store = instrumentStore(
    await createStore({
      ...config.store,
      // E.g. an idle PostgreSQL connection dropped by the server: the pool replaces it.
      onBackgroundError: (error) => logger.warn({ err: error }, 'store connection lost'),
    }),
    registry,
    { traced: tracing.enabled },
  );
  // A server store's first connection (TCP, authentication, session start) and its schema
  // check are round trips, mostly waiting: begun now, they run while the app below is built,
  // and the start-up after `listen` takes the check's outcome if it got one. A failure here is
  // that start-up's to meet again and report (with its retries), not this one's.
  const earlySchema = store.capabilities.embedded ? undefined : ensureSchema(store);
  earlySchema?.catch(() => undefined); // met again, and reported, after listen
  const lifecycle = new Lifecycle();
  const redis =
    config.redisUrl && config.rateLimit.max > 0
      ? await connectRedis(config.redisUrl, { logger, commandTimeoutMs: config.redisTimeoutMs })
      : undefined;
  const openFiles = openFilesLimit();
  const connections = connectionCap(config.maxConnections, openFiles);
  if (connections.clamped) {
    logger.warn(
      { maxConnections: config.maxConnections, openFiles, applied: connections.cap },
      'MAX_CONNECTIONS is above what the open-files limit allows; lowered',
    );
  }
  const app = await buildApp({
    service: new UserService({ store, idempotencyTtlMs: config.idempotencyTtlMs }),
    store,
    lifecycle,
    logger,
    registry,
    release,
    http: {
      ...config,
      maxConnections: connections.cap,
    },
    access: config,
    limits: {
      rateLimit: config.rateLimit,
      redis,
      maxEventLoopDelayMs: config.maxEventLoopDelayMs,
    },
    traced: tracing.enabled,
  });
  const startup = new AbortController();
  let servedTraffic = false;

  const shutdown = installShutdown({
    logger,
    signals: options.clustered ? ['SIGTERM'] : ['SIGTERM', 'SIGINT'],
    timeoutMs: config.shutdownTimeoutMs,
    steps: [
      {
        name: 'fail readiness',
        run: () => {
          servedTraffic = lifecycle.phase === 'ready';
          startup.abort();
          lifecycle.drain();
        },
      },
      // Keep serving while load balancers notice /readyz failing (Kubernetes: endpoints update).
      // A Ctrl-C outside production comes from a terminal, with no load balancer to wait for.
      {
        name: 'delay',
        run: (reason) => {
          const fromTerminal = reason === 'SIGINT' && config.nodeEnv !== 'production';
          const delayMs = servedTraffic && !fromTerminal ? config.shutdownDelayMs : 0;
          logger.info({ delayMs }, 'shutdown delay');
          return sleep(delayMs);
        },
      },
      { name: 'close server', run: () => app.close() },
      // Under the cluster supervisor a connection may be on its way to this process over IPC
      // when the supervisor learns the server closed; staying up a moment lets this process
      // refuse it so the supervisor routes it elsewhere, instead of exiting with it in flight
      // (the round-robin scheduler would lose it and the client would hang).
      ...(options.clustered
        ? [{ name: 'settle hand-offs', run: () => sleep(HANDOFF_SETTLE_MS) }]
        : []),
      { name: 'close store', run: () => store.close() },
      { name: 'close redis', run: () => void redis?.disconnect() },
      { name: 'flush traces', run: () => tracing.shutdown(traceFlushMs(config)) },
    ],
  });

  // The accept queue as long as the kernel allows. Past the queue's length a burst of new
  // connections is not refused but dropped: the kernel ignores their first packet, and every
  // client in the burst, whoever it is, resends it only a second later. A queue longer than the
  // connection cap holds the burst instead: the connections past the cap are accepted and
  // closed at once, and the others wait their turn for milliseconds, not a second. A queue as
  // long as the cap (889 at `ulimit -n 1024`) dropped over 500 of a burst of 1,500 connections.
  const storeLog = await listenThenConnect(
    store,
    {
      start: async () => {
        await app.listen({
          port: config.port,
          host: config.host,
          backlog: LISTEN_BACKLOG,
        });
        // Once everything the start loads is compiled (see heap-growth.ts for why not before).
        limitHeapGrowth();
      },
      where: { port: config.port, host: config.host },
    },
    { logger, config, signal: startup.signal, shutdown, earlySchema },
  );
  if (storeLog) {
    lifecycle.ready();
    // Tells the supervisor a rolling restart may retire the child this one replaces.
    if (options.clustered) process.send?.({ type: 'web-ready' });
    storeLog.info(
      {
        address: app.server.address(),
        maxConnections: connections.cap,
        startupMs: Math.round(performance.now() - startedAt),
        release,
      },
      'web ready',
    );
  }
}
