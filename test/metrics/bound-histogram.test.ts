import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { BoundHistogram } from '../../src/metrics/bound-histogram.ts';

const config = {
  name: 'call_duration_seconds',
  help: 'Time a call took.',
  labelNames: ['operation', 'outcome'] as const,
  buckets: [0.001, 0.01, 0.1, 1],
};

/** The same observations into prom-client's Histogram and into ours, each in its own registry. */
function both(observations: [operation: string, outcome: string, seconds: number][]) {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({
    ...config,
    labelNames: [...config.labelNames],
    registers: [theirs],
  });
  const bound = new BoundHistogram({ ...config, registers: [ours] });
  for (const [operation, outcome, seconds] of observations) {
    reference.observe({ operation, outcome }, seconds);
    bound.series({ operation, outcome }).observe(seconds);
  }
  return { theirs, ours, bound };
}

const observations: [string, string, number][] = [
  ['get', 'ok', 0.0004],
  ['get', 'ok', 0.001], // on a bound: counted in that bucket (le is "less or equal")
  ['get', 'ok', 0.02],
  ['get', 'error', 3], // above every bound: only +Inf
  ['list', 'ok', 0.5],
  ['get', 'ok', 0],
];

test('bound histogram — when it observes what prom-client’s Histogram observes, then /metrics reads the same, byte for byte', async () => {
  const { theirs, ours } = both(observations);
  const text = await ours.metrics();
  assert.equal(text, await theirs.metrics());
  assert.match(text, /call_duration_seconds_bucket\{le="0.001",operation="get",outcome="ok"\} 3/);
  assert.match(
    text,
    /call_duration_seconds_bucket\{le="\+Inf",operation="get",outcome="error"\} 1/,
  );
  assert.match(text, /call_duration_seconds_count\{operation="list",outcome="ok"\} 1/);
});

test('bound histogram — when read as JSON, then it matches prom-client’s Histogram', async () => {
  const { theirs, ours } = both(observations);
  assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
});

test('bound histogram — when a series is asked for twice, then both observations land in one series', async () => {
  const { ours, bound } = both([]);
  const first = bound.series({ operation: 'get', outcome: 'ok' });
  assert.equal(bound.series({ operation: 'get', outcome: 'ok' }), first);
  first.observe(0.05);
  bound.series({ operation: 'get', outcome: 'ok' }).observe(0.05);
  assert.match(
    await ours.metrics(),
    /call_duration_seconds_count\{operation="get",outcome="ok"\} 2\n/,
  );
});

test('bound histogram — when the registry is reset, then its series count again from zero, those already handed out too', async () => {
  const { ours, bound } = both(observations);
  const held = bound.series({ operation: 'get', outcome: 'ok' });
  ours.resetMetrics();
  const text = await ours.metrics();
  assert.match(text, /call_duration_seconds_count\{operation="get",outcome="ok"\} 0\n/);
  assert.match(text, /call_duration_seconds_sum\{operation="get",outcome="ok"\} 0\n/);
  assert.doesNotMatch(text, /_bucket\{[^}]*\} [1-9]/, 'every bucket back to zero');
  held.observe(0.05);
  assert.match(
    await ours.metrics(),
    /call_duration_seconds_count\{operation="get",outcome="ok"\} 1\n/,
  );
});

test('bound histogram — when a label is named le, then it is refused, as Prometheus reserves it', () => {
  assert.throws(
    () => new BoundHistogram({ ...config, labelNames: ['le'], registers: [] }),
    /le is a reserved label name/,
  );
});
