import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { OutboxStats } from '../users/outbox.ts';

export type DeliveryOutcome = 'delivered' | 'retry' | 'dead';

/** What a worker counts: every attempt by endpoint and outcome, its duration, end-to-end lag. */
export class DeliveryMetrics {
  private readonly attempts: Counter<'endpoint' | 'outcome'>;
  private readonly duration: Histogram<'endpoint'>;
  private readonly lag: Histogram<'endpoint'>;

  constructor(registry: Registry) {
    this.attempts = new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook attempts by endpoint and outcome: delivered, retry (failed, will retry), dead (failed, gave up).',
      labelNames: ['endpoint', 'outcome'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'webhook_attempt_duration_seconds',
      help: 'Time one webhook attempt took, by endpoint.',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.lag = new Histogram({
      name: 'webhook_delivery_lag_seconds',
      help: 'From the change (event time) to the webhook acknowledged by the endpoint.',
      labelNames: ['endpoint'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 86400],
      registers: [registry],
    });
  }

  attempt(endpoint: string, outcome: DeliveryOutcome, seconds: number): void {
    this.attempts.inc({ endpoint, outcome });
    this.duration.observe({ endpoint }, seconds);
  }

  delivered(endpoint: string, lagSeconds: number): void {
    this.lag.observe({ endpoint }, Math.max(0, lagSeconds));
  }
}

/**
 * The outbox's state as gauges. Set by the clock's report job, or read at every scrape through
 * `source` (the worker), cached for a second so several gauges cost one read.
 */
export class OutboxGauges {
  private readonly lag: Gauge;
  private readonly pending: Gauge;
  private readonly dead: Gauge;
  private readonly unfanned: Gauge;

  constructor(
    registry: Registry,
    options: { source?: () => Promise<OutboxStats>; now?: () => Date } = {},
  ) {
    const now = options.now ?? (() => new Date());
    let cached: { at: number; stats: Promise<OutboxStats | undefined> } | undefined;
    const refresh = options.source
      ? async () => {
          const at = Date.now();
          if (!cached || at - cached.at > 1000) {
            // A store that cannot answer leaves the last values: a scrape must not fail for it.
            cached = { at, stats: options.source!().catch(() => undefined) };
          }
          const stats = await cached.stats;
          if (stats) this.update(stats, now());
        }
      : undefined;
    const gauge = (name: string, help: string) =>
      new Gauge({ name, help, registers: [registry], ...(refresh ? { collect: refresh } : {}) });
    this.lag = gauge(
      'outbox_lag_seconds',
      'Age of the oldest event not yet delivered to every endpoint (0 when none waits).',
    );
    this.pending = gauge('outbox_pending_deliveries', 'Deliveries waiting for a (re)try.');
    this.dead = gauge(
      'outbox_dead_letters',
      'Deliveries given up on, kept for `admin events redeliver`.',
    );
    this.unfanned = gauge(
      'outbox_unfanned_events',
      'Events no worker has fanned out to endpoints yet.',
    );
  }

  update(stats: OutboxStats, now: Date): void {
    this.lag.set(lagSeconds(stats, now));
    this.pending.set(stats.pendingDeliveries);
    this.dead.set(stats.deadLetters);
    this.unfanned.set(stats.unfannedEvents);
  }
}

export function lagSeconds(stats: OutboxStats, now: Date): number {
  if (stats.oldestWaitingAt === undefined) return 0;
  return Math.max(0, (now.getTime() - Date.parse(stats.oldestWaitingAt)) / 1000);
}
