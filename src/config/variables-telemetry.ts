import { ms, type Variable } from './variable-types.ts';

/**
 * OpenTelemetry's own variables, as its SDK specification names them, so a platform that sets
 * them for every service configures this one too:
 * https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 * Tracing is off unless an OTLP endpoint is set.
 */
export const TELEMETRY_VARIABLES = [
  {
    name: 'OTEL_SDK_DISABLED',
    type: { kind: 'boolean' },
    default: 'false',
    description: 'Turns tracing and the OTLP metrics export off even when an endpoint is set.',
  },
  {
    name: 'OTEL_SERVICE_NAME',
    type: { kind: 'string' },
    default: undefined,
    description:
      'The `service.name` of every span; else OTEL_RESOURCE_ATTRIBUTES’ one, else `12factor-app`.',
  },
  {
    name: 'OTEL_RESOURCE_ATTRIBUTES',
    type: { kind: 'string' },
    default: undefined,
    description: 'More resource attributes, `key=value` comma-separated (W3C Baggage encoding).',
  },
  {
    name: 'OTEL_TRACES_EXPORTER',
    type: { kind: 'enum', values: ['otlp', 'none'] },
    default: 'otlp',
    description:
      '`none` turns tracing off; `otlp` sends spans to the OTLP endpoint, if one is set.',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    type: { kind: 'url', schemes: ['http', 'https'] },
    default: undefined,
    description:
      'The collector’s OTLP/HTTP base URL (`/v1/traces`, `/v1/metrics` appended); turns both on.',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    type: { kind: 'url', schemes: ['http', 'https'] },
    default: undefined,
    description: 'The full URL spans are sent to; overrides OTEL_EXPORTER_OTLP_ENDPOINT.',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_PROTOCOL',
    type: { kind: 'enum', values: ['http/protobuf', 'http/json'] },
    default: 'http/protobuf',
    description: 'OTLP encoding over HTTP (gRPC is not supported).',
  },
  {
    name: 'OTEL_METRICS_EXPORTER',
    type: { kind: 'enum', values: ['otlp', 'none'] },
    default: 'otlp',
    description:
      '`none` keeps metrics on `/metrics` only; `otlp` also sends them to the OTLP endpoint, if set.',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
    type: { kind: 'url', schemes: ['http', 'https'] },
    default: undefined,
    description:
      'The full URL metrics are sent to; overrides OTEL_EXPORTER_OTLP_ENDPOINT, turns the export on.',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL',
    type: { kind: 'enum', values: ['http/protobuf', 'http/json'] },
    default: undefined,
    description: 'The metrics export’s encoding; OTEL_EXPORTER_OTLP_PROTOCOL’s when unset.',
  },
  {
    name: 'OTEL_METRIC_EXPORT_INTERVAL',
    type: ms(100, 3_600_000),
    default: '60000',
    description: 'Time between two metrics exports.',
  },
  {
    name: 'OTEL_METRIC_EXPORT_TIMEOUT',
    type: ms(100, 600_000),
    default: '30000',
    description: 'How long one metrics export may take (at most the interval).',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_HEADERS',
    type: { kind: 'string' },
    default: undefined,
    secret: true,
    description: 'Headers on every export, `key=value` comma-separated (e.g. an API key).',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_TIMEOUT',
    type: ms(100, 600_000),
    default: '10000',
    description: 'How long one export may take before it is abandoned.',
  },
  {
    name: 'OTEL_TRACES_SAMPLER',
    type: {
      kind: 'enum',
      values: [
        'always_on',
        'always_off',
        'traceidratio',
        'parentbased_always_on',
        'parentbased_always_off',
        'parentbased_traceidratio',
      ],
    },
    default: 'parentbased_always_on',
    description: 'Which traces are recorded (OpenTelemetry’s sampler names).',
  },
  {
    name: 'OTEL_TRACES_SAMPLER_ARG',
    type: { kind: 'string' },
    default: undefined,
    description: 'The ratio (0 to 1) of the `traceidratio` samplers; 1 when unset.',
  },
  {
    name: 'TRACES_MAX_PER_SECOND',
    type: { kind: 'integer', min: 0, max: 1_000_000 },
    default: '100',
    description:
      'Most traces a process starts or continues a second, whatever the sampler or a caller’s `traceparent` says; 0: no bound.',
  },
  {
    name: 'OTEL_BSP_MAX_QUEUE_SIZE',
    type: { kind: 'integer', min: 1, max: 1_000_000 },
    default: '2048',
    description: 'Most finished spans held for export; past it spans are dropped and counted.',
  },
  {
    name: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
    type: { kind: 'integer', min: 1, max: 1_000_000 },
    default: '512',
    description: 'Most spans in one export (at most OTEL_BSP_MAX_QUEUE_SIZE).',
  },
  {
    name: 'OTEL_BSP_SCHEDULE_DELAY',
    type: ms(1, 600_000),
    default: '5000',
    description: 'Longest wait between two exports.',
  },
] as const satisfies readonly Variable[];
