import type { Readable } from 'node:stream';
import { Agent, request as undiciRequest } from 'undici';
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

/**
 * The process's connections to receivers: a pool per origin (undici's Agent), each connection
 * kept alive between webhooks, so a worker delivering a stream of events to one URL reuses a
 * few connections instead of opening one per event. No pipelining: a POST is not idempotent,
 * and a request queued behind a slow one on the same connection would wait out its timeout.
 */
const receivers = new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 });

/** Up to `limit` bytes of a body as text; the rest is not read (the stream is destroyed). */
async function readCapped(body: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const kept = chunk.subarray(0, limit - size);
    chunks.push(kept);
    size += kept.length;
    if (size >= limit) break;
  }
  // Leaving the loop early destroys the stream, and undici closes its connection.
  return Buffer.concat(chunks).toString('utf8');
}

function retryAfterMs(header: string | string[] | undefined, now: Date): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  // undici's own errors name themselves by code (UND_ERR_SOCKET: "other side closed").
  return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
}

/**
 * One POST through the process's keep-alive pools (undici's `request`, which skips fetch's
 * WHATWG Request, Response, Headers and stream objects). Redirects are not followed: a moved
 * endpoint is a configuration to fix, and following could send signed events elsewhere. Never
 * throws; every failure becomes a result the retry policy reads.
 */
export const postWebhook: SendWebhook = async (request) => {
  try {
    const response = await undiciRequest(request.url, {
      method: 'POST',
      dispatcher: receivers,
      headers: {
        'content-type': 'application/json',
        'user-agent': '12factor-app-webhooks',
        ...request.headers,
        ...webhookHeaders(request),
      },
      body: request.body,
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    const status = response.statusCode;
    if (status >= 200 && status < 300) {
      // Read (up to the cap) so the connection goes back to its pool.
      await response.body.dump({ limit: MAX_RESPONSE_BYTES });
      return { ok: true, status };
    }
    const answer = await readCapped(response.body, MAX_RESPONSE_BYTES);
    const text = answer.slice(0, BODY_EXCERPT).replace(/\s+/g, ' ').trim();
    return {
      ok: false,
      status,
      error: clipError(`HTTP ${status}${text ? `: ${text}` : ''}`),
      retryAfterMs: retryAfterMs(response.headers['retry-after'], request.at),
    };
  } catch (error) {
    return { ok: false, error: clipError(describe(error)) };
  }
};
