import { Counter, type Registry } from 'prom-client';
import type { TelemetrySettings } from '../config/index.ts';
import type { DropReason } from './bounded-export.ts';

export interface Tracing {
  /** False: nothing is traced and nothing of the trace SDK is loaded. */
  readonly enabled: boolean;
  /**
   * Adds the telemetry counters to a process's /metrics and, when the OTLP metrics export is
   * on, starts sending this registry's instruments over OTLP.
   */
  register(registry: Registry): void;
  /** Exports what is queued (spans, last metrics), giving up after `timeoutMs`; never throws. */
  shutdown(timeoutMs: number): Promise<void>;
}

const OFF: Tracing = Object.freeze({
  enabled: false,
  register: () => undefined,
  shutdown: async () => undefined,
});

interface Shutdown {
  shutdown(): Promise<void>;
}

/**
 * A counter read at scrape time from counts the SDK side keeps, so that side never touches
 * prom-client: `values` gives each label set's count.
 */
function countedAtScrape(
  registry: Registry,
  name: string,
  help: string,
  values: () => [Record<string, string>, number][],
): void {
  new Counter({
    name,
    help,
    labelNames: [...new Set(values().flatMap(([labels]) => Object.keys(labels)))],
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, count] of values()) this.inc(labels, count);
    },
  });
}

/**
 * Starts tracing and the OTLP metrics export for one process, each when its config turns it on
 * (an OTLP endpoint is set). The exporters run off the request path: spans wait in a bounded
 * queue, and those that do not fit or whose export fails are dropped and counted, never retried
 * without end; metrics are read from the registry at each export.
 */
export async function startTracing(options: {
  settings: TelemetrySettings;
  processType: string;
  version: string;
}): Promise<Tracing> {
  const { settings } = options;
  if (!settings.enabled && !settings.metrics) return OFF;
  const { processResource } = await import('./resource.ts');
  const resource = processResource(options);
  const dropped: Record<DropReason, number> = { queue_full: 0, export_failed: 0 };
  let rateLimited = 0;
  let metricExportsFailed = 0;
  const providers: Shutdown[] = [];
  if (settings.enabled) {
    const { startSdk } = await import('./sdk.ts');
    providers.push(
      startSdk({
        settings,
        resource,
        onDrop: (count, reason) => {
          dropped[reason] += count;
        },
        onRateLimited: () => {
          rateLimited += 1;
        },
      }),
    );
  }
  const metricsSdk = settings.metrics ? await import('./metrics-sdk.ts') : undefined;
  return {
    enabled: settings.enabled,
    register(registry) {
      if (settings.enabled) {
        countedAtScrape(
          registry,
          'telemetry_spans_dropped_total',
          'Spans not exported: the queue was full (collector slow or down) or the export failed.',
          () =>
            (Object.keys(dropped) as DropReason[]).map((reason) => [{ reason }, dropped[reason]]),
        );
        countedAtScrape(
          registry,
          'telemetry_traces_rate_limited_total',
          'Traces the sampler took that were not recorded: past TRACES_MAX_PER_SECOND.',
          () => [[{}, rateLimited]],
        );
      }
      if (metricsSdk && settings.metrics) {
        countedAtScrape(
          registry,
          'telemetry_metric_exports_failed_total',
          'OTLP metrics exports that failed (collector down, refusing or past the timeout).',
          () => [[{}, metricExportsFailed]],
        );
        providers.push(
          metricsSdk.startMetricsExport({
            settings: settings.metrics,
            headers: settings.headers,
            exportTimeoutMs: settings.timeoutMs,
            registry,
            resource,
            onFailed: () => {
              metricExportsFailed += 1;
            },
          }),
        );
      }
    },
    async shutdown(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      const flushed = Promise.all(providers.map((p) => p.shutdown().catch(() => undefined)));
      await Promise.race([flushed, late]);
      clearTimeout(timer);
    },
  };
}
