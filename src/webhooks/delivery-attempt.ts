import type { WebhookSettings } from '../config/index.ts';
import type { Logger } from '../log/logger.ts';
import type { Delivery, Outbox } from '../users/outbox.ts';
import type { DeliveryMetrics } from './outbox-metrics.ts';
import { nextAttemptAt, type RetryPolicy } from './retry-policy.ts';
import { endpointLabel, webhookBody } from './webhook-message.ts';
import type { AttemptResult, SendWebhook } from './webhook-sender.ts';

export interface DeliveryAttemptsOptions {
  outbox: Outbox;
  webhooks: WebhookSettings;
  logger: Logger;
  metrics: DeliveryMetrics;
  /** The worker whose leases the outcomes settle. */
  owner: string;
  now: () => Date;
  send: SendWebhook;
  random?: (() => number) | undefined;
}

/**
 * A worker's attempts: POST one claimed delivery, record its outcome (delivered, retry at, dead)
 * in the outbox while the worker still holds its lease, and count it. A delivered webhook writes
 * no log line (a debug one at most); a failed or late one writes one, with the event and attempt.
 */
export class DeliveryAttempts {
  private readonly options: DeliveryAttemptsOptions;
  private readonly policy: RetryPolicy;
  private readonly labels = new Map<string, string>();

  constructor(options: DeliveryAttemptsOptions) {
    this.options = options;
    const { webhooks } = options;
    this.policy = {
      maxAttempts: webhooks.maxAttempts,
      maxAgeMs: webhooks.maxAgeMs,
      baseMs: webhooks.retryBaseMs,
      maxMs: webhooks.retryMaxMs,
    };
  }

  /** One attempt; `answered` is called once the endpoint answered (or the POST failed). */
  async run(
    delivery: Delivery,
    headers: Record<string, string>,
    answered: () => void,
  ): Promise<AttemptResult> {
    const { outbox, webhooks, metrics, logger, owner } = this.options;
    const { endpoint, event } = delivery;
    const label = this.labelOf(endpoint);
    const fields = () => ({
      eventId: event.id,
      sequence: event.sequence,
      endpoint: label,
      attempt: delivery.attempts,
    });
    const started = performance.now();
    const result = await this.options
      .send({
        url: endpoint,
        id: event.id,
        body: webhookBody(event),
        secrets: webhooks.secrets,
        timeoutMs: webhooks.timeoutMs,
        at: this.options.now(),
        headers,
      })
      .finally(answered);
    const seconds = (performance.now() - started) / 1000;
    const key = { endpoint, sequence: event.sequence };
    const now = this.options.now();
    try {
      if (result.ok) {
        metrics.attempt(label, 'delivered', seconds);
        metrics.delivered(label, (now.getTime() - Date.parse(event.occurredAt)) / 1000);
        const settled = await outbox.complete(key, { owner, now: now.toISOString() });
        if (!settled)
          logger.warn(fields(), 'delivered after the lease ended; another worker may repeat it');
        else if (logger.isLevelEnabled('debug'))
          logger.debug(
            { ...fields(), status: result.status, durationMs: seconds * 1000 },
            'webhook delivered',
          );
        return result;
      }
      const retryAt = nextAttemptAt(
        this.policy,
        {
          attempts: delivery.attempts,
          pendingSince: delivery.pendingSince,
          now,
          retryAfterMs: result.retryAfterMs,
        },
        this.options.random,
      );
      metrics.attempt(label, retryAt === undefined ? 'dead' : 'retry', seconds);
      await outbox.fail(key, { owner, error: result.error ?? 'failed', retryAt });
      if (retryAt === undefined)
        logger.error({ ...fields(), error: result.error }, 'webhook gave up: dead letter');
      else logger.warn({ ...fields(), error: result.error, retryAt }, 'webhook failed; will retry');
    } catch (error) {
      // The lease expires and another attempt follows: at least once, never lost.
      logger.error(
        { ...fields(), err: error },
        'could not record the webhook outcome; it will be retried',
      );
    }
    return result;
  }

  /** An endpoint's label (endpointLabel), worked out once per URL rather than per delivery. */
  private labelOf(endpoint: string): string {
    let label = this.labels.get(endpoint);
    if (label === undefined) this.labels.set(endpoint, (label = endpointLabel(endpoint)));
    return label;
  }
}
