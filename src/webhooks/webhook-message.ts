import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { UserEvent } from '../users/user-events.ts';

/**
 * The JSON body of a webhook, in the Standard Webhooks payload shape (`type`, `timestamp`,
 * `data`) plus the event's id and sequence:
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
export function webhookBody(event: UserEvent): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    timestamp: event.occurredAt,
    sequence: event.sequence,
    data: { userId: event.userId, before: event.before, after: event.after },
  });
}

/** Each configured secret's key, decoded once rather than for every webhook it signs. */
const keys = new Map<string, KeyObject>();

function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret.slice('whsec_'.length), 'base64'));
    keys.set(secret, key);
  }
  return key;
}

/** `v1,<base64 HMAC-SHA256>` of `<id>.<timestamp>.<body>`, keyed with the secret's bytes. */
export function signature(secret: string, signedContent: string): string {
  return `v1,${createHmac('sha256', keyOf(secret)).update(signedContent).digest('base64')}`;
}

/**
 * The three Standard Webhooks headers for one attempt. The timestamp is the attempt's (receivers
 * reject old ones against replays); the id stays the event's across attempts (receivers
 * de-duplicate on it). Every secret signs, space-separated, so a receiver may rotate its secret
 * while both are configured here.
 */
export function webhookHeaders(message: {
  id: string;
  body: string;
  secrets: readonly string[];
  at: Date;
}): Record<string, string> {
  const timestamp = String(Math.floor(message.at.getTime() / 1000));
  const signedContent = `${message.id}.${timestamp}.${message.body}`;
  return {
    'webhook-id': message.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': message.secrets.map((s) => signature(s, signedContent)).join(' '),
  };
}

/**
 * How an endpoint appears in logs and metric labels: origin and path, never the credentials or
 * query string a URL may carry.
 */
export function endpointLabel(url: string): string {
  const parsed = URL.parse(url);
  return parsed ? `${parsed.origin}${parsed.pathname}` : 'invalid-url';
}
