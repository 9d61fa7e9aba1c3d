import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { problems } from './problems.ts';

describe('telemetry config', () => {
  test('nothing set leaves tracing off', () => {
    const { telemetry } = loadConfig({});
    assert.equal(telemetry.enabled, false);
    assert.equal(telemetry.tracesUrl, undefined);
    assert.equal(telemetry.serviceName, '12factor-app');
    assert.equal(telemetry.sampler, 'parentbased_always_on');
    assert.ok(Object.isFrozen(telemetry));
  });

  test('a base endpoint turns tracing on and spans go to its /v1/traces', () => {
    const { telemetry } = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    assert.equal(telemetry.enabled, true);
    assert.equal(telemetry.tracesUrl, 'http://collector:4318/v1/traces');
    assert.equal(telemetry.protocol, 'http/protobuf');
  });

  test('a traces endpoint is used as given and wins over the base one', () => {
    const { telemetry } = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp',
    });
    assert.equal(telemetry.tracesUrl, 'https://traces.example/otlp');
  });

  test('OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none keep tracing off despite an endpoint', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    assert.equal(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).telemetry.enabled, false);
    assert.equal(
      loadConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).telemetry.enabled,
      false,
    );
  });

  test('resource attributes and headers are decoded key=value lists; the service name wins', () => {
    const { telemetry } = loadConfig({
      OTEL_RESOURCE_ATTRIBUTES:
        'deployment.environment.name=prod,service.name=from-attrs,team=a%20b',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc%3D,other=1',
      OTEL_SERVICE_NAME: 'users',
    });
    assert.deepEqual(telemetry.resourceAttributes, {
      'deployment.environment.name': 'prod',
      'service.name': 'from-attrs',
      team: 'a b',
    });
    assert.deepEqual(telemetry.headers, { 'x-api-key': 'abc=', other: '1' });
    assert.equal(telemetry.serviceName, 'users');
    assert.equal(
      loadConfig({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' }).telemetry.serviceName,
      'from-attrs',
    );
  });

  test('bad values are each named, and a header value is never echoed', () => {
    const found = problems({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '1.5',
      OTEL_EXPORTER_OTLP_HEADERS: 'secret-token-value',
      OTEL_BSP_MAX_QUEUE_SIZE: '10',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20',
    });
    for (const name of [
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
      'OTEL_EXPORTER_OTLP_HEADERS',
      'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
    ]) {
      assert.ok(
        found.some((p) => p.startsWith(`${name} `)),
        `${name} named in ${found.join('; ')}`,
      );
    }
    assert.ok(!found.join(' ').includes('secret-token-value'));
  });

  test('nothing set sends no metrics over OTLP and bounds traces at 100 a second', () => {
    const { telemetry } = loadConfig({});
    assert.equal(telemetry.metrics, undefined);
    assert.equal(telemetry.maxTracesPerSecond, 100);
  });

  test('a base endpoint turns the metrics export on too, to its /v1/metrics, with the specification’s defaults', () => {
    const { telemetry } = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    assert.deepEqual(telemetry.metrics, {
      url: 'http://collector:4318/v1/metrics',
      protocol: 'http/json',
      intervalMs: 60_000,
      timeoutMs: 30_000,
    });
  });

  test('a metrics endpoint alone exports metrics and traces nothing; its own protocol wins', () => {
    const { telemetry } = loadConfig({
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://metrics.example/otlp',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
    });
    assert.equal(telemetry.enabled, false);
    assert.equal(telemetry.metrics?.url, 'https://metrics.example/otlp');
    assert.equal(telemetry.metrics?.protocol, 'http/json');
  });

  test('OTEL_METRICS_EXPORTER=none or OTEL_SDK_DISABLED keep metrics on /metrics only, tracing aside', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    const none = loadConfig({ ...endpoint, OTEL_METRICS_EXPORTER: 'none' }).telemetry;
    assert.equal(none.metrics, undefined);
    assert.equal(none.enabled, true, 'traces still go');
    assert.equal(
      loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).telemetry.metrics,
      undefined,
    );
  });

  test('an interval shorter than the export timeout cuts the timeout to it, as the SDK requires', () => {
    const { telemetry } = loadConfig({
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector:4318/v1/metrics',
      OTEL_METRIC_EXPORT_INTERVAL: '5000',
    });
    assert.equal(telemetry.metrics?.intervalMs, 5000);
    assert.equal(telemetry.metrics?.timeoutMs, 5000);
    assert.ok(
      problems({ OTEL_METRIC_EXPORT_INTERVAL: '10' }).some((p) =>
        p.startsWith('OTEL_METRIC_EXPORT_INTERVAL '),
      ),
    );
    assert.ok(
      problems({ TRACES_MAX_PER_SECOND: '-1' }).some((p) => p.startsWith('TRACES_MAX_PER_SECOND ')),
    );
  });
});
