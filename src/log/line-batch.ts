import { register } from 'on-exit-leak-free';
import type { DestinationStream } from 'pino';

/**
 * What LineBatch needs of the stream behind it: pino.destination's SonicBoom in its buffer mode
 * has all of it.
 */
export interface BatchedDestination {
  write(chunk: Buffer): unknown;
  flush(callback?: (error?: Error | null) => void): void;
  flushSync(): void;
}

/** Most text held until the turn ends; past it the lines are handed over at once. */
const MAX_PENDING = 16 * 1024;

/**
 * Hands the lines logged during one turn of the event loop to `destination` as one write, at the
 * end of that turn, encoded once as UTF-8. sonic-boom (pino.destination) given text works out
 * the UTF-8 length of its whole pending chunk on every write, flattening it first, and again
 * when a write completes: while a write to stdout is in flight that chunk grows to 16 KiB, so
 * each access line copied kilobytes and left them as garbage (a fifth of the web process's
 * allocation under load). Given bytes, it keeps their lengths instead.
 *
 * Order is kept: lines reach `destination` in the order they were written. `flush` and
 * `flushSync` hand over what is pending first, and so does the process's exit, so a line logged
 * just before `process.exit()` is written like any other.
 */
export class LineBatch implements DestinationStream {
  readonly #destination: BatchedDestination;
  #pending = '';
  #scheduled = false;
  readonly #handOver = () => {
    this.#scheduled = false;
    this.#drain();
  };

  constructor(destination: BatchedDestination) {
    this.#destination = destination;
    // A weak registration: a batch nobody holds any more is not kept alive for the exit.
    register(this, (batch) => batch.flushSync());
  }

  write(line: string): void {
    this.#pending += line;
    if (this.#pending.length >= MAX_PENDING) return this.#drain();
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#handOver);
  }

  flush(callback?: (error?: Error | null) => void): void {
    this.#drain();
    this.#destination.flush(callback);
  }

  flushSync(): void {
    this.#drain();
    this.#destination.flushSync();
  }

  #drain(): void {
    if (this.#pending === '') return;
    const lines = this.#pending;
    this.#pending = '';
    this.#destination.write(Buffer.from(lines));
  }
}
