import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type Method = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

function forward(logger: FastifyBaseLogger, method: Method, args: unknown[]): void {
  (logger[method] as (...args: unknown[]) => void).apply(logger, args);
}

/**
 * A child logger made on first use. Fastify gives every request a child bound to its id, but a
 * request that goes well never logs through it (the access line has a logger of its own), and
 * making a pino child serialises its bindings: a few percent of a point read, for nothing.
 */
class DeferredChild implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  #made: FastifyBaseLogger | undefined;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  #logger(): FastifyBaseLogger {
    return (this.#made ??= this.#parent.child(this.#bindings, this.#options));
  }

  get level(): string {
    return this.#made?.level ?? this.#options.level ?? this.#parent.level;
  }

  set level(level: string) {
    this.#logger().level = level;
  }

  // Methods on the prototype, not arrow-function fields: one object per request, no closures.
  fatal(...args: unknown[]): void {
    forward(this.#logger(), 'fatal', args);
  }
  error(...args: unknown[]): void {
    forward(this.#logger(), 'error', args);
  }
  warn(...args: unknown[]): void {
    forward(this.#logger(), 'warn', args);
  }
  info(...args: unknown[]): void {
    forward(this.#logger(), 'info', args);
  }
  debug(...args: unknown[]): void {
    forward(this.#logger(), 'debug', args);
  }
  trace(...args: unknown[]): void {
    forward(this.#logger(), 'trace', args);
  }
  silent(...args: unknown[]): void {
    forward(this.#logger(), 'silent', args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`: each request's logger, made only if the request logs. */
export function deferredChildLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new DeferredChild(logger, bindings, options);
}
