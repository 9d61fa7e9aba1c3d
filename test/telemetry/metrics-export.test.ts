import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ReceivedMetric } from '../support/otlp-receiver.ts';
import { startWeb } from '../support/web-process.ts';
import { collector, createUser, migratedStore } from './support.ts';

/** One line of the Prometheus text format: `name{labels} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples and each metric's TYPE, from a /metrics answer. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const labels = Object.fromEntries(
      [...(sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { samples, types };
}

const sameLabels = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  JSON.stringify(Object.entries(a).map(String).sort()) ===
  JSON.stringify(Object.entries(b).map(String).sort());

/** The OTLP data point type each Prometheus type must arrive as. */
const OTLP_TYPE: Record<string, ReceivedMetric['type']> = {
  counter: 'sum',
  gauge: 'gauge',
  histogram: 'histogram',
};

// The application's own instruments: their values stand still while nothing is requested, so an
// export made after a scrape must carry exactly the scrape's values. (Process metrics, CPU and
// memory, move on their own, and requests in flight counts the scrape itself: for those the
// names and types are compared.)
const STILL = ['http_request_duration_seconds', 'http_problems_total'];

describe('telemetry OTLP metrics export', () => {
  test('the instruments of /metrics arrive over OTLP with the same names, labels and values, flushed at shutdown', async (t) => {
    const url = await migratedStore(t);
    const otlp = await collector(t);
    const web = await startWeb({
      DATABASE_URL: url,
      // Metrics alone (no traces endpoint), and an interval no test waits for: the only export
      // is the one made at shutdown.
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${otlp.endpoint}/v1/metrics`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRIC_EXPORT_INTERVAL: '3600000',
      OTEL_SERVICE_NAME: 'users-under-test',
    });
    t.after(() => web.kill());
    const base = `http://127.0.0.1:${web.port}`;
    const id = await createUser(base, 'metered');
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${base}/user/${id}`)).status, 200);
    assert.equal((await fetch(`${base}/no-such-route`)).status, 404);

    const { samples, types } = parseExposition(await (await fetch(`${base}/metrics`)).text());
    assert.equal(otlp.metricExports.length, 0, 'nothing exported before the interval');
    web.child.kill('SIGTERM');
    assert.deepEqual(await web.exited, { code: 0, signal: null });
    assert.equal(otlp.metricExports.length, 1, 'the shutdown flushed one export');
    assert.equal(otlp.spans.length, 0, 'no traces endpoint, no spans');
    const exported = new Map(otlp.metricExports[0]!.map((m) => [m.name, m]));

    // Every instrument of /metrics, as its own type; none invented.
    assert.deepEqual([...exported.keys()].sort(), [...types.keys()].sort());
    for (const [name, type] of types) {
      const metric = exported.get(name)!;
      assert.equal(metric.type, OTLP_TYPE[type], `${name} is a ${type}`);
      if (type !== 'gauge') assert.equal(metric.temporality, 2, `${name} is cumulative`);
      if (type === 'counter') assert.ok(metric.monotonic, `${name} is monotonic`);
      assert.equal(metric.resource['service.name'], 'users-under-test');
      assert.equal(metric.resource['process.command'], 'web');
    }

    for (const name of STILL) {
      const metric = exported.get(name)!;
      if (types.get(name) !== 'histogram') {
        const scraped = samples.filter((s) => s.name === name);
        assert.ok(scraped.length > 0, `${name} has a series (the 404's problem)`);
        assert.equal(metric.points.length, scraped.length, `${name}: one point a series`);
        for (const sample of scraped) {
          const point = metric.points.find((p) => sameLabels(p.attributes, sample.labels));
          assert.equal(point?.value, sample.value, `${name}${JSON.stringify(sample.labels)}`);
        }
        continue;
      }
      // Histograms: the scrape's cumulative `le` buckets are the export's per-bucket counts
      // added up; its `_count` and `_sum` the export's count and sum. The scrape itself is
      // the one series that moved since (it was in flight when read).
      const series = samples.filter(
        (s) => s.name === `${name}_count` && s.labels.route !== '/metrics',
      );
      assert.ok(series.length >= 3, 'POST /user, GET /user/:id and the 404 each a series');
      for (const { labels, value: count } of series) {
        const point = metric.points.find((p) => sameLabels(p.attributes, labels));
        assert.ok(point?.histogram, `${name}${JSON.stringify(labels)} exported`);
        const { histogram } = point;
        assert.equal(histogram.count, count);
        const sum = samples.find((s) => s.name === `${name}_sum` && sameLabels(s.labels, labels));
        assert.equal(histogram.sum, sum?.value);
        const buckets = samples.filter(
          (s) =>
            s.name === `${name}_bucket` &&
            sameLabels(
              Object.fromEntries(Object.entries(s.labels).filter(([k]) => k !== 'le')),
              labels,
            ),
        );
        assert.deepEqual(
          histogram.explicitBounds,
          buckets.filter((b) => b.labels.le !== '+Inf').map((b) => Number(b.labels.le)),
        );
        let cumulative = 0;
        const added = histogram.bucketCounts.map((n) => (cumulative += n));
        assert.deepEqual(
          added,
          buckets.map((b) => b.value),
        );
      }
    }
    const reads = exported
      .get('http_request_duration_seconds')!
      .points.find((p) => p.attributes.route === '/user/:id' && p.attributes.status_code === '200');
    assert.equal(reads?.histogram?.count, 3, 'the three reads, counted once each');
  });

  for (const outage of ['down', 'hung'] as const) {
    test(`a collector that is ${outage} costs no request an error, failed exports are counted, and shutdown stays in budget`, async (t) => {
      const url = await migratedStore(t);
      const otlp = await collector(t);
      const endpoint = `${otlp.endpoint}/v1/metrics`;
      if (outage === 'down') await otlp.stop();
      else otlp.hang = true;
      const web = await startWeb({
        DATABASE_URL: url,
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_METRIC_EXPORT_INTERVAL: '200',
        OTEL_METRIC_EXPORT_TIMEOUT: '200',
      });
      t.after(() => web.kill());
      const base = `http://127.0.0.1:${web.port}`;
      const failed = async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return Number(/^telemetry_metric_exports_failed_total (\d+)$/m.exec(text)?.[1]);
      };
      // Requests go on while exports fail, until two failures are counted.
      const deadline = Date.now() + 20_000;
      let count = await failed();
      while (count < 2 && Date.now() < deadline) {
        assert.equal(
          (await fetch(`${base}/user/00000000-0000-4000-8000-000000000000`)).status,
          404,
        );
        count = await failed();
      }
      assert.ok(count >= 2, `failed exports are counted (${count})`);
      if (outage === 'hung') {
        const open = otlp.maxOpen.get('/v1/metrics') ?? 0;
        assert.ok(open >= 1 && open <= 2, `at most two exports held open (${open})`);
      }
      web.child.kill('SIGTERM');
      assert.deepEqual(await web.exited, { code: 0, signal: null }, 'shutdown stays in budget');
    });
  }
});
