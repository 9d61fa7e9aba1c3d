import { Registry, collectDefaultMetrics } from 'prom-client';
import { DeliveryWorker } from '../events/delivery-worker.ts';
import { DeliveryMetrics, OutboxGauges } from '../events/outbox-metrics.ts';
import { endpointLabel } from '../events/webhook-message.ts';
import { createStore } from '../store/index.ts';
import { startOpsServer, type OpsServer } from './ops-server.ts';
import { startProcess, traceFlushMs, traceProcess } from './runtime.ts';
import { installShutdown } from './shutdown.ts';
import { connectStore } from './store-startup.ts';

/**
 * The `worker` process type (the transactional outbox, docs/adr/0005): delivers the outbox's events to WEBHOOK_URLS. Any number
 * may run against one store. SIGTERM: stop claiming, finish the webhooks in flight, exit 0.
 */
const { config, logger, release } = startProcess('worker');
const registry = new Registry();
collectDefaultMetrics({ register: registry });
const tracing = await traceProcess('worker', config, release);
tracing.register(registry);
const store = await createStore({
  url: config.storeUrl,
  poolMax: config.poolMax,
  connectTimeoutMs: config.connectTimeoutMs,
  statementTimeoutMs: config.statementTimeoutMs,
  onBackgroundError: (error) => logger.warn({ err: error }, 'store connection lost'),
});
const worker = new DeliveryWorker({
  outbox: store.outbox,
  ping: () => store.ping(),
  webhooks: config.webhooks,
  worker: config.worker,
  logger,
  metrics: new DeliveryMetrics(registry),
});
new OutboxGauges(registry, { source: () => store.outbox.stats() });

const startup = new AbortController();
let ops: OpsServer | undefined;
// A loop that has not turned for a few leases is stuck: liveness fails so it gets restarted.
const stalledAfterMs = Math.max(config.worker.leaseMs * 3, 60_000);
const shutdown = installShutdown({
  logger,
  timeoutMs: config.shutdownTimeoutMs,
  steps: [
    // Not ready at once, then no new claim; the webhooks in flight finish within their timeout.
    { name: 'abort start-up', run: () => startup.abort() },
    { name: 'stop claiming, finish deliveries', run: () => worker.stop() },
    { name: 'close ops server', run: () => ops?.close() },
    { name: 'close store', run: () => store.close() },
    { name: 'flush traces', run: () => tracing.shutdown(traceFlushMs(config)) },
  ],
});

try {
  ops = await startOpsServer({
    port: config.worker.port,
    host: config.host,
    registry,
    live: () => worker.live(stalledAfterMs),
    ready: () => worker.ready,
  });
} catch (error) {
  logger.fatal({ err: error, port: config.worker.port }, 'cannot listen');
  await shutdown.begin('listen failed', 1);
}

const storeLog = await connectStore(store, {
  logger,
  config,
  signal: startup.signal,
  shutdown,
});
if (storeLog) {
  if (config.webhooks.urls.length === 0)
    logger.warn('WEBHOOK_URLS is empty: events are kept in the outbox, none is delivered');
  worker.start();
  storeLog.info(
    {
      owner: worker.owner,
      endpoints: config.webhooks.urls.map(endpointLabel),
      concurrency: config.worker.concurrency,
      opsPort: ops?.port,
      release,
    },
    'worker ready',
  );
}
