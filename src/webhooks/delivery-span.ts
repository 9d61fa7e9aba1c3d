import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import { linksTo, tracer } from '../telemetry/context.ts';
import type { Delivery } from '../users/outbox.ts';
import type { AttemptResult } from './webhook-sender.ts';

/** Each endpoint's host and scheme, parsed once per URL rather than per delivery. */
const endpoints = new Map<string, { host: string; scheme: string }>();

function endpointOf(endpoint: string): { host: string; scheme: string } {
  let found = endpoints.get(endpoint);
  if (!found) {
    const url = URL.parse(endpoint);
    found = { host: url?.hostname ?? '', scheme: url?.protocol.replace(':', '') ?? '' };
    endpoints.set(endpoint, found);
  }
  return found;
}

/**
 * One delivery attempt as a client span. Delivery happens long after the request that made the
 * change, so the span starts a trace of its own and LINKS to that request's (OpenTelemetry's
 * advice for asynchronous work); the webhook carries this span's `traceparent`, so a receiver
 * continues this trace. Only the endpoint's host is recorded: its URL may carry a token.
 */
export function traceDelivery(
  delivery: Delivery,
  attempt: (headers: Record<string, string>) => Promise<AttemptResult>,
): Promise<AttemptResult> {
  const { event, endpoint } = delivery;
  const { host, scheme } = endpointOf(endpoint);
  return tracer().startActiveSpan(
    `webhook ${event.type}`,
    {
      kind: SpanKind.CLIENT,
      links: linksTo(event.traceparent),
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: 'POST',
        [ATTR_SERVER_ADDRESS]: host,
        [ATTR_URL_SCHEME]: scheme,
        'messaging.message.id': event.id,
        'webhook.attempt': delivery.attempts,
        'webhook.event.sequence': event.sequence,
      },
    },
    ROOT_CONTEXT,
    async (span) => {
      const headers: Record<string, string> = {};
      propagation.inject(context.active(), headers);
      try {
        const result = await attempt(headers);
        if (result.status !== undefined) {
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, result.status);
        }
        if (!result.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: result.error ?? '' });
        return result;
      } finally {
        span.end();
      }
    },
  );
}
