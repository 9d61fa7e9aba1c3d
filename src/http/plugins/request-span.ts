import type { Context, Span, SpanContext } from '@opentelemetry/api';
import type { FastifyRequest } from 'fastify';

export const SPAN = Symbol('request span');
export const CONTEXT = Symbol('request trace context');

/** The ids of a request's span, for its access line; none when tracing is off. */
export function traceIdsOf(request: FastifyRequest): SpanContext | undefined {
  return request[SPAN]?.spanContext();
}

declare module 'fastify' {
  interface FastifyRequest {
    [SPAN]: Span | undefined;
    [CONTEXT]: Context | undefined;
  }
}
