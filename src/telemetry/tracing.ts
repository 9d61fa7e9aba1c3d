import { Counter, type Registry } from 'prom-client';
import type { TelemetrySettings } from '../config/index.ts';
import type { DropReason } from './bounded-export.ts';

export interface Tracing {
  /** False: nothing is traced and nothing of the SDK is loaded. */
  readonly enabled: boolean;
  /** Adds `telemetry_spans_dropped_total` to a process's /metrics. */
  register(registry: Registry): void;
  /** Exports what is queued, giving up after `timeoutMs`; never throws. */
  shutdown(timeoutMs: number): Promise<void>;
}

const OFF: Tracing = Object.freeze({
  enabled: false,
  register: () => undefined,
  shutdown: async () => undefined,
});

/**
 * Starts tracing for one process when its config turns it on (an OTLP endpoint is set). The
 * exporter runs off the request path: spans wait in a bounded queue, and those that do not fit
 * or whose export fails are dropped and counted, never retried without end.
 */
export async function startTracing(options: {
  settings: TelemetrySettings;
  processType: string;
  version: string;
}): Promise<Tracing> {
  if (!options.settings.enabled) return OFF;
  const dropped: Record<DropReason, number> = { queue_full: 0, export_failed: 0 };
  const { startSdk } = await import('./sdk.ts');
  const provider = startSdk({
    ...options,
    onDrop: (count, reason) => {
      dropped[reason] += count;
    },
  });
  return {
    enabled: true,
    register(registry) {
      new Counter({
        name: 'telemetry_spans_dropped_total',
        help: 'Spans not exported: the queue was full (collector slow or down) or the export failed.',
        labelNames: ['reason'],
        registers: [registry],
        // Read at scrape time from the counts the exporter keeps, so the export path never
        // touches prom-client.
        collect() {
          this.reset();
          for (const reason of Object.keys(dropped) as DropReason[]) {
            this.inc({ reason }, dropped[reason]);
          }
        },
      });
    },
    async shutdown(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([provider.shutdown().catch(() => undefined), late]);
      clearTimeout(timer);
    },
  };
}
