import { Registry, collectDefaultMetrics } from 'prom-client';
import { Clock } from '../events/clock.ts';
import { workerId } from '../events/delivery-worker.ts';
import { outboxJobs } from '../events/outbox-jobs.ts';
import { OutboxGauges } from '../events/outbox-metrics.ts';
import { createStore } from '../store/index.ts';
import { startOpsServer, type OpsServer } from './ops-server.ts';
import { startProcess, traceFlushMs, traceProcess } from './runtime.ts';
import { installShutdown } from './shutdown.ts';
import { connectStore } from './store-startup.ts';

/**
 * The `clock` process type (the transactional outbox, docs/adr/0005): runs the outbox's schedules (purge, report). Run one; a
 * second by mistake is harmless, as every tick is claimed in the store before it runs.
 */
const { config, logger, release } = startProcess('clock');
const registry = new Registry();
collectDefaultMetrics({ register: registry });
const tracing = await traceProcess('clock', config, release);
tracing.register(registry);
const store = await createStore({
  url: config.storeUrl,
  poolMax: 2,
  connectTimeoutMs: config.connectTimeoutMs,
  // Purging a large backlog runs in batches, each well within an ordinary statement timeout.
  statementTimeoutMs: config.statementTimeoutMs,
  onBackgroundError: (error) => logger.warn({ err: error }, 'store connection lost'),
});
const owner = workerId();
const clock = new Clock({
  ticks: store.ticks,
  jobs: outboxJobs({
    outbox: store.outbox,
    ticks: store.ticks,
    clock: config.clock,
    endpoints: config.webhooks.urls,
    gauges: new OutboxGauges(registry),
    purgeIdempotencyKeys: (options) => store.purgeIdempotencyKeys(options),
  }),
  logger,
  registry,
  owner,
});

const startup = new AbortController();
let ops: OpsServer | undefined;
let ready = false;
const shutdown = installShutdown({
  logger,
  timeoutMs: config.shutdownTimeoutMs,
  steps: [
    {
      name: 'stop scheduling',
      run: () => {
        ready = false;
        startup.abort();
      },
    },
    { name: 'finish jobs', run: () => clock.stop() },
    { name: 'close ops server', run: () => ops?.close() },
    { name: 'close store', run: () => store.close() },
    { name: 'flush traces', run: () => tracing.shutdown(traceFlushMs(config)) },
  ],
});

try {
  ops = await startOpsServer({
    port: config.clock.port,
    host: config.host,
    registry,
    live: () => true,
    ready: () => ready,
  });
} catch (error) {
  logger.fatal({ err: error, port: config.clock.port }, 'cannot listen');
  await shutdown.begin('listen failed', 1);
}

const storeLog = await connectStore(store, {
  logger,
  config,
  signal: startup.signal,
  shutdown,
});
if (storeLog) {
  clock.start();
  ready = true;
  storeLog.info(
    {
      owner,
      schedules: { purge: config.clock.purgeCron, report: config.clock.reportCron },
      retentionMs: config.clock.retentionMs,
      opsPort: ops?.port,
      release,
    },
    'clock ready',
  );
}
