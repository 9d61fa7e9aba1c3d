import assert from 'node:assert/strict';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createStore } from '../../src/store/index.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';
import { newUser } from './contract-support.ts';

// This file's own process: the SDK is registered globally here, as a traced process does.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const tracer = new TracerProvider().getTracer('test');

const OPTIONS = { poolMax: 2, connectTimeoutMs: 2000, statementTimeoutMs: 5000 };

type Opener = (t: TestContext) => Promise<UserStore>;
const openers: [string, Opener][] = [
  [
    'sqlite',
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), '12f-trace-store-'));
      const store = await createStore({ url: `sqlite:${join(dir, 'app.db')}`, ...OPTIONS });
      t.after(async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return store;
    },
  ],
];
if ((await postgresAvailability()).reachable) {
  openers.push([
    'postgres',
    async (t) => {
      const database = await createTestDatabase();
      const store = await createStore({ url: database.url, ...OPTIONS });
      t.after(async () => {
        await store.close();
        await database.drop();
      });
      return store;
    },
  ]);
}

for (const [kind, open] of openers) {
  describe(`store event trace context (${kind})`, () => {
    test('a change made inside a span keeps that span’s traceparent with its event; one outside none', async (t) => {
      const store = await open(t);
      await store.migrate();
      const { traceparent, userId } = await tracer.startActiveSpan('request', async (span) => {
        const user = await store.create(newUser(1, { name: 'traced' }));
        // Each kind of write records its event by its own statement on some engines.
        await store.update(user.id, { name: 'traced again' }, { now: new Date().toISOString() });
        await store.remove(user.id);
        span.end();
        const { traceId, spanId } = span.spanContext();
        return { traceparent: `00-${traceId}-${spanId}-01`, userId: user.id };
      });
      const untraced = await store.create(newUser(2, { name: 'untraced' }));
      const events = (await store.outbox.list({ limit: 10 })).map((l) => l.event);
      const traced = events.filter((e) => e.userId === userId);
      assert.deepEqual(
        traced.map((e) => [e.type, e.traceparent]),
        [
          ['user.created', traceparent],
          ['user.updated', traceparent],
          ['user.deleted', traceparent],
        ],
      );
      const other = events.find((e) => e.userId === untraced.id);
      assert.ok(other);
      assert.equal('traceparent' in other, false, 'an untraced event has no traceparent at all');
      assert.equal(trace.getActiveSpan(), undefined);
    });

    test('rolling the trace-context migration back and forth keeps the outbox readable', async (t) => {
      const store = await open(t);
      await store.migrate();
      await store.create(newUser(1));
      // Back to just before this migration, whatever later ones exist.
      let status = await store.migrationStatus();
      while (status.applied.some((name) => name.endsWith('-add-event-trace-context'))) {
        status = await store.rollback();
      }
      assert.ok(status.applied.length > 0, 'the outbox itself is still there');
      await store.migrate();
      assert.equal((await store.outbox.list({ limit: 10 })).length, 1);
    });
  });
}
