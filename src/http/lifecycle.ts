/**
 * Where the process is in its life, as the HTTP layer needs to know it: user routes answer 503
 * until the store is ready, and /readyz fails from the first instant of a shutdown.
 */
export type Phase = 'starting' | 'ready' | 'draining';

export class Lifecycle {
  #phase: Phase = 'starting';

  get phase(): Phase {
    return this.#phase;
  }

  ready(): void {
    if (this.#phase === 'starting') this.#phase = 'ready';
  }

  drain(): void {
    this.#phase = 'draining';
  }
}
