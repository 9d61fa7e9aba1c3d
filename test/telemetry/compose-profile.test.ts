import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.ts';
import { appServices, environmentOf, loadCompose } from '../deploy/support/compose.ts';

const COMPOSE = fileURLToPath(new URL('../../compose.yaml', import.meta.url));
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('compose tracing profile — Jaeger runs only under the profile, and the README’s .env line sends every process’s traces to it and no metrics', () => {
  const compose = loadCompose(COMPOSE);
  const jaeger = compose.services.jaeger;
  assert.deepEqual(jaeger.profiles, ['tracing']);
  assert.ok((jaeger.expose as string[]).includes('4318'), 'OTLP/HTTP reachable by the processes');
  // The line the README's Telemetry section tells to put in `.env`.
  const line = /`(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http:\/\/jaeger:4318\/\S+)`/.exec(README)?.[1];
  assert.ok(line, 'the README names the .env line');
  const [name, value] = line.split('=') as [string, string];
  const services = appServices(compose);
  assert.ok(services.length >= 3, 'web, worker and clock at least');
  for (const [serviceName, service] of services) {
    const config = loadConfig({ ...environmentOf(service), [name]: value });
    assert.equal(config.telemetry.enabled, true, `${serviceName} traces`);
    assert.equal(config.telemetry.tracesUrl, 'http://jaeger:4318/v1/traces');
    assert.equal(config.telemetry.metrics, undefined, `${serviceName} sends Jaeger no metrics`);
  }
});
