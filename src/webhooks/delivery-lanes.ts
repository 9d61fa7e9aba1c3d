import type { Logger } from '../log/logger.ts';
import type { Delivery } from '../users/outbox.ts';

/** One URL's deliveries in a worker, claimed and not yet recorded. */
interface Lane {
  /** Webhooks whose answers have not come yet: the slots `concurrency` bounds. */
  sending: number;
  /** Claimed deliveries waiting for a slot, with the time their lease ends. */
  waiting: { delivery: Delivery; leaseEnds: number }[];
  /** Claimed deliveries whose outcome is not recorded yet (waiting and sending included). */
  held: number;
}

export interface DeliveryLanesOptions {
  urls: readonly string[];
  /** Webhooks in flight per URL. */
  concurrency: number;
  /** How many more than the free slots a claim may take (DeliveryWorker's look-ahead). */
  lookAhead: number;
  /** WEBHOOK_TIMEOUT_MS: a waiting delivery goes only while its lease outlasts two. */
  timeoutMs: number;
  now: () => Date;
  logger: Logger;
  /**
   * Starts a delivery's attempt, which calls `answered` when its slot is free (the answer came,
   * or the attempt failed) and `recorded` once its outcome is stored.
   */
  send: (delivery: Delivery, answered: () => void, recorded: () => void) => void;
  /** Half a URL's room is free: time for the worker's loop to claim. */
  roomy: () => void;
}

/**
 * A worker's deliveries per URL, claimed and not yet recorded: how many are in flight, which
 * wait for a slot, and how many more a claim may take. At most `concurrency + lookAhead` per URL
 * are claimed and not yet sent, and `2 × concurrency + lookAhead` not yet recorded.
 */
export class DeliveryLanes {
  private readonly options: DeliveryLanesOptions;
  private readonly lanes = new Map<string, Lane>();

  constructor(options: DeliveryLanesOptions) {
    this.options = options;
    for (const url of options.urls) this.lanes.set(url, { sending: 0, waiting: [], held: 0 });
  }

  /** How many more deliveries to `endpoint` may be claimed now. */
  room(endpoint: string): number {
    const { concurrency, lookAhead } = this.options;
    const lane = this.lanes.get(endpoint)!;
    const unsent = lane.sending + lane.waiting.length;
    return Math.min(concurrency + lookAhead - unsent, 2 * concurrency + lookAhead - lane.held);
  }

  /** A claimed delivery: sent now if a slot is free, else when one frees. */
  take(delivery: Delivery, leaseEnds: number): void {
    const lane = this.lanes.get(delivery.endpoint)!;
    lane.held++;
    if (lane.sending < this.options.concurrency) this.dispatch(delivery);
    else lane.waiting.push({ delivery, leaseEnds });
  }

  /** Wakes the loop once half the URL's room is free (see dispatch). */
  private wakeIfRoom(endpoint: string): void {
    const { concurrency, lookAhead } = this.options;
    if (this.room(endpoint) >= Math.ceil((concurrency + lookAhead) / 2)) this.options.roomy();
  }

  /**
   * A slot to `endpoint` is free: the next waiting delivery whose lease still outlasts an
   * attempt and its recording goes; one whose lease does not is let go (its lease runs out,
   * and a later claim takes it).
   */
  private next(endpoint: string): void {
    const lane = this.lanes.get(endpoint)!;
    const { timeoutMs, now, logger } = this.options;
    for (let entry = lane.waiting.shift(); entry; entry = lane.waiting.shift()) {
      if (entry.leaseEnds - now().getTime() >= 2 * timeoutMs) return this.dispatch(entry.delivery);
      logger.warn(
        { eventId: entry.delivery.event.id, sequence: entry.delivery.event.sequence },
        'a claimed webhook waited too long for a slot; another claim will send it',
      );
      lane.held--;
    }
    this.wakeIfRoom(endpoint);
  }

  /**
   * Sends one claimed delivery. Its slot is freed when the answer came (or the attempt failed):
   * a waiting delivery takes it, or the loop is woken once half the URL's room is free: at once
   * when few webhooks are in flight (a user's next event follows without waiting for the poll),
   * in batches under load, so each claim takes several deliveries instead of one. Its hold ends
   * when the outcome is recorded. A turn costs a fan-out and a claim whatever their size, and
   * the claim walks past the deliveries in flight: woken at a quarter, with changes at 2,000 a
   * second on SQLite, the workers claimed 16 at a time and fell seconds behind (lag p99 5.2 and
   * 12.7 s in two runs); woken at half, they claimed 32 and kept up (0.5 and 1.1 s).
   */
  private dispatch(delivery: Delivery): void {
    const { endpoint } = delivery;
    const lane = this.lanes.get(endpoint)!;
    lane.sending++;
    let sending = true;
    const answered = () => {
      if (!sending) return;
      sending = false;
      lane.sending--;
      this.next(endpoint);
    };
    this.options.send(delivery, answered, () => {
      // The attempt frees the slot itself; this covers one that threw before it did.
      answered();
      lane.held--;
      this.wakeIfRoom(endpoint);
    });
  }
}
