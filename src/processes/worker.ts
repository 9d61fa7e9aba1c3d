import { DeliveryWorker } from '../webhooks/delivery-worker.ts';
import { DeliveryMetrics, OutboxGauges } from '../webhooks/outbox-metrics.ts';
import { endpointLabel } from '../webhooks/webhook-message.ts';
import { runBackground } from './background.ts';

/**
 * The `worker` process type (the transactional outbox, docs/adr/0005): delivers the outbox's events to WEBHOOK_URLS. Any number
 * may run against one store. SIGTERM: stop claiming, finish the webhooks in flight, exit 0.
 */
await runBackground({
  type: 'worker',
  work({ config, logger, registry, store }) {
    const worker = new DeliveryWorker({
      outbox: store.outbox,
      ping: () => store.ping(),
      webhooks: config.webhooks,
      worker: config.worker,
      logger,
      metrics: new DeliveryMetrics(registry),
    });
    new OutboxGauges(registry, { source: () => store.outbox.stats() });
    // A loop that has not turned for a few leases is stuck: liveness fails so it gets restarted.
    const stalledAfterMs = Math.max(config.worker.leaseMs * 3, 60_000);
    return {
      stopping: 'stop claiming, finish deliveries',
      start() {
        if (config.webhooks.urls.length === 0)
          logger.warn('WEBHOOK_URLS is empty: events are kept in the outbox, none is delivered');
        worker.start();
        return {
          owner: worker.owner,
          endpoints: config.webhooks.urls.map(endpointLabel),
          concurrency: config.worker.concurrency,
        };
      },
      stop: () => worker.stop(),
      live: () => worker.live(stalledAfterMs),
      ready: () => worker.ready,
    };
  },
});
