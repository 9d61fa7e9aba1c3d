import { anyCause } from './connection-errors.ts';

/**
 * The store's server answers, but is a version this code cannot work with. Not an outage:
 * waiting does not help, so start-up stops at once and says which version it found.
 */
export class UnsupportedServerError extends Error {
  /** The server's release, e.g. "3.2" or "4.2.24". */
  readonly found: string;
  /** The oldest release this code supports, e.g. "4.4". */
  readonly required: string;
  readonly address: string | undefined;

  constructor(options: { product: string; found: string; required: string; address?: string }) {
    const where = options.address === undefined ? '' : ` at ${options.address}`;
    super(
      `${options.product}${where} is version ${options.found}; 12factor-app needs ${options.product} ${options.required} or later`,
    );
    this.name = 'UnsupportedServerError';
    this.found = options.found;
    this.required = options.required;
    this.address = options.address;
  }
}

/** The UnsupportedServerError in an error's cause chain, if any. */
export function unsupportedServer(error: unknown): UnsupportedServerError | undefined {
  let found: UnsupportedServerError | undefined;
  anyCause(error, (e) => {
    if (e instanceof UnsupportedServerError) found = e;
    return found !== undefined;
  });
  return found;
}
