import { Clock } from '../clock/clock.ts';
import { workerId } from '../webhooks/delivery-worker.ts';
import { outboxJobs } from '../clock/outbox-jobs.ts';
import { OutboxGauges } from '../webhooks/outbox-metrics.ts';
import { runBackground } from './background.ts';

/**
 * The `clock` process type (the transactional outbox, docs/adr/0005): runs the outbox's schedules (purge, report). Run one; a
 * second by mistake is harmless, as every tick is claimed in the store before it runs.
 */
await runBackground({
  type: 'clock',
  // A job at a time per schedule; a large purge runs in batches within the statement timeout.
  poolMax: 2,
  work({ config, logger, registry, store }) {
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
    let started = false;
    return {
      stopping: 'finish jobs',
      start() {
        clock.start();
        started = true;
        return {
          owner,
          schedules: { purge: config.clock.purgeCron, report: config.clock.reportCron },
          retentionMs: config.clock.retentionMs,
        };
      },
      stop: () => clock.stop(),
      live: () => true,
      ready: () => started,
    };
  },
});
