import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log/logger.ts';
import { createStore } from '../store/index.ts';
import type { UserStore } from '../users/user-store.ts';
import { startOpsServer, type OpsServer } from './ops-server.ts';
import { startProcess, traceFlushMs, traceProcess } from './runtime.ts';
import { installShutdown } from './shutdown.ts';
import { listenThenConnect } from './store-startup.ts';

/** What a background process runs once its store is ready. */
export interface BackgroundWork {
  /** The shutdown step that stops it, e.g. 'finish jobs'. */
  readonly stopping: string;
  /** Starts the work; answers what to log with `<type> ready`. */
  start(): Record<string, unknown>;
  /** Resolves when the work in hand is done; nothing new starts. */
  stop(): Promise<void>;
  live(): boolean;
  ready(): boolean;
}

/**
 * The life cycle every background process type shares (worker, clock): config, logger, metrics,
 * tracing and store; an ops server (/healthz, /readyz, /metrics) on its port; the store waited
 * for and its schema checked before the work starts. SIGTERM: not ready at once, the work
 * stopped (what is in hand finishes), then the ops server, the store and the traces closed.
 */
export async function runBackground(options: {
  type: 'worker' | 'clock';
  /** Connections the process needs, when fewer than DATABASE_POOL_MAX. */
  poolMax?: number;
  work(context: {
    config: Config;
    logger: Logger;
    registry: Registry;
    store: UserStore;
  }): BackgroundWork;
}): Promise<void> {
  const { config, logger, release } = startProcess(options.type);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const tracing = await traceProcess(options.type, config, release);
  tracing.register(registry);
  const store = await createStore({
    ...config.store,
    ...(options.poolMax !== undefined && { poolMax: options.poolMax }),
    onBackgroundError: (error) => logger.warn({ err: error }, 'store connection lost'),
  });
  const work = options.work({ config, logger, registry, store });

  const startup = new AbortController();
  let ops: OpsServer | undefined;
  let stopping = false;
  const shutdown = installShutdown({
    logger,
    timeoutMs: config.shutdownTimeoutMs,
    steps: [
      {
        name: 'abort start-up',
        run: () => {
          stopping = true;
          startup.abort();
        },
      },
      { name: work.stopping, run: () => work.stop() },
      { name: 'close ops server', run: () => ops?.close() },
      { name: 'close store', run: () => store.close() },
      { name: 'flush traces', run: () => tracing.shutdown(traceFlushMs(config)) },
    ],
  });

  const port = config[options.type].port;
  const listen = async () => {
    ops = await startOpsServer({
      port,
      host: config.host,
      registry,
      live: () => work.live(),
      ready: () => !stopping && work.ready(),
    });
  };
  const storeLog = await listenThenConnect(
    store,
    { start: listen, where: { port } },
    { logger, config, signal: startup.signal, shutdown },
  );
  if (storeLog) {
    const fields = work.start();
    storeLog.info({ ...fields, opsPort: ops?.port, release }, `${options.type} ready`);
  }
}
