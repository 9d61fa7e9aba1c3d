import { trace, TraceFlags, type Context } from '@opentelemetry/api';
import { SamplingDecision, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace';

/**
 * The configured sampler, with a bound on the traces a process takes on each second. A trace
 * is taken on where it enters the process: a span with no parent (a clock tick, a delivery, a
 * request with no `traceparent`) or with a remote one (a request continuing a caller's trace).
 * A caller's `traceparent` can ask for sampling with its flag, and for a `traceidratio` sampler
 * its trace id can be chosen to pass: the bound keeps either from making every request traced.
 * A trace refused is still continued (same trace id in the logs and propagated on), just not
 * recorded, and counted. Spans under a local parent follow that parent, so a trace is whole or
 * absent.
 */
export class RateLimitedSampler implements Sampler {
  readonly #inner: Sampler;
  readonly #perSecond: number;
  readonly #onLimited: () => void;
  #tokens: number;
  #refilledAt = performance.now();

  constructor(options: { inner: Sampler; perSecond: number; onLimited: () => void }) {
    this.#inner = options.inner;
    this.#perSecond = options.perSecond;
    this.#onLimited = options.onLimited;
    // A burst of up to one second's worth, then the rate.
    this.#tokens = options.perSecond;
  }

  shouldSample(
    context: Context,
    ...rest: Parameters<Sampler['shouldSample']> extends [Context, ...infer R] ? R : never
  ): SamplingResult {
    const parent = trace.getSpanContext(context);
    if (parent && trace.isSpanContextValid(parent) && !parent.isRemote) {
      const sampled = (parent.traceFlags & TraceFlags.SAMPLED) !== 0;
      return {
        decision: sampled ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD,
      };
    }
    const result = this.#inner.shouldSample(context, ...rest);
    if (result.decision !== SamplingDecision.RECORD_AND_SAMPLED || this.#take()) return result;
    this.#onLimited();
    return { decision: SamplingDecision.NOT_RECORD };
  }

  /**
   * Whether a trace could be recorded now, without taking it: when not, an entry point makes no
   * span at all (context.ts, startEntrySpan), and the refusal is counted here.
   */
  open(): boolean {
    this.#refill();
    if (this.#tokens >= 1) return true;
    this.#onLimited();
    return false;
  }

  #take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(
      this.#perSecond,
      this.#tokens + ((now - this.#refilledAt) * this.#perSecond) / 1000,
    );
    this.#refilledAt = now;
  }

  toString(): string {
    return `RateLimited{${this.#inner.toString()}, ${this.#perSecond}/s}`;
  }
}
