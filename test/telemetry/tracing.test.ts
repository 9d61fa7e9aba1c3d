import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { SPAN_KIND } from '../support/otlp-receiver.ts';
import { spawnProcess, startWeb } from '../support/web-process.ts';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from '../support/webhook-receiver.ts';
import { collector, createUser, migratedStore } from './support.ts';

const tracingEnv = (endpoint: string, extra: Record<string, string> = {}) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '50',
  OTEL_SERVICE_NAME: 'users-under-test',
  ...extra,
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

const metric = async (port: number, pattern: RegExp) => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
};

describe('telemetry tracing', () => {
  test('a traced POST is followed from the request through the outbox to the webhook, with its ids in the log lines', async (t) => {
    const url = await migratedStore(t);
    const otlp = await collector(t);
    const hooks = await new WebhookReceiver().start();
    t.after(() => hooks.stop());
    const web = await startWeb({ DATABASE_URL: url, ...tracingEnv(otlp.endpoint) });
    t.after(() => web.kill());
    const worker = spawnProcess('src/processes/worker.ts', {
      DATABASE_URL: url,
      WEBHOOK_URLS: hooks.url('/hook'),
      WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      WORKER_PORT: '0',
      HOST: '127.0.0.1',
      WORKER_POLL_MS: '50',
      LOG_LEVEL: 'debug',
      ...tracingEnv(otlp.endpoint),
    });
    t.after(() => worker.kill());
    await worker.waitForLine((l) => l.msg === 'worker ready');

    assert.equal((await fetch(`http://127.0.0.1:${web.port}/healthz`)).status, 200);
    // The caller's own trace: the request's span must continue it.
    const callerTrace = hex(16);
    const callerSpan = hex(8);
    const name = 'Secret Name Nobody Should Trace';
    const response = await fetch(`http://127.0.0.1:${web.port}/user`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${callerTrace}-${callerSpan}-01`,
        tracestate: 'vendor=abc',
      },
      body: JSON.stringify({ name }),
    });
    assert.equal(response.status, 201);
    const user = (await response.json()) as { id: string };

    const server = await otlp.waitForSpan((s) => s.kind === SPAN_KIND.server);
    assert.equal(server.name, 'POST /user');
    assert.equal(server.traceId, callerTrace, 'the incoming traceparent is continued');
    assert.equal(server.parentSpanId, callerSpan);
    assert.equal(server.traceState, 'vendor=abc', 'and its tracestate');
    assert.equal(server.attributes['http.request.method'], 'POST');
    assert.equal(server.attributes['http.route'], '/user');
    assert.equal(server.attributes['http.response.status_code'], 201);
    assert.equal(server.resource['service.name'], 'users-under-test');
    assert.equal(server.resource['process.command'], 'web');
    assert.ok(!otlp.spans.some((s) => s.attributes['url.path'] === '/healthz'), 'probes untraced');

    const store = await otlp.waitForSpan(
      (s) => s.kind === SPAN_KIND.client && s.attributes['db.operation.name'] === 'create',
    );
    assert.equal(store.traceId, callerTrace);
    assert.equal(store.parentSpanId, server.spanId, 'the store call is the request’s child');
    assert.equal(store.attributes['db.system.name'], 'sqlite');
    assert.ok(
      !JSON.stringify(otlp.spans).includes(name),
      'no span carries a parameter value (the user’s name)',
    );

    const delivery = await otlp.waitForSpan((s) => s.name === 'webhook user.created');
    assert.equal(delivery.kind, SPAN_KIND.client);
    assert.equal(delivery.resource['process.command'], 'worker');
    assert.notEqual(delivery.traceId, callerTrace, 'delivery is a trace of its own…');
    assert.equal(delivery.links.length, 1);
    assert.equal(delivery.links[0]!.traceId, callerTrace, '…linked to the request’s');
    assert.ok(
      [server.spanId, store.spanId].includes(delivery.links[0]!.spanId),
      'the link names a span of that request',
    );
    assert.equal(delivery.attributes['http.response.status_code'], 204);

    await hooks.waitFor(() => hooks.accepted().length === 1);
    const receipt = hooks.accepted()[0]!;
    assert.equal(receipt.userId, user.id);
    assert.equal(
      receipt.headers.traceparent,
      `00-${delivery.traceId}-${delivery.spanId}-01`,
      'the webhook continues the delivery span’s trace',
    );

    const access = await web.waitForLine(
      (l) => l.msg === 'request completed' && l.route === '/user',
    );
    assert.equal(access.trace_id, callerTrace);
    assert.equal(access.span_id, server.spanId);
    const delivered = await worker.waitForLine((l) => l.msg === 'webhook delivered');
    assert.equal(delivered.trace_id, delivery.traceId, 'a log line inside a span carries its ids');
    assert.equal(delivered.span_id, delivery.spanId);
  });

  test('without an OTLP endpoint nothing is traced and no log line carries a trace id', async (t) => {
    const url = await migratedStore(t);
    const otlp = await collector(t);
    const web = await startWeb({ DATABASE_URL: url });
    t.after(() => web.kill());
    const response = await fetch(`http://127.0.0.1:${web.port}/user`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${hex(16)}-${hex(8)}-01` },
      body: JSON.stringify({ name: 'untraced' }),
    });
    assert.equal(response.status, 201);
    const access = await web.waitForLine(
      (l) => l.msg === 'request completed' && l.route === '/user',
    );
    assert.equal(access.trace_id, undefined);
    assert.ok(web.lines.every((l) => l.trace_id === undefined));
    assert.equal(otlp.requests, 0);
  });

  for (const outage of ['down', 'hung'] as const) {
    test(`a collector that is ${outage} costs no request an error, and the spans it loses are counted in bounded memory`, async (t) => {
      const url = await migratedStore(t);
      const otlp = await collector(t);
      const endpoint = otlp.endpoint;
      if (outage === 'down') {
        await otlp.stop();
      } else otlp.hang = true;
      const web = await startWeb({
        DATABASE_URL: url,
        ...tracingEnv(endpoint, {
          OTEL_BSP_MAX_QUEUE_SIZE: '64',
          OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '16',
          OTEL_EXPORTER_OTLP_TIMEOUT: '500',
        }),
      });
      t.after(() => web.kill());
      const base = `http://127.0.0.1:${web.port}`;
      const id = await createUser(base, 'probe');
      // Each read is two spans (request and store call): far more than the queue holds.
      const statuses = new Map<number, number>();
      for (let round = 0; round < 20; round++) {
        const answers = await Promise.all(
          Array.from({ length: 25 }, () => fetch(`${base}/user/${id}`).then((r) => r.status)),
        );
        for (const status of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
      assert.deepEqual([...statuses], [[200, 500]], 'every request succeeded');
      // Refused at once, each export fails and its spans are counted; hung, the queue fills.
      const reason = outage === 'down' ? 'export_failed' : 'queue_full';
      const pattern = new RegExp(
        `telemetry_spans_dropped_total\\{reason="${reason}"\\} (\\d+)`,
        'g',
      );
      const dropped = await metric(web.port, pattern);
      assert.ok(dropped > 0, `dropped spans are counted as ${reason} (${dropped})`);
      if (outage === 'hung') {
        // Memory stays bounded: the queue is capped and at most two exports wait on the collector.
        assert.ok(otlp.requests > 0, 'exports were attempted');
        const open = otlp.maxOpen.get('/v1/traces') ?? 0;
        assert.ok(open <= 2, `at most two span exports open at once (${open})`);
      }
      web.child.kill('SIGTERM');
      assert.deepEqual(await web.exited, { code: 0, signal: null }, 'shutdown stays in budget');
    });
  }
});

describe('telemetry tracing limits', () => {
  test('a request with a path of several KiB gets a span whose attribute values are cut to 1024 characters', async (t) => {
    const url = await migratedStore(t);
    const otlp = await collector(t);
    const web = await startWeb({ DATABASE_URL: url, ...tracingEnv(otlp.endpoint) });
    t.after(() => web.kill());
    const long = `/${'x'.repeat(6000)}`;
    const response = await fetch(`http://127.0.0.1:${web.port}${long}`);
    assert.equal(response.status, 404);
    const span = await otlp.waitForSpan((s) => s.kind === SPAN_KIND.server);
    const path = String(span.attributes['url.path']);
    assert.ok(long.startsWith(path), 'the path is kept as far as it goes');
    assert.ok(path.length <= 1024, `url.path holds ${path.length} characters`);
  });
});

describe('telemetry sampling', () => {
  test('a caller’s sampled flag is honoured up to TRACES_MAX_PER_SECOND: the rest keep their trace id in the logs, unrecorded and counted', async (t) => {
    const url = await migratedStore(t);
    const otlp = await collector(t);
    const web = await startWeb({
      DATABASE_URL: url,
      // The process samples nothing of its own: only a caller's flag can ask for a trace.
      ...tracingEnv(otlp.endpoint, {
        OTEL_TRACES_SAMPLER: 'parentbased_always_off',
        TRACES_MAX_PER_SECOND: '2',
      }),
    });
    t.after(() => web.kill());
    const base = `http://127.0.0.1:${web.port}`;
    const traces = Array.from({ length: 40 }, () => hex(16));
    const started = performance.now();
    const statuses = await Promise.all(
      traces.map((traceId) =>
        fetch(`${base}/user/00000000-0000-4000-8000-000000000000`, {
          headers: { traceparent: `00-${traceId}-${hex(8)}-01` },
        }).then((r) => r.status),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    assert.deepEqual(new Set(statuses), new Set([404]), `statuses: ${statuses.join(' ')}`);

    const limited = await metric(web.port, /^telemetry_traces_rate_limited_total (\d+)$/gm);
    const recorded = traces.length - limited;
    const servers = () => otlp.spans.filter((s) => s.kind === SPAN_KIND.server);
    await otlp.waitForSpan(() => servers().length >= recorded);
    assert.ok(recorded >= 1, 'a caller’s flag is honoured while the bound allows');
    // A burst of one second's worth, then the rate: at most 2 + 2 a second.
    assert.ok(
      recorded <= 2 + Math.ceil(2 * seconds),
      `${recorded} traces recorded in ${seconds.toFixed(1)} s`,
    );
    assert.equal(servers().length, recorded, 'each trace not counted as refused was recorded');
    const recordedTraces = new Set(servers().map((s) => s.traceId));
    assert.ok(
      otlp.spans.every((s) => recordedTraces.has(s.traceId)),
      'a refused trace has no span at all: its store calls are not recorded either',
    );
    // Unrecorded or not, each request's access line names its caller's trace.
    for (const traceId of traces) {
      await web.waitForLine((l) => l.msg === 'request completed' && l.trace_id === traceId);
    }
  });
});
