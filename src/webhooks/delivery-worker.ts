import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { WebhookSettings, WorkerSettings } from '../config/index.ts';
import type { Logger } from '../log/logger.ts';
import type { Delivery, Outbox } from '../users/outbox.ts';
import type { DeliveryMetrics } from './outbox-metrics.ts';
import { DeliveryAttempts } from './delivery-attempt.ts';
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
 * (the claim's per-user order), and at most `2 × worker.concurrency` deliveries per URL are
 * claimed and not yet recorded. `stop()` stops claiming and waits for those.
 */
export class DeliveryWorker {
  readonly owner: string;
  private readonly options: DeliveryWorkerOptions;
  private readonly now: () => Date;
  private readonly attempts: DeliveryAttempts;
  /** Per URL, how many webhooks' answers have not come yet: the slots `worker.concurrency` bounds. */
  private readonly sending = new Map<string, number>();
  /** Per URL, the claimed deliveries whose outcome is not recorded yet (in flight included). */
  private readonly held = new Map<string, Set<Promise<void>>>();
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
    for (const url of options.webhooks.urls) {
      this.sending.set(url, 0);
      this.held.set(url, new Set());
    }
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
    await Promise.all([...this.held.values()].flatMap((set) => [...set]));
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
          const free = this.room(endpoint);
          if (free <= 0) continue;
          looked = true;
          const batch = await outbox.claim({
            endpoint,
            owner: this.owner,
            limit: free,
            now: this.now().toISOString(),
            leaseMs: worker.leaseMs,
          });
          claimed += batch.length;
          for (const delivery of batch) this.dispatch(delivery);
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

  /** How many more deliveries to `endpoint` may be claimed now. */
  private room(endpoint: string): number {
    const { concurrency } = this.options.worker;
    return Math.min(
      concurrency - this.sending.get(endpoint)!,
      2 * concurrency - this.held.get(endpoint)!.size,
    );
  }

  /**
   * Sends one claimed delivery and records its outcome. Its slot is freed when the answer came
   * (or the attempt failed), its hold when the outcome is recorded; either wakes the loop once
   * half the URL's room is free: at once when few webhooks are in flight (a user's next event
   * follows without waiting for the poll), in batches under load, so each claim takes several
   * deliveries instead of one. A turn costs a fan-out and a claim whatever their size, and the
   * claim walks past the deliveries in flight: woken at a quarter, with changes at 2,000 a
   * second on SQLite, the workers claimed 16 at a time and fell seconds behind (lag p99 5.2 and
   * 12.7 s in two runs); woken at half, they claimed 32 and kept up (0.5 and 1.1 s).
   */
  private dispatch(delivery: Delivery): void {
    const { endpoint } = delivery;
    const held = this.held.get(endpoint)!;
    const wakeIfRoom = () => {
      if (this.room(endpoint) >= Math.ceil(this.options.worker.concurrency / 2)) this.wake?.();
    };
    this.sending.set(endpoint, this.sending.get(endpoint)! + 1);
    let sending = true;
    const answered = () => {
      if (!sending) return;
      sending = false;
      this.sending.set(endpoint, this.sending.get(endpoint)! - 1);
      wakeIfRoom();
    };
    const work = traceDelivery(delivery, (headers) =>
      this.attempts.run(delivery, headers, answered),
    ).then(
      () => undefined,
      () => undefined,
    );
    held.add(work);
    void work.then(() => {
      // The attempt frees the slot itself; this covers one that threw before it did.
      answered();
      held.delete(work);
      wakeIfRoom();
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
