import type { ConfigProblem } from './config.ts';
import type { ScalarValues, VariableName } from './variables.ts';

export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export interface TelemetrySettings {
  /** False: no SDK is loaded, no span is made, nothing is exported. */
  readonly enabled: boolean;
  readonly serviceName: string;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** The full URL spans are POSTed to. */
  readonly tracesUrl: string | undefined;
  readonly protocol: 'http/protobuf' | 'http/json';
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly sampler: SamplerName;
  readonly samplerRatio: number;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly scheduleDelayMs: number;
  /** Most traces started or continued a second (token bucket); 0: no bound. */
  readonly maxTracesPerSecond: number;
  /** The OTLP export of /metrics' instruments; undefined when off. */
  readonly metrics: MetricsExportSettings | undefined;
}

export interface MetricsExportSettings {
  /** The full URL metrics are POSTed to. */
  readonly url: string;
  readonly protocol: 'http/protobuf' | 'http/json';
  readonly intervalMs: number;
  /** At most the interval, as the SDK requires. */
  readonly timeoutMs: number;
}

/**
 * `key=value,key2=value2`, values percent-decoded, as OTEL_RESOURCE_ATTRIBUTES and
 * OTEL_EXPORTER_OTLP_HEADERS are written (the W3C Baggage encoding the specification names).
 */
function keyValues(
  name: string,
  raw: string | undefined,
  problems: ConfigProblem[],
): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const entry of (raw ?? '').split(',')) {
    if (entry.trim() === '') continue;
    const equals = entry.indexOf('=');
    const key = entry.slice(0, equals).trim();
    let value: string | undefined;
    try {
      value = equals > 0 ? decodeURIComponent(entry.slice(equals + 1).trim()) : undefined;
    } catch {
      value = undefined;
    }
    // The value is never echoed: a header may carry an API key.
    if (!key || value === undefined) {
      problems.push({ variable: name, message: 'must be key=value pairs, comma-separated' });
      return {};
    }
    pairs[key] = value;
  }
  return pairs;
}

/**
 * Where a signal goes: its own URL as given, else `/v1/<signal>` under the base endpoint (the
 * specification's rule for OTLP/HTTP).
 */
function signalUrl(
  base: string | undefined,
  own: string | undefined,
  signal: 'traces' | 'metrics',
): string | undefined {
  if (own) return own;
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

export function parseTelemetrySettings(
  values: ScalarValues,
  problems: ConfigProblem[],
): TelemetrySettings {
  const get = <T>(name: VariableName) => values.get(name) as T;
  const base = get<string | undefined>('OTEL_EXPORTER_OTLP_ENDPOINT');
  const url = signalUrl(base, get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'), 'traces');
  const metricsUrl = signalUrl(base, get('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'), 'metrics');
  const disabled = get<boolean>('OTEL_SDK_DISABLED') === true;
  const protocol = get<TelemetrySettings['protocol']>('OTEL_EXPORTER_OTLP_PROTOCOL');
  const intervalMs = get<number>('OTEL_METRIC_EXPORT_INTERVAL');
  const sampler = get<SamplerName>('OTEL_TRACES_SAMPLER');
  const rawRatio = get<string | undefined>('OTEL_TRACES_SAMPLER_ARG');
  const ratio = rawRatio === undefined ? 1 : Number(rawRatio);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    problems.push({ variable: 'OTEL_TRACES_SAMPLER_ARG', message: 'must be a number from 0 to 1' });
  }
  const maxQueueSize = get<number>('OTEL_BSP_MAX_QUEUE_SIZE');
  const maxExportBatchSize = get<number>('OTEL_BSP_MAX_EXPORT_BATCH_SIZE');
  if (maxExportBatchSize > maxQueueSize) {
    problems.push({
      variable: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
      message: 'must be at most OTEL_BSP_MAX_QUEUE_SIZE',
    });
  }
  const resourceAttributes = keyValues(
    'OTEL_RESOURCE_ATTRIBUTES',
    get('OTEL_RESOURCE_ATTRIBUTES'),
    problems,
  );
  return Object.freeze({
    enabled: url !== undefined && !disabled && get<string>('OTEL_TRACES_EXPORTER') === 'otlp',
    serviceName:
      get<string | undefined>('OTEL_SERVICE_NAME') ??
      resourceAttributes['service.name'] ??
      '12factor-app',
    resourceAttributes: Object.freeze(resourceAttributes),
    tracesUrl: url,
    protocol,
    headers: Object.freeze(
      keyValues('OTEL_EXPORTER_OTLP_HEADERS', get('OTEL_EXPORTER_OTLP_HEADERS'), problems),
    ),
    timeoutMs: get<number>('OTEL_EXPORTER_OTLP_TIMEOUT'),
    sampler,
    samplerRatio: ratio,
    maxQueueSize,
    maxExportBatchSize,
    scheduleDelayMs: get<number>('OTEL_BSP_SCHEDULE_DELAY'),
    maxTracesPerSecond: get<number>('TRACES_MAX_PER_SECOND'),
    metrics:
      metricsUrl !== undefined && !disabled && get<string>('OTEL_METRICS_EXPORTER') === 'otlp'
        ? Object.freeze({
            url: metricsUrl,
            protocol:
              get<MetricsExportSettings['protocol'] | undefined>(
                'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL',
              ) ?? protocol,
            intervalMs,
            // The SDK refuses a timeout past the interval; the specification's defaults (30 s,
            // 60 s) fit, and a shorter interval shortens the timeout with it.
            timeoutMs: Math.min(get<number>('OTEL_METRIC_EXPORT_TIMEOUT'), intervalMs),
          })
        : undefined,
  });
}
