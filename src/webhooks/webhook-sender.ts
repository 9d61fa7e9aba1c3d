import { clipError } from '../users/outbox.ts';
import { webhookHeaders } from './webhook-message.ts';

export interface WebhookRequest {
  url: string;
  /** The event id: `webhook-id`. */
  id: string;
  body: string;
  secrets: readonly string[];
  timeoutMs: number;
  at: Date;
  /** More headers: the W3C `traceparent` of the attempt's span when tracing is on. */
  headers?: Readonly<Record<string, string>> | undefined;
}

export interface AttemptResult {
  /** A 2xx answer: the receiver has the event. */
  ok: boolean;
  status?: number | undefined;
  /** Why the attempt failed, short enough to store. */
  error?: string | undefined;
  /** From a `Retry-After` header (429, 503): wait at least this long. */
  retryAfterMs?: number | undefined;
}

export type SendWebhook = (request: WebhookRequest) => Promise<AttemptResult>;

const BODY_EXCERPT = 200;
/**
 * Most bytes of a response the worker reads, whatever the receiver sends: enough for the log's
 * excerpt and to drain a short answer so its connection returns to the pool. The rest is
 * cancelled (the connection is closed), so a receiver streaming without end costs this much.
 */
export const MAX_RESPONSE_BYTES = 4096;

/** Up to `limit` bytes of a body as text; cancels the rest of the stream. */
async function readCapped(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks).toString('utf8');
    const kept = value.subarray(0, limit - size);
    chunks.push(kept);
    size += kept.length;
  }
  await reader.cancel();
  return Buffer.concat(chunks).toString('utf8');
}

function retryAfterMs(header: string | null, now: Date): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string }) : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return cause ? `${message}: ${cause.code ?? cause.message ?? ''}` : message;
}

/**
 * One POST with fetch (undici keeps connections alive per origin). Redirects are not followed:
 * a moved endpoint is a configuration to fix, and following could send signed events elsewhere.
 * Never throws; every failure becomes a result the retry policy reads.
 */
export const postWebhook: SendWebhook = async (request) => {
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': '12factor-app-webhooks',
        ...request.headers,
        ...webhookHeaders(request),
      },
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    const answer = await readCapped(response.body, MAX_RESPONSE_BYTES);
    if (response.status >= 200 && response.status < 300) {
      return { ok: true, status: response.status };
    }
    const text = answer.slice(0, BODY_EXCERPT).replace(/\s+/g, ' ').trim();
    return {
      ok: false,
      status: response.status,
      error: clipError(`HTTP ${response.status}${text ? `: ${text}` : ''}`),
      retryAfterMs: retryAfterMs(response.headers.get('retry-after'), request.at),
    };
  } catch (error) {
    return { ok: false, error: clipError(describe(error)) };
  }
};
