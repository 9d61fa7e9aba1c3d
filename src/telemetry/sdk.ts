import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Resource } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import type { TelemetrySettings } from '../config/index.ts';
import { CountingExporter, CountingProcessor, type DropReason } from './bounded-export.ts';
import { gateEntries } from './context.ts';
import { RateLimitedSampler } from './sampling.ts';

/** Longest attribute value a span keeps; longer ones are cut to this many characters. */
const SPAN_ATTRIBUTE_MAX_CHARS = 1024;

/**
 * Exports at most this many batches at once: with a hung collector each waits out its timeout,
 * so this and the queue bound the memory a collector can cost.
 */
const CONCURRENT_EXPORTS = 2;

function configuredSampler(settings: TelemetrySettings): Sampler {
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
  resource: Resource;
  onDrop: (count: number, reason: DropReason) => void;
  onRateLimited: () => void;
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
  const inner = configuredSampler(settings);
  const limited =
    settings.maxTracesPerSecond > 0
      ? new RateLimitedSampler({
          inner,
          perSecond: settings.maxTracesPerSecond,
          onLimited: options.onRateLimited,
        })
      : undefined;
  if (limited) gateEntries(() => limited.open());
  const provider = new TracerProvider({
    sampler: limited ?? inner,
    resource: options.resource,
    spanProcessors: [counting],
    // A value a client controls (a path of several KiB) would otherwise travel whole in every
    // export: truncated here, each span stays small whatever a request carries.
    spanLimits: { attributeValueLengthLimit: SPAN_ATTRIBUTE_MAX_CHARS },
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return provider;
}
