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
  type SpanContext,
  type TraceState,
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
 * time: one call per id was a system call a request, and building the hex from Math.random (as
 * the SDK does) cost a few µs a request in number-to-string conversions and joins. Each id is a
 * slice of a short run of the pool turned into hex at once, which V8 makes without copying: two
 * Buffer#toString calls a request (argument checks, a call into C++ each) cost 0.4-1.5 µs more
 * than that in a loop of a million. The runs are short because a slice keeps its whole run
 * alive: the 8 KiB hex of a whole pool, kept by any one id that outlived a young-generation
 * collection (a request in flight across two), was moved to the old generation with it: 8 KiB
 * of old-generation garbage for one id of 24 bytes; now a run of 480 characters.
 */
const ID_POOL = Buffer.allocUnsafe(4096);
/** The bytes turned into hex at once: the ids of ten requests. */
const RUN_BYTES = 240;
let poolOffset = ID_POOL.length;
let runHex = '';
let hexOffset = 0;

/** `bytes` random bytes as hex. */
function randomHex(bytes: number): string {
  const chars = bytes * 2;
  if (hexOffset + chars > runHex.length) {
    if (poolOffset + RUN_BYTES > ID_POOL.length) {
      randomFillSync(ID_POOL);
      poolOffset = 0;
    }
    runHex = ID_POOL.toString('hex', poolOffset, poolOffset + RUN_BYTES);
    poolOffset += RUN_BYTES;
    hexOffset = 0;
  }
  const hex = runHex.slice(hexOffset, hexOffset + chars);
  hexOffset += chars;
  return hex;
}

/**
 * The span a request enters the process with when no trace may be recorded now (past
 * TRACES_MAX_PER_SECOND); undefined when one may, and the caller starts the SDK's span. Past the
 * bound no span of the SDK is made at all (its sampler would refuse it anyway), nor its options:
 * the caller's trace, or a new one, is continued by a non-recording span of the API, whose ids
 * are in the request's log lines and what it propagates, and which costs the request next to
 * nothing. The store calls under it make no span either (see store-spans.ts).
 */
export function unrecordedEntry(parent: Context): Span | undefined {
  if (entryOpen()) return undefined;
  const caller = trace.getSpanContext(parent);
  return trace.wrapSpanContext(
    caller !== undefined && trace.isSpanContextValid(caller)
      ? new UnrecordedContext(caller.traceId, caller.traceState)
      : new UnrecordedContext(randomHex(16), undefined),
  );
}

/**
 * An unrecorded span's context, made by a constructor rather than an object literal: V8 moved
 * such a literal's allocation site to the old generation once its objects had outlived young
 * collections (as they do while a request is in flight), so each request's context was
 * allocated there and, until the next full collection, kept its ids alive through young
 * collections too (old-to-young references are roots of those): in a profiled traced process
 * every context and id reached the old generation, and a run of GETs had 12.4 full collections
 * per 100,000 requests against 8.2 untraced; 9.2 with this class.
 */
class UnrecordedContext implements SpanContext {
  readonly traceId: string;
  readonly spanId = randomHex(8);
  readonly traceFlags = TraceFlags.NONE;
  readonly traceState: TraceState | undefined;

  constructor(traceId: string, traceState: TraceState | undefined) {
    this.traceId = traceId;
    this.traceState = traceState;
  }
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
