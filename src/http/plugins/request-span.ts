import type { Context, Span } from '@opentelemetry/api';
import type { FastifyRequest } from 'fastify';

export const SPAN = Symbol('request span');
export const CONTEXT = Symbol('request trace context');

/** The ids of a request's span, for its access line; none when tracing is off. */
export function traceFieldsOf(
  request: FastifyRequest,
): { trace_id: string; span_id: string } | undefined {
  const span = request[SPAN];
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

declare module 'fastify' {
  interface FastifyRequest {
    [SPAN]: Span | undefined;
    [CONTEXT]: Context | undefined;
  }
}
