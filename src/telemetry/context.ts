import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
} from '@opentelemetry/api';

/**
 * The trace context helpers the rest of the code uses. They go through OpenTelemetry's API only:
 * with tracing off no SDK, context manager or propagator is registered, so each is a few
 * property reads that find nothing.
 */

/**
 * pino's mixin: `trace_id` and `span_id` on every line written inside a span. A fresh object each
 * time: pino merges the line's own fields into it.
 */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** The active span's W3C `traceparent`, to store with an outbox event; null when none. */
export function currentTraceparent(): string | null {
  const carrier: { traceparent?: string } = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** A span link to the trace a stored `traceparent` names; none when it is absent or invalid. */
export function linksTo(traceparent: string | null | undefined): Link[] {
  if (!traceparent) return [];
  const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent }));
  return spanContext && trace.isSpanContextValid(spanContext) ? [{ context: spanContext }] : [];
}

/** The one tracer every module records its spans with. */
export const tracer = () => trace.getTracer('12factor-app');

/**
 * Runs `work` as a new trace's root span (a clock tick, an admin command): a failure marks the
 * span an error and is rethrown. With tracing off the span is the API's no-op one.
 */
export function inRootSpan<T>(
  name: string,
  attributes: Attributes,
  work: () => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, ROOT_CONTEXT, async (span) => {
    try {
      return await work();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', (error as Error)?.name ?? 'Error');
      throw error;
    } finally {
      span.end();
    }
  });
}
