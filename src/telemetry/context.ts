import { randomFillSync } from 'node:crypto';
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

/** What the mixin gives a line that needs no ids: shared, never merged into (see below). */
const NO_FIELDS = Object.freeze({});

/**
 * pino's mixin: `trace_id` and `span_id` on every line written inside a span. A line that
 * already names its trace (the access line, from its request) or is written outside any span
 * gets NO_FIELDS, which traceLogMerge leaves out; otherwise a fresh object, as pino merges the
 * line's own fields into it.
 */
export function traceLogFields(line: object): { trace_id?: string; span_id?: string } {
  if ((line as { trace_id?: unknown }).trace_id !== undefined) return NO_FIELDS;
  const span = trace.getSpan(context.active());
  if (!span) return NO_FIELDS;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/**
 * pino's mixinMergeStrategy for traceLogFields: its default copies every field of each line into
 * the mixin's object, which for NO_FIELDS (most lines) is a copy for nothing.
 */
export function traceLogMerge(line: object, fields: object): object {
  return fields === NO_FIELDS ? line : Object.assign(fields, line);
}

/** The logger settings that put the active span's ids on each line (createLogger's). */
export const TRACE_LOG_FIELDS = Object.freeze({
  mixin: traceLogFields,
  mixinMergeStrategy: traceLogMerge,
});

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

/**
 * The API's proxy for the one tracer every module records its spans with: it finds the SDK's
 * tracer once the SDK is registered, and keeps it, where asking the provider each time looked
 * the tracer up by a key made anew on every span.
 */
const TRACER = trace.getTracer('12factor-app');
export const tracer = () => TRACER;

/** Whether a trace entering now may be recorded; the SDK sets it when it starts. */
let entryOpen: () => boolean = () => true;

export function gateEntries(gate: () => boolean): void {
  entryOpen = gate;
}

/**
 * Random bytes for the ids of unrecorded traces, drawn from crypto's generator a pool at a
 * time and turned into hex a pool at a time: one call per id was a system call a request, and
 * building the hex from Math.random (as the SDK does) cost a few µs a request in number-to-string
 * conversions and joins. Each id is then a slice of the pool's hex, which V8 makes without
 * copying: two Buffer#toString calls a request (argument checks, a call into C++ each) cost
 * 0.4-1.5 µs more than that in a loop of a million.
 */
const ID_POOL = Buffer.allocUnsafe(4096);
let poolHex = '';
let hexOffset = 0;

/** `bytes` random bytes as hex. */
function randomHex(bytes: number): string {
  const chars = bytes * 2;
  if (hexOffset + chars > poolHex.length) {
    randomFillSync(ID_POOL);
    poolHex = ID_POOL.toString('hex');
    hexOffset = 0;
  }
  const hex = poolHex.slice(hexOffset, hexOffset + chars);
  hexOffset += chars;
  return hex;
}

/**
 * Starts the span a request enters the process with. Past TRACES_MAX_PER_SECOND no span of the
 * SDK is made at all (its sampler would refuse it anyway), nor its options (`options` is called
 * only for a span the SDK makes): the caller's trace, or a new one, is continued by a
 * non-recording span of the API, whose ids are in the request's log lines and what it
 * propagates, and which costs the request next to nothing. The store calls under it make no
 * span either (see store-spans.ts).
 */
export function startEntrySpan(name: string, options: () => SpanOptions, parent: Context): Span {
  if (entryOpen()) return tracer().startSpan(name, options(), parent);
  const caller = trace.getSpanContext(parent);
  const continued = caller !== undefined && trace.isSpanContextValid(caller);
  return trace.wrapSpanContext({
    traceId: continued ? caller.traceId : randomHex(16),
    spanId: randomHex(8),
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
