import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { WebhookSettings, WorkerSettings } from '../config/index.ts';
import type { Logger } from '../log/logger.ts';
import type { Delivery, Outbox } from '../users/outbox.ts';
import type { DeliveryMetrics } from './outbox-metrics.ts';
import { DeliveryAttempts } from './delivery-attempt.ts';
import { DeliveryLanes } from './delivery-lanes.ts';
import { traceDelivery } from './delivery-span.ts';
import { postWebhook, type SendWebhook } from './webhook-sender.ts';

/** Events fanned out per store call: large enough for bursts, small enough for short locks. */
const FAN_OUT_BATCH = 500;
const MAX_ERROR_BACKOFF_MS = 5000;
/**
 * Where the outbox cannot wake the worker when events are written (SQLite), the first wait
 * after a turn that found work; each empty turn doubles it, up to WORKER_POLL_MS. While changes
 * keep coming an event waits tens of milliseconds for a worker, not half the poll; a worker
 * idle for a second is back to polling every WORKER_POLL_MS.
 */
const QUICK_POLL_MS = 20;

export interface DeliveryWorkerOptions {
  outbox: Outbox;
  /**
   * The store's cheapest round trip. With no WEBHOOK_URLS there is nothing to claim, yet the
   * worker is ready only while its store answers: readiness probes and rollouts wait on it.
   */
  ping: () => Promise<void>;
  webhooks: WebhookSettings;
  worker: WorkerSettings;
  logger: Logger;
  metrics: DeliveryMetrics;
  /** Names this worker's leases; unique per process. */
  owner?: string;
  now?: () => Date;
  send?: SendWebhook;
  random?: () => number;
}

/** hostname-pid-random: readable in `admin events list`, unique even across restarts. */
export function workerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * The worker's loop (the transactional outbox, docs/adr/0005): fan new events out to every URL, claim due deliveries per URL
 * (leased, in per-user order), POST each signed, and record the outcome. Up to
 * `worker.concurrency` webhooks per URL are in flight; a finished one wakes the loop, so a
 * user's next event follows at once. A webhook's slot is free once its answer came, while its
 * outcome is still being recorded: recording waits for the store (on SQLite for the one write
 * lock, which the web process's writes hold most of the time under load), and a slot held
 * meanwhile sent nothing. The user's next event is not claimed before that outcome is recorded
 * (the claim's per-user order).
 *
 * Claims also take up to `worker.concurrency` deliveries more than there are free slots, which
 * wait here and go as slots free: a turn of the loop (a fan-out, a claim, on SQLite each a take
 * of the write lock) then serves twice as many webhooks. With changes at half the create rate
 * on SQLite, claims of at most the free slots fell seconds behind (lag p99 1.6 and 2.6 s in two
 * runs). A waiting delivery is leased like one in flight, so this needs a lease that outlasts
 * the wait, the attempt and its recording: it is on only while WORKER_LEASE_MS is at least three
 * WEBHOOK_TIMEOUT_MS (the defaults, 60 and 10 s), and one whose lease has less than two timeouts
 * left when its slot frees is not sent (its lease runs out and a later claim takes it). At most
 * `2 × worker.concurrency` deliveries per URL are claimed and not yet sent, and
 * `3 × worker.concurrency` not yet recorded (without the look-ahead, `worker.concurrency` and
 * twice that).
 * `stop()` stops claiming, sends those claimed, and waits for their outcomes.
 */
export class DeliveryWorker {
  readonly owner: string;
  private readonly options: DeliveryWorkerOptions;
  private readonly now: () => Date;
  private readonly attempts: DeliveryAttempts;
  /** Per URL, its deliveries claimed and not yet recorded. */
  private readonly lanes: DeliveryLanes;
  /** The attempts started and not yet recorded. */
  private readonly work = new Set<Promise<void>>();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** The store said events were written while the loop was busy: the next idle is skipped. */
  private nudged = false;
  private unwatch: Promise<(() => Promise<void>) | undefined> | undefined;
  private storeAnswered = false;
  private lastTurn = Date.now();

  constructor(options: DeliveryWorkerOptions) {
    this.options = options;
    this.owner = options.owner ?? workerId();
    this.now = options.now ?? (() => new Date());
    this.attempts = new DeliveryAttempts({
      ...options,
      owner: this.owner,
      now: this.now,
      send: options.send ?? postWebhook,
    });
    const { concurrency, leaseMs } = options.worker;
    const { urls, timeoutMs } = options.webhooks;
    this.lanes = new DeliveryLanes({
      urls,
      concurrency,
      // Claims take this many more than the free slots (see the class comment).
      lookAhead: leaseMs >= 3 * timeoutMs ? concurrency : 0,
      timeoutMs,
      now: this.now,
      logger: options.logger,
      send: (delivery, answered, recorded) => this.send(delivery, answered, recorded),
      roomy: () => this.wake?.(),
    });
  }

  /** Ready: the store answered the last turn of the loop. */
  get ready(): boolean {
    return this.storeAnswered && !this.stopping;
  }

  /** Live: the loop turned recently (a hung loop should be restarted by the orchestrator). */
  live(staleAfterMs: number): boolean {
    return this.stopping || Date.now() - this.lastTurn < staleAfterMs;
  }

  start(): void {
    // Woken as soon as events are written where the store can tell; polling stays the fallback.
    // With no URL the events stay put, so a write has nothing to wake the loop for.
    if (this.options.webhooks.urls.length > 0)
      this.unwatch ??= this.options.outbox.watch?.(() => this.nudge()).catch(() => undefined);
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await (
      await this.unwatch
    )?.();
    await this.loop;
    // Waiting deliveries start as slots free, each adding its attempt to `work`.
    while (this.work.size > 0) await Promise.all(this.work);
  }

  private async run(): Promise<void> {
    const { outbox, webhooks, worker, logger } = this.options;
    let errorBackoff = 0;
    let poll = worker.pollMs;
    while (!this.stopping) {
      this.lastTurn = Date.now();
      try {
        if (webhooks.urls.length === 0) {
          // Events stay in the outbox, unfanned, until URLs are configured.
          await this.options.ping();
          this.answered();
          errorBackoff = 0;
          await this.idle(worker.pollMs);
          continue;
        }
        const fanned = await outbox.fanOut({
          endpoints: webhooks.urls,
          now: this.now().toISOString(),
          limit: FAN_OUT_BATCH,
        });
        let claimed = 0;
        let looked = false;
        for (const endpoint of webhooks.urls) {
          if (this.stopping) break;
          const free = this.lanes.room(endpoint);
          if (free <= 0) continue;
          looked = true;
          const now = this.now();
          const batch = await outbox.claim({
            endpoint,
            owner: this.owner,
            limit: free,
            now: now.toISOString(),
            leaseMs: worker.leaseMs,
          });
          claimed += batch.length;
          const leaseEnds = now.getTime() + worker.leaseMs;
          for (const delivery of batch) this.lanes.take(delivery, leaseEnds);
        }
        this.answered();
        errorBackoff = 0;
        if (fanned > 0 || claimed > 0) poll = Math.min(QUICK_POLL_MS, worker.pollMs);
        if (fanned < FAN_OUT_BATCH && claimed === 0) {
          // With every slot taken, a finished delivery wakes the loop (track); a watched outbox
          // wakes it when events are written.
          await this.idle(looked && !outbox.watch ? poll : worker.pollMs);
          poll = Math.min(poll * 2, worker.pollMs);
        }
      } catch (error) {
        if (this.storeAnswered || errorBackoff === 0)
          logger.warn({ err: error }, 'outbox unreachable; retrying');
        this.storeAnswered = false;
        errorBackoff = Math.min(Math.max(errorBackoff * 2, worker.pollMs), MAX_ERROR_BACKOFF_MS);
        await this.idle(errorBackoff);
      }
    }
  }

  private answered(): void {
    if (!this.storeAnswered) this.options.logger.info({ owner: this.owner }, 'outbox reachable');
    this.storeAnswered = true;
  }

  /** Runs one claimed delivery's attempt, which records its outcome (DeliveryLanes.send). */
  private send(delivery: Delivery, answered: () => void, recorded: () => void): void {
    const work = traceDelivery(delivery, (headers) =>
      this.attempts.run(delivery, headers, answered),
    ).then(
      () => undefined,
      () => undefined,
    );
    this.work.add(work);
    void work.then(() => {
      this.work.delete(work);
      recorded();
    });
  }

  /** Waits `ms`, or less when a delivery finishes (a slot is free, a user may be unblocked). */
  private idle(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.nudged) {
      this.nudged = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** The outbox says events were written: wake the loop now, or skip its next idle if busy. */
  private nudge(): void {
    if (this.wake) this.wake();
    else this.nudged = true;
  }
}
