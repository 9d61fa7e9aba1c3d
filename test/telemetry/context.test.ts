import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AlwaysOnSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { createLogger } from '../../src/log/logger.ts';
import { gateEntries, TRACE_LOG_FIELDS, unrecordedEntry } from '../../src/telemetry/context.ts';

/** A logger as a traced process makes it, writing its JSON lines to `lines`. */
function tracedLogger(lines: Record<string, unknown>[]) {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return createLogger({ level: 'info', pretty: false, destination, ...TRACE_LOG_FIELDS });
}

const HEX = { trace: /^[0-9a-f]{32}$/, span: /^[0-9a-f]{16}$/ };

describe('telemetry trace context', () => {
  const provider = new TracerProvider({ sampler: new AlwaysOnSampler() });
  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
  });
  after(async () => {
    gateEntries(() => true);
    await provider.shutdown();
    trace.disable();
    context.disable();
  });

  test('a log line inside a span carries its ids, one outside none, and a line naming its own trace keeps it', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = tracedLogger(lines);
    const span = provider.getTracer('test').startSpan('work');
    const { traceId, spanId } = span.spanContext();
    context.with(trace.setSpan(ROOT_CONTEXT, span), () => {
      logger.info({ step: 1 }, 'inside');
      logger.info({ trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) }, 'its own');
    });
    logger.info({ step: 2 }, 'outside');
    span.end();

    const [inside, own, outside] = lines;
    assert.equal(inside!.trace_id, traceId);
    assert.equal(inside!.span_id, spanId);
    assert.equal(inside!.step, 1, 'the line keeps its own fields');
    assert.equal(own!.trace_id, 'a'.repeat(32));
    assert.equal(own!.span_id, 'b'.repeat(16));
    assert.ok(!('trace_id' in outside!) && !('span_id' in outside!), JSON.stringify(outside));
    assert.equal(outside!.step, 2);
  });

  test('past the trace bound a request gets valid, distinct ids and no SDK span, continuing its caller’s trace', () => {
    gateEntries(() => false);
    const traces = new Set<string>();
    const spans = new Set<string>();
    // Several times the ids one refill of the pool holds.
    for (let i = 0; i < 2000; i++) {
      const span = unrecordedEntry(ROOT_CONTEXT)!;
      const { traceId, spanId, traceFlags } = span.spanContext();
      assert.match(traceId, HEX.trace);
      assert.match(spanId, HEX.span);
      assert.equal(traceFlags, TraceFlags.NONE);
      assert.equal(span.isRecording(), false);
      traces.add(traceId);
      spans.add(spanId);
    }
    assert.equal(traces.size, 2000, 'each new trace has an id of its own');
    assert.equal(spans.size, 2000);

    const caller = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    const continued = unrecordedEntry(caller)!.spanContext();
    assert.equal(continued.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.match(continued.spanId, HEX.span);
    assert.notEqual(continued.spanId, 'b7ad6b7169203331');
  });

  test('within the trace bound a request gets no unrecorded span, so the SDK makes its span', () => {
    gateEntries(() => true);
    assert.equal(unrecordedEntry(ROOT_CONTEXT), undefined);
  });
});
