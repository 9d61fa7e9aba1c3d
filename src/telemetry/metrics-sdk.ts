import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { ExportResultCode } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import type { Registry } from 'prom-client';
import type { MetricsExportSettings } from '../config/telemetry.ts';
import { PromRegistryProducer } from './prom-producer.ts';

/**
 * At most this many exports open at once: with a hung collector each waits out its timeout, so
 * this bounds what a collector can hold (one export is one snapshot of the registry).
 */
const CONCURRENT_EXPORTS = 2;

/**
 * Sends the registry's instruments over OTLP every interval, with the SDK's periodic reader
 * and exporter; the registry itself is untouched, and /metrics goes on as before. Loaded only
 * when the export is on. An export that fails is counted, not retried past its timeout: the
 * next one carries the same cumulative values.
 */
export function startMetricsExport(options: {
  settings: MetricsExportSettings;
  headers: Readonly<Record<string, string>>;
  exportTimeoutMs: number;
  registry: Registry;
  resource: Resource;
  onFailed: () => void;
}): MeterProvider {
  const { settings } = options;
  const exporterOptions = {
    url: settings.url,
    headers: { ...options.headers },
    timeoutMillis: Math.min(options.exportTimeoutMs, settings.timeoutMs),
    concurrencyLimit: CONCURRENT_EXPORTS,
  };
  const exporter =
    settings.protocol === 'http/json'
      ? new JsonExporter(exporterOptions)
      : new ProtobufExporter(exporterOptions);
  const counted: PushMetricExporter = {
    export(metrics, resultCallback) {
      exporter.export(metrics, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) options.onFailed();
        resultCallback(result);
      });
    },
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    selectAggregationTemporality: (type) => exporter.selectAggregationTemporality(type),
    selectAggregation: (type) => exporter.selectAggregation(type),
  };
  return new MeterProvider({
    resource: options.resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: counted,
        exportIntervalMillis: settings.intervalMs,
        exportTimeoutMillis: settings.timeoutMs,
        metricProducers: [new PromRegistryProducer(options.registry)],
      }),
    ],
  });
}
