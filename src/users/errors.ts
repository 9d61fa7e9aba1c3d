/**
 * The domain's error catalogue. Every failure the domain or a store reports carries one of these
 * stable codes; the HTTP layer maps codes to statuses in exactly one place (src/http/problems.ts).
 */
export const DomainErrorCode = {
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  EMAIL_TAKEN: 'EMAIL_TAKEN',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  SCHEMA_OUTDATED: 'SCHEMA_OUTDATED',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
} as const;
export type DomainErrorCode = (typeof DomainErrorCode)[keyof typeof DomainErrorCode];

export interface FieldError {
  field: string;
  message: string;
}

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly errors: FieldError[] | undefined;
  /** The cause's own code (e.g. SQLITE_FULL, 57014), so the log names what really happened. */
  readonly causeCode: string | undefined;

  constructor(
    code: DomainErrorCode,
    message: string,
    options: { errors?: FieldError[]; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'DomainError';
    this.code = code;
    this.errors = options.errors;
    const causeCode = (options.cause as { code?: unknown } | undefined)?.code;
    this.causeCode = typeof causeCode === 'string' ? causeCode : undefined;
  }
}

export function isDomainError(error: unknown, code?: DomainErrorCode): error is DomainError {
  return error instanceof DomainError && (code === undefined || error.code === code);
}

export const userNotFound = (id: string) =>
  new DomainError(DomainErrorCode.USER_NOT_FOUND, `No user has the id ${JSON.stringify(id)}.`);

export const validationFailed = (errors: FieldError[]) =>
  new DomainError(
    DomainErrorCode.VALIDATION_FAILED,
    errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    { errors },
  );

/** A list query past the documented budget (QUERY_BUDGET); `errors` names the limit. */
export const queryTooComplex = (errors: FieldError[]) =>
  new DomainError(
    DomainErrorCode.QUERY_TOO_COMPLEX,
    `${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}. Split the query or narrow it.`,
    { errors },
  );

export const emailTaken = () =>
  new DomainError(DomainErrorCode.EMAIL_TAKEN, 'Another user already has this e-mail address.', {
    errors: [{ field: 'email', message: 'is already taken' }],
  });

export const preconditionFailed = () =>
  new DomainError(
    DomainErrorCode.PRECONDITION_FAILED,
    'The user changed since the given ETag was read.',
  );

export const storeUnavailable = (cause: unknown) =>
  new DomainError(DomainErrorCode.STORE_UNAVAILABLE, 'The store cannot be reached.', { cause });

/** The store answers but runs a version this code cannot use; the cause says which. */
export const storeUnsupported = (cause: unknown) =>
  new DomainError(
    DomainErrorCode.STORE_UNAVAILABLE,
    "The store's server version is not supported.",
    {
      cause,
    },
  );

export const schemaOutdated = (pending: string[]) =>
  new DomainError(
    DomainErrorCode.SCHEMA_OUTDATED,
    `The store's schema is older than this code; pending migrations: ${pending.join(', ')}. Run \`npm run migrate\`.`,
  );

export const idempotencyKeyReused = () =>
  new DomainError(
    DomainErrorCode.IDEMPOTENCY_KEY_REUSED,
    'This Idempotency-Key was already used for a different request; send a new key for a new user.',
  );

/**
 * A migration could not build a unique index because existing records already share a value:
 * bad data to fix, then rerun, not a conflict of the current request (EMAIL_TAKEN).
 */
export const migrationFoundDuplicates = (
  migration: string,
  /** `count` 0 when unknown (only the server's first example is known). */
  duplicates: readonly { key: Record<string, unknown>; count: number; ids: readonly string[] }[],
) => {
  const errors = duplicates.map(({ key, count, ids }) => {
    const value = Object.values(key)
      .map((v) => JSON.stringify(v))
      .join(', ');
    const holders = count > 0 ? `${count} records` : 'more than one record';
    const which = ids.length > 0 ? ` (${ids.join(', ')}${count > ids.length ? ', …' : ''})` : '';
    return {
      field: Object.keys(key).join(', '),
      message: `${value} is held by ${holders}${which}`,
    };
  });
  return new DomainError(
    DomainErrorCode.VALIDATION_FAILED,
    `Migration ${migration} found records sharing a value that must be unique: ` +
      `${errors.map((e) => `${e.field} ${e.message}`).join('; ') || 'the server did not say which'}. ` +
      'Make each value unique (or remove it), then run the migration again.',
    { errors },
  );
};
