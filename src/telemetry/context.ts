import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanOptions,
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

/** Whether a trace entering now may be recorded; the SDK sets it when it starts. */
let entryOpen: () => boolean = () => true;

export function gateEntries(gate: () => boolean): void {
  entryOpen = gate;
}

/**
 * `chars` random hex characters, from Math.random as the SDK's own id generator does: these ids
 * only name an unrecorded trace in log lines, and crypto's generator costs a system call each.
 */
function randomHex(chars: number): string {
  let hex = '';
  while (hex.length < chars) hex += ((Math.random() * 2 ** 32) >>> 0).toString(16).padStart(8, '0');
  return hex;
}

/**
 * Starts the span a request enters the process with. Past TRACES_MAX_PER_SECOND no span of the
 * SDK is made at all (its sampler would refuse it anyway): the caller's trace, or a new one, is
 * continued by a non-recording span of the API, whose ids are in the request's log lines and
 * what it propagates, and which costs the request next to nothing. The store calls under it
 * make no span either (see store-spans.ts).
 */
export function startEntrySpan(name: string, options: SpanOptions, parent: Context): Span {
  if (entryOpen()) return tracer().startSpan(name, options, parent);
  const caller = trace.getSpanContext(parent);
  const continued = caller !== undefined && trace.isSpanContextValid(caller);
  return trace.wrapSpanContext({
    traceId: continued ? caller.traceId : randomHex(32),
    spanId: randomHex(16),
    traceFlags: TraceFlags.NONE,
    ...(continued && caller.traceState && { traceState: caller.traceState }),
  });
}

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
