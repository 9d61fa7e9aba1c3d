import { DomainErrorCode, isDomainError, type FieldError } from '../users/errors.ts';

/**
 * The one map from error codes to HTTP. Every error a client can see is listed here, with the
 * status it gets; the README's error table is checked against this catalogue by a test.
 */
export const PROBLEMS = {
  [DomainErrorCode.USER_NOT_FOUND]: { status: 404, title: 'User not found' },
  [DomainErrorCode.VALIDATION_FAILED]: { status: 400, title: 'Invalid request' },
  [DomainErrorCode.QUERY_TOO_COMPLEX]: { status: 400, title: 'Query too complex' },
  [DomainErrorCode.EMAIL_TAKEN]: { status: 409, title: 'E-mail address taken' },
  [DomainErrorCode.PRECONDITION_FAILED]: { status: 412, title: 'Precondition failed' },
  [DomainErrorCode.STORE_UNAVAILABLE]: { status: 503, title: 'Store unavailable' },
  [DomainErrorCode.SCHEMA_OUTDATED]: { status: 503, title: 'Schema outdated' },
  [DomainErrorCode.IDEMPOTENCY_KEY_REUSED]: { status: 422, title: 'Idempotency key reused' },
  ROUTE_NOT_FOUND: { status: 404, title: 'Not found' },
  MALFORMED_BODY: { status: 400, title: 'Malformed request body' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  NOT_ACCEPTABLE: { status: 406, title: 'Not acceptable' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  OVERLOADED: { status: 503, title: 'Overloaded' },
  RESPONSE_TIMEOUT: { status: 503, title: 'Response timeout' },
  AUTH_UNAVAILABLE: { status: 503, title: 'Authentication unavailable' },
  DRAINING: { status: 503, title: 'Shutting down' },
  STARTING: { status: 503, title: 'Starting up' },
  INTERNAL_ERROR: { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, { status: number; title: string }>;
export type ProblemCode = keyof typeof PROBLEMS;

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 5;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ProblemCode;
  requestId: string;
  errors?: FieldError[];
}

export function problemType(code: ProblemCode): string {
  // Tag URIs (RFC 4151) name problem types without pretending there is a page behind them.
  return `tag:12factor-app,2026:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

export function problem(
  code: ProblemCode,
  detail: string,
  context: { instance: string; requestId: string; errors?: FieldError[] | undefined },
): Problem {
  const { status, title } = PROBLEMS[code];
  const doc: Problem = {
    type: problemType(code),
    title,
    status,
    detail,
    instance: context.instance,
    code,
    requestId: context.requestId,
  };
  if (context.errors) doc.errors = context.errors;
  return doc;
}

/** An error the HTTP layer itself raises (not the domain), carrying its catalogue code. */
export class ProblemError extends Error {
  readonly code: ProblemCode;
  constructor(code: ProblemCode, detail: string) {
    super(detail);
    this.name = 'ProblemError';
    this.code = code;
  }
}

interface FastifyishError {
  statusCode?: number;
  code?: string;
  message?: string;
  validation?: {
    instancePath: string;
    keyword: string;
    message?: string;
    params: Record<string, unknown>;
  }[];
  validationContext?: string;
}

/**
 * At most this many `{field, message}` pairs per problem document: enough to fix a form, while a
 * body of thousands of unknown keys costs a short answer, not one line per key.
 */
export const MAX_FIELD_ERRORS = 10;

/** Ajv's errors as `{field, message}` pairs that name the attribute, not a JSON pointer. */
function fieldErrors(error: FastifyishError): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  for (const v of error.validation ?? []) {
    const base = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
    let found: FieldError;
    if (v.keyword === 'additionalProperties') {
      const name = String(v.params.additionalProperty);
      found = { field: base ? `${base}.${name}` : name, message: 'is not a known attribute' };
    } else if (v.keyword === 'required') {
      found = { field: String(v.params.missingProperty), message: 'is required' };
    } else {
      found = {
        field: base || (error.validationContext ?? 'body'),
        message: v.message ?? 'is invalid',
      };
    }
    // A union (e.g. an address or null) fails once per branch: report the first reason per field.
    if (seen.has(found.field)) continue;
    seen.add(found.field);
    errors.push(found);
    if (errors.length === MAX_FIELD_ERRORS) break;
  }
  return errors;
}

/** Classifies anything thrown while serving a request. Unknown errors are a 500, never masked. */
export function classify(error: unknown): {
  code: ProblemCode;
  detail: string;
  errors?: FieldError[];
} {
  if (isDomainError(error)) {
    return {
      code: error.code,
      detail: error.message,
      ...(error.errors && { errors: error.errors }),
    };
  }
  if (error instanceof ProblemError) return { code: error.code, detail: error.message };
  const e = (error ?? {}) as FastifyishError;
  if (e.validation) {
    const errors = fieldErrors(e);
    return {
      code: 'VALIDATION_FAILED',
      detail: errors.map((x) => `${x.field}: ${x.message}`).join('; '),
      errors,
    };
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        code: 'BODY_TOO_LARGE',
        detail: 'The request body is larger than this service accepts.',
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        detail: 'Send application/json or application/x-www-form-urlencoded.',
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'MALFORMED_BODY', detail: e.message ?? 'The request body cannot be read.' };
  }
  if (e.statusCode === 429) {
    return { code: 'RATE_LIMITED', detail: 'Too many requests from this client; see Retry-After.' };
  }
  if (e.statusCode === 400 && error instanceof SyntaxError) {
    return { code: 'MALFORMED_BODY', detail: 'The request body is not valid JSON.' };
  }
  if (e.statusCode === 400) return { code: 'MALFORMED_BODY', detail: e.message ?? 'Bad request.' };
  if (e.statusCode === 406)
    return { code: 'NOT_ACCEPTABLE', detail: 'Cannot answer in an accepted media type.' };
  if (e.statusCode === 408)
    return { code: 'REQUEST_TIMEOUT', detail: 'The request took too long to arrive.' };
  if (e.statusCode === 413)
    return { code: 'BODY_TOO_LARGE', detail: 'The request body is too large.' };
  if (e.statusCode === 415)
    return { code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'Unsupported content type.' };
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return { code: 'BAD_REQUEST', detail: e.message ?? 'Bad request.' };
  }
  return {
    code: 'INTERNAL_ERROR',
    detail: 'The service failed to answer; the incident is logged.',
  };
}
