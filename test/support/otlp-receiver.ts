import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** An OTLP/JSON AnyValue (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding). */
type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
};
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  kind: number;
  attributes?: KeyValue[];
  links?: { traceId: string; spanId: string }[];
  status?: { code?: number };
}
interface ExportTraceServiceRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: JsonSpan[] }[];
  }[];
}

interface JsonNumberPoint {
  attributes?: KeyValue[];
  asDouble?: number;
  asInt?: string | number;
}
interface JsonHistogramPoint {
  attributes?: KeyValue[];
  count?: string | number;
  sum?: number;
  bucketCounts?: (string | number)[];
  explicitBounds?: number[];
}
interface JsonMetric {
  name: string;
  sum?: { dataPoints?: JsonNumberPoint[]; isMonotonic?: boolean; aggregationTemporality?: number };
  gauge?: { dataPoints?: JsonNumberPoint[] };
  histogram?: { dataPoints?: JsonHistogramPoint[]; aggregationTemporality?: number };
}
interface ExportMetricsServiceRequest {
  resourceMetrics?: {
    resource?: { attributes?: KeyValue[] };
    scopeMetrics?: { metrics?: JsonMetric[] }[];
  }[];
}

/** One data point as received: a number, or a histogram's per-bucket counts. */
export interface ReceivedPoint {
  attributes: Record<string, string | number | boolean>;
  value?: number;
  histogram?: { count: number; sum: number; bucketCounts: number[]; explicitBounds: number[] };
}

/** One metric of one export. */
export interface ReceivedMetric {
  name: string;
  type: 'sum' | 'gauge' | 'histogram';
  monotonic: boolean;
  /** OTLP's AggregationTemporality: 2 is cumulative. */
  temporality: number | undefined;
  points: ReceivedPoint[];
  resource: Record<string, string | number | boolean>;
}

/** A span as received, its attributes (and its resource's) as a plain object. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  traceState: string | undefined;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string }[];
  statusCode: number;
}

const plain = (value: AnyValue) =>
  value.stringValue ??
  (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
  value.doubleValue ??
  value.boolValue ??
  '';

const record = (attributes: KeyValue[] = []) =>
  Object.fromEntries(attributes.map((a) => [a.key, plain(a.value)]));

const numberPoint = (p: JsonNumberPoint): ReceivedPoint => ({
  attributes: record(p.attributes),
  value: p.asDouble ?? Number(p.asInt ?? 0),
});

const histogramPoint = (p: JsonHistogramPoint): ReceivedPoint => ({
  attributes: record(p.attributes),
  histogram: {
    count: Number(p.count ?? 0),
    sum: p.sum ?? 0,
    bucketCounts: (p.bucketCounts ?? []).map(Number),
    explicitBounds: p.explicitBounds ?? [],
  },
});

function receivedMetric(metric: JsonMetric, resource: ReceivedMetric['resource']): ReceivedMetric {
  if (metric.histogram) {
    return {
      name: metric.name,
      type: 'histogram',
      monotonic: false,
      temporality: metric.histogram.aggregationTemporality,
      points: (metric.histogram.dataPoints ?? []).map(histogramPoint),
      resource,
    };
  }
  if (metric.sum) {
    return {
      name: metric.name,
      type: 'sum',
      monotonic: metric.sum.isMonotonic === true,
      temporality: metric.sum.aggregationTemporality,
      points: (metric.sum.dataPoints ?? []).map(numberPoint),
      resource,
    };
  }
  return {
    name: metric.name,
    type: 'gauge',
    monotonic: false,
    temporality: undefined,
    points: (metric.gauge?.dataPoints ?? []).map(numberPoint),
    resource,
  };
}

/**
 * An OTLP/HTTP collector for tests, taking what the SDK sends with
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/json on POST /v1/traces and /v1/metrics and decoding it after
 * the protocol's JSON mapping (ids in hex). `hang` makes it read requests and never answer, as
 * a collector stuck behind a full disk would.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Each metrics export received, in order: its metrics. */
  readonly metricExports: ReceivedMetric[][] = [];
  hang = false;
  /** Export requests open at once, at most, by path; with `hang` none is ever answered. */
  readonly maxOpen = new Map<string, number>();
  requests = 0;
  private readonly open = new Map<string, number>();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<() => void>();
  port = 0;

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => void this.handle(request, response));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  /** Resolves with the first span `predicate` accepts, waiting up to `timeoutMs` for it. */
  waitForSpan(
    predicate: (span: ReceivedSpan) => boolean,
    timeoutMs = 15_000,
  ): Promise<ReceivedSpan> {
    return this.waitFor(() => this.spans.find(predicate), timeoutMs);
  }

  /** Resolves with the first metrics export `predicate` accepts. */
  waitForMetricExport(
    predicate: (metrics: ReceivedMetric[]) => boolean,
    timeoutMs = 15_000,
  ): Promise<ReceivedMetric[]> {
    return this.waitFor(() => this.metricExports.find(predicate), timeoutMs);
  }

  private waitFor<T>(find: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (!found) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const names = this.spans.map((s) => s.name).join(', ');
        const metrics = this.metricExports.length;
        reject(
          new Error(
            `not received within ${timeoutMs} ms; spans: ${names}; metrics exports: ${metrics}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.requests += 1;
    const path = request.url ?? '';
    const open = (this.open.get(path) ?? 0) + 1;
    this.open.set(path, open);
    this.maxOpen.set(path, Math.max(this.maxOpen.get(path) ?? 0, open));
    response.on('close', () => this.open.set(path, (this.open.get(path) ?? 1) - 1));
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (this.hang) return;
    const json = request.headers['content-type'] === 'application/json';
    if (path === '/v1/metrics' && json) {
      const body = JSON.parse(
        Buffer.concat(chunks).toString('utf8'),
      ) as ExportMetricsServiceRequest;
      const metrics: ReceivedMetric[] = [];
      for (const resourceMetrics of body.resourceMetrics ?? []) {
        const resource = record(resourceMetrics.resource?.attributes);
        for (const scope of resourceMetrics.scopeMetrics ?? []) {
          for (const metric of scope.metrics ?? []) metrics.push(receivedMetric(metric, resource));
        }
      }
      this.metricExports.push(metrics);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      for (const wake of this.waiters) wake();
      return;
    }
    if (path !== '/v1/traces' || !json) {
      response.writeHead(415).end();
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportTraceServiceRequest;
    for (const resourceSpans of body.resourceSpans ?? []) {
      const resource = record(resourceSpans.resource?.attributes);
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            traceState: span.traceState || undefined,
            name: span.name,
            kind: span.kind,
            attributes: record(span.attributes),
            resource,
            links: (span.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            statusCode: span.status?.code ?? 0,
          });
        }
      }
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    for (const wake of this.waiters) wake();
  }
}

/** OTLP's SpanKind numbers (trace.proto). */
export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;
