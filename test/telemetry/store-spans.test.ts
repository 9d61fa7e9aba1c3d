import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { tracedCall } from '../../src/telemetry/store-spans.ts';

describe('telemetry store spans', () => {
  const manager = new AsyncLocalStorageContextManager();
  before(() => context.setGlobalContextManager(manager.enable()));
  after(() => context.disable());

  for (const failure of [null, undefined, 'a bare string']) {
    test(`a store call that rejects with ${String(failure)} is rejected with it unchanged`, async () => {
      const call = tracedCall('sqlite', (_operation, run) => run());
      // Inside a trace, so the call gets a span of its own.
      const parent = trace.wrapSpanContext({
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.SAMPLED,
      });
      const outcome = context.with(trace.setSpan(context.active(), parent), () =>
        call('create', () => Promise.reject(failure)),
      );
      await assert.rejects(outcome, (error: unknown) => error === failure);
    });
  }
});
