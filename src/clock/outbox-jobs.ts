import type { ClockSettings } from '../config/index.ts';
import type { ClockTicks } from '../users/clock-ticks.ts';
import type { Outbox } from '../users/outbox.ts';
import type { PurgeKeysOptions } from '../users/user-store.ts';
import type { ScheduledJob } from './clock.ts';
import { lagSeconds, type OutboxGauges } from '../webhooks/outbox-metrics.ts';

/** Events deleted per statement: short locks, and progress even if a run is cut short. */
const PURGE_BATCH = 1000;

/**
 * The clock's two jobs. Both are harmless to repeat or skip: purge deletes by a cutoff, the
 * report reads the current state.
 */
export function outboxJobs(options: {
  outbox: Outbox;
  /** The clock's own tick claims go with the same purge. */
  ticks: ClockTicks;
  clock: ClockSettings;
  /** The endpoints in use (WEBHOOK_URLS): events still owed to one of them are kept. */
  endpoints: readonly string[];
  gauges: OutboxGauges;
  /** The store's expired Idempotency-Keys go with the same purge (see docs/reliability.md, "Retried creates"). */
  purgeIdempotencyKeys?: (options: PurgeKeysOptions) => Promise<number>;
  now?: () => Date;
}): ScheduledJob[] {
  const now = options.now ?? (() => new Date());
  const { outbox, clock } = options;
  return [
    {
      name: 'purge',
      cron: clock.purgeCron,
      async run() {
        const at = now();
        const before = new Date(at.getTime() - clock.retentionMs).toISOString();
        const purged = await outbox.purge({
          before,
          endpoints: options.endpoints,
          batchSize: PURGE_BATCH,
        });
        await options.ticks.purge(before);
        const expiredKeys = await options.purgeIdempotencyKeys?.({
          now: at.toISOString(),
          batchSize: PURGE_BATCH,
        });
        return { purged, before, ...(expiredKeys !== undefined && { expiredKeys }) };
      },
    },
    {
      name: 'report',
      cron: clock.reportCron,
      async run({ logger }) {
        const stats = await outbox.stats();
        const at = now();
        options.gauges.update(stats, at);
        const report = {
          lagSeconds: Math.round(lagSeconds(stats, at) * 1000) / 1000,
          pendingDeliveries: stats.pendingDeliveries,
          deadLetters: stats.deadLetters,
          unfannedEvents: stats.unfannedEvents,
        };
        // A dead letter needs a person: `admin events list --status dead`, then redeliver.
        if (stats.deadLetters > 0) logger.warn(report, 'outbox has dead letters');
        return report;
      },
    },
  ];
}
