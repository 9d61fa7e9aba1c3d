/**
 * Where the process is in its life, as the HTTP layer needs to know it: user routes answer 503
 * until the store is ready, and /readyz fails from the first instant of a shutdown.
 */
export type Phase = 'starting' | 'ready' | 'draining';

export class Lifecycle {
  #phase: Phase = 'starting';
  readonly #onDrain: (() => void)[] = [];

  get phase(): Phase {
    return this.#phase;
  }

  ready(): void {
    if (this.#phase === 'starting') this.#phase = 'ready';
  }

  drain(): void {
    if (this.#phase === 'draining') return;
    this.#phase = 'draining';
    for (const listener of this.#onDrain) listener();
  }

  /** Runs `listener` when draining begins (at once if it has begun). */
  onDrain(listener: () => void): void {
    if (this.#phase === 'draining') listener();
    else this.#onDrain.push(listener);
  }
}
