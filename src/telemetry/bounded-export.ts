import { TraceFlags, type Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type {
  BatchSpanProcessor,
  ReadableSpan,
  Span,
  SpanExporter,
  SpanProcessor,
} from '@opentelemetry/sdk-trace';

export type DropReason = 'queue_full' | 'export_failed';

/**
 * Counts the spans a BatchSpanProcessor holds, so that a full queue is seen (and counted) here:
 * the SDK drops such spans silently, with a diagnostic line at most. The processor's own queue
 * stays the bound; this only refuses the span the processor would have dropped.
 */
export class CountingProcessor implements SpanProcessor {
  readonly #batch: BatchSpanProcessor;
  readonly #maxQueueSize: number;
  readonly #onDrop: (count: number, reason: DropReason) => void;
  #queued = 0;

  constructor(options: {
    batch: BatchSpanProcessor;
    maxQueueSize: number;
    onDrop: (count: number, reason: DropReason) => void;
  }) {
    this.#batch = options.batch;
    this.#maxQueueSize = options.maxQueueSize;
    this.#onDrop = options.onDrop;
  }

  /** Spans the processor handed to the exporter have left its queue. */
  taken(count: number): void {
    this.#queued = Math.max(0, this.#queued - count);
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#queued >= this.#maxQueueSize) return this.#onDrop(1, 'queue_full');
    this.#queued += 1;
    this.#batch.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.#batch.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#batch.shutdown();
  }
}

/** The OTLP exporter, telling the counting processor what left the queue and what failed. */
export class CountingExporter implements SpanExporter {
  readonly #exporter: SpanExporter;
  readonly #onExport: (count: number) => void;
  readonly #onDrop: (count: number, reason: DropReason) => void;

  constructor(options: {
    exporter: SpanExporter;
    onExport: (count: number) => void;
    onDrop: (count: number, reason: DropReason) => void;
  }) {
    this.#exporter = options.exporter;
    this.#onExport = options.onExport;
    this.#onDrop = options.onDrop;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.#onExport(spans.length);
    this.#exporter.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.#onDrop(spans.length, 'export_failed');
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.#exporter.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#exporter.forceFlush?.() ?? Promise.resolve();
  }
}
