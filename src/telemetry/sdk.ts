import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { TelemetrySettings } from '../config/index.ts';
import { CountingExporter, CountingProcessor, type DropReason } from './bounded-export.ts';

/**
 * Exports at most this many batches at once: with a hung collector each waits out its timeout,
 * so this and the queue bound the memory a collector can cost.
 */
const CONCURRENT_EXPORTS = 2;

function sampler(settings: TelemetrySettings): Sampler {
  const ratio = new TraceIdRatioBasedSampler(settings.samplerRatio);
  switch (settings.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
  }
}

/**
 * The OpenTelemetry SDK, set up from the parsed config alone and registered as the API's global
 * tracer provider, with AsyncLocalStorage for context and W3C Trace Context for propagation.
 * Loaded only when tracing is on, so a process with it off never loads the SDK.
 */
export function startSdk(options: {
  settings: TelemetrySettings;
  processType: string;
  version: string;
  onDrop: (count: number, reason: DropReason) => void;
}): TracerProvider {
  const { settings } = options;
  const exporterOptions = {
    url: settings.tracesUrl,
    headers: { ...settings.headers },
    timeoutMillis: settings.timeoutMs,
    concurrencyLimit: CONCURRENT_EXPORTS,
  };
  const exporter =
    settings.protocol === 'http/json'
      ? new JsonExporter(exporterOptions)
      : new ProtobufExporter(exporterOptions);
  // The exporter reports to the processor made just below; it only calls once spans end.
  const onExport = (count: number) => counting.taken(count);
  const batch = new BatchSpanProcessor({
    exporter: new CountingExporter({
      exporter,
      onExport,
      onDrop: options.onDrop,
    }),
    maxQueueSize: settings.maxQueueSize,
    maxExportBatchSize: settings.maxExportBatchSize,
    scheduledDelayMillis: settings.scheduleDelayMs,
    exportTimeoutMillis: settings.timeoutMs,
  });
  const counting = new CountingProcessor({
    batch,
    maxQueueSize: settings.maxQueueSize,
    onDrop: options.onDrop,
  });
  const provider = new TracerProvider({
    sampler: sampler(settings),
    resource: resourceFromAttributes({
      ...settings.resourceAttributes,
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: options.version,
      // The Procfile's process type: web, worker, clock or admin.
      'process.command': options.processType,
      'process.pid': process.pid,
    }),
    spanProcessors: [counting],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return provider;
}
