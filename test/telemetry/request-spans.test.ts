import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOnSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import Fastify from 'fastify';
import { tracing } from '../../src/http/plugins/tracing.ts';
import { traceIdsOf } from '../../src/http/plugins/request-span.ts';
import { currentTraceparent, gateEntries } from '../../src/telemetry/context.ts';

/** What a route's handler sees of the trace it runs in, next to the ids its access line gets. */
async function tracedApp() {
  const app = Fastify();
  tracing(app);
  const seen = async (request: Parameters<typeof traceIdsOf>[0]) => {
    // Past an await, as a store call's answer is.
    await Promise.resolve();
    const active = trace.getSpan(context.active());
    return {
      request: traceIdsOf(request),
      active: active?.spanContext(),
      recording: active?.isRecording() ?? false,
      traceparent: currentTraceparent(),
    };
  };
  app.get('/probe', seen);
  app.post('/probe', seen);
  await app.ready();
  return app;
}

const CALLER = { trace: '0af7651916cd43dd8448eb211c80319c', span: 'b7ad6b7169203331' };

describe('telemetry request spans', () => {
  const provider = new TracerProvider({ sampler: new AlwaysOnSampler() });
  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
  });
  after(async () => {
    gateEntries(() => true);
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  test('past the trace bound a read runs in no trace context, its ids still the request’s', async (t) => {
    gateEntries(() => false);
    const app = await tracedApp();
    t.after(() => app.close());
    const response = await app.inject({
      method: 'GET',
      url: '/probe',
      headers: { traceparent: `00-${CALLER.trace}-${CALLER.span}-01` },
    });
    const seen = response.json();
    assert.equal(
      seen.request.traceId,
      CALLER.trace,
      'the access line still names the caller’s trace',
    );
    assert.equal(seen.active, undefined, 'the handler runs outside any span');
    assert.equal(seen.traceparent, null);
  });

  test('past the trace bound a write runs in its unrecorded span, so its event keeps the trace', async (t) => {
    gateEntries(() => false);
    const app = await tracedApp();
    t.after(() => app.close());
    const response = await app.inject({
      method: 'POST',
      url: '/probe',
      headers: { traceparent: `00-${CALLER.trace}-${CALLER.span}-01` },
    });
    const seen = response.json();
    assert.equal(seen.recording, false);
    assert.deepEqual(seen.active, seen.request, 'the handler’s span is the request’s');
    assert.equal(seen.request.traceId, CALLER.trace);
    assert.equal(
      seen.traceparent,
      `00-${CALLER.trace}-${seen.request.spanId}-0${TraceFlags.NONE}`,
      'an outbox event would store the unrecorded trace, continued',
    );
  });

  test('within the trace bound a read runs in its recording span', async (t) => {
    gateEntries(() => true);
    const app = await tracedApp();
    t.after(() => app.close());
    const seen = (await app.inject({ method: 'GET', url: '/probe' })).json();
    assert.equal(seen.recording, true, 'its store calls become the span’s children');
    assert.deepEqual(seen.active, seen.request);
  });
});
