import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { Registry } from 'prom-client';

type PromMetric = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];
type PromValue = PromMetric['values'][number];
type Histogram = { boundaries: number[]; counts: number[]; sum: number; count: number };

/**
 * The instruments of a process's prom-client registry, read at each OTLP collection, so the
 * export carries the very series `/metrics` shows: same names, labels (as attributes) and
 * values. This is the SDK's bridge for metrics kept by another library (a MetricProducer given
 * to the reader, as OpenTelemetry's own OpenCensus bridge does); the instruments stay
 * prom-client's, and a request still updates just them.
 *
 * Counters become monotonic cumulative sums, gauges gauges, histograms explicit-bucket
 * cumulative histograms with the registry's own bounds. A summary (none is registered here)
 * would be left out: the SDK has no data point for it.
 */
export class PromRegistryProducer implements MetricProducer {
  readonly #registry: Registry;
  /** Cumulative series start when the process began counting. */
  readonly #startTime: HrTime = hrTime(0);

  constructor(registry: Registry) {
    this.#registry = registry;
  }

  async collect(): Promise<CollectionResult> {
    const endTime = hrTime();
    const metrics: MetricData[] = [];
    for (const metric of await this.#registry.getMetricsAsJSON()) {
      const converted = this.#convert(metric, endTime);
      if (converted) metrics.push(converted);
    }
    return {
      // The reader puts the SDK's resource in place of this one.
      resourceMetrics: {
        resource: emptyResource(),
        scopeMetrics: [{ scope: { name: 'prom-client' }, metrics }],
      },
      errors: [],
    };
  }

  #convert(metric: PromMetric, endTime: HrTime): MetricData | undefined {
    const descriptor = {
      name: metric.name,
      description: metric.help,
      unit: '',
      valueType: ValueType.DOUBLE,
    };
    const point = <T>(attributes: Attributes, value: T): DataPoint<T> => ({
      startTime: this.#startTime,
      endTime,
      attributes,
      value,
    });
    const cumulative = { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE };
    const numbers = () => metric.values.map((v) => point(v.labels, v.value));
    switch (String(metric.type)) {
      case 'counter':
        return {
          ...cumulative,
          dataPointType: DataPointType.SUM,
          isMonotonic: true,
          dataPoints: numbers(),
        };
      case 'gauge':
        return { ...cumulative, dataPointType: DataPointType.GAUGE, dataPoints: numbers() };
      case 'histogram':
        return {
          ...cumulative,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: [...histograms(metric).values()].map(({ attributes, histogram }) =>
            point(attributes, {
              buckets: { boundaries: histogram.boundaries, counts: histogram.counts },
              sum: histogram.sum,
              count: histogram.count,
            }),
          ),
        };
      default:
        return undefined;
    }
  }
}

/**
 * prom-client gives a histogram as flat lines: `_bucket` ones with a cumulative count under an
 * `le` label, then `_sum` and `_count`. Grouped here by their other labels, each becomes the
 * per-bucket counts OTLP carries (one more count than bounds: the last is past every bound).
 */
function histograms(
  metric: PromMetric,
): Map<string, { attributes: Attributes; histogram: Histogram }> {
  const series = new Map<string, { attributes: Attributes; histogram: Histogram }>();
  const cumulative = new Map<string, number>();
  for (const value of metric.values as (PromValue & { metricName?: string })[]) {
    const { le, ...attributes } = value.labels;
    const key = JSON.stringify(Object.entries(attributes).sort());
    let entry = series.get(key);
    if (!entry) {
      entry = { attributes, histogram: { boundaries: [], counts: [], sum: 0, count: 0 } };
      series.set(key, entry);
    }
    const { histogram } = entry;
    if (value.metricName === `${metric.name}_sum`) histogram.sum = value.value;
    else if (value.metricName === `${metric.name}_count`) histogram.count = value.value;
    else if (le !== undefined) {
      const below = cumulative.get(key) ?? 0;
      histogram.counts.push(value.value - below);
      cumulative.set(key, value.value);
      if (le !== '+Inf') histogram.boundaries.push(Number(le));
    }
  }
  return series;
}
