import { Cron } from 'croner';
import type { ConfigProblem } from './config.ts';
import type { ScalarValues, VariableName } from './variables.ts';

export interface WebhookSettings {
  /** Every event goes to each of these, in order per user. Empty: the worker idles. */
  readonly urls: readonly string[];
  /** `whsec_…` secrets; each signs every webhook (several during a rotation). */
  readonly secrets: readonly string[];
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly maxAgeMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

export interface WorkerSettings {
  readonly port: number;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly pollMs: number;
}

export interface ClockSettings {
  readonly port: number;
  readonly purgeCron: string;
  readonly reportCron: string;
  readonly retentionMs: number;
}

const list = (raw: unknown) =>
  String(raw ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);

// Standard Webhooks: a secret is 24 to 64 random bytes, base64, prefixed `whsec_`.
// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

function checkSecret(secret: string): boolean {
  const base64 = SECRET.exec(secret)?.[1];
  if (base64 === undefined) return false;
  const bytes = Buffer.from(base64, 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

function checkCron(name: string, pattern: string, problems: ConfigProblem[]): void {
  try {
    new Cron(pattern, { timezone: 'UTC' });
  } catch (error) {
    problems.push({
      variable: name,
      message: `is not a cron expression (${error instanceof Error ? error.message : String(error)})`,
    });
  }
}

/**
 * The settings of the transactional outbox's two process types (docs/adr/0005-transactional-outbox.md), from values already
 * parsed by type; adds a problem for each rule spanning several variables.
 */
export function parseEventSettings(
  values: ScalarValues,
  problems: ConfigProblem[],
): { webhooks: WebhookSettings; worker: WorkerSettings; clock: ClockSettings } {
  const get = <T>(name: VariableName) => values.get(name) as T;
  const urls = list(values.get('WEBHOOK_URLS'));
  for (const url of urls) {
    const parsed = URL.parse(url);
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || !parsed.hostname) {
      // The value is never echoed: a URL may carry a token.
      problems.push({
        variable: 'WEBHOOK_URLS',
        message: 'has an entry that is not an http(s) URL',
      });
    }
  }
  if (new Set(urls).size !== urls.length) {
    problems.push({ variable: 'WEBHOOK_URLS', message: 'names one URL twice' });
  }
  const secrets = list(values.get('WEBHOOK_SECRET'));
  if (secrets.some((secret) => !checkSecret(secret))) {
    problems.push({
      variable: 'WEBHOOK_SECRET',
      message: 'must be whsec_ followed by 24 to 64 bytes in base64',
    });
  }
  if (urls.length > 0 && secrets.length === 0) {
    problems.push({ variable: 'WEBHOOK_SECRET', message: 'is needed when WEBHOOK_URLS is set' });
  }
  const timeoutMs = get<number>('WEBHOOK_TIMEOUT_MS');
  const leaseMs = get<number>('WORKER_LEASE_MS');
  // A lease shorter than an attempt would hand a delivery still in flight to another worker.
  if (leaseMs !== undefined && timeoutMs !== undefined && leaseMs <= timeoutMs) {
    problems.push({ variable: 'WORKER_LEASE_MS', message: 'must exceed WEBHOOK_TIMEOUT_MS' });
  }
  const retryBaseMs = get<number>('WEBHOOK_RETRY_BASE_MS');
  const retryMaxMs = get<number>('WEBHOOK_RETRY_MAX_MS');
  if (retryBaseMs > retryMaxMs) {
    problems.push({
      variable: 'WEBHOOK_RETRY_MAX_MS',
      message: 'must be at least WEBHOOK_RETRY_BASE_MS',
    });
  }
  const purgeCron = get<string>('CLOCK_PURGE_CRON');
  const reportCron = get<string>('CLOCK_REPORT_CRON');
  checkCron('CLOCK_PURGE_CRON', purgeCron, problems);
  checkCron('CLOCK_REPORT_CRON', reportCron, problems);
  return {
    webhooks: Object.freeze({
      urls: Object.freeze(urls),
      secrets: Object.freeze(secrets),
      timeoutMs,
      maxAttempts: get<number>('WEBHOOK_MAX_ATTEMPTS'),
      maxAgeMs: get<number>('WEBHOOK_MAX_AGE_MS'),
      retryBaseMs,
      retryMaxMs,
    }),
    worker: Object.freeze({
      port: get<number>('WORKER_PORT'),
      concurrency: get<number>('WORKER_CONCURRENCY'),
      leaseMs,
      pollMs: get<number>('WORKER_POLL_MS'),
    }),
    clock: Object.freeze({
      port: get<number>('CLOCK_PORT'),
      purgeCron,
      reportCron,
      retentionMs: get<number>('EVENT_RETENTION_MS'),
    }),
  };
}
