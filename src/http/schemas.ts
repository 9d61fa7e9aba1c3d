import { FIELDS, UserSchema, userInputSchema } from '../users/user.ts';

export { UserSchema };

const string = { type: 'string' } as const;
export const ProblemSchema = {
  $id: 'Problem',
  title: 'Problem (RFC 9457)',
  type: 'object',
  properties: {
    type: string,
    title: string,
    status: { type: 'integer' },
    detail: string,
    instance: string,
    code: string,
    requestId: string,
    errors: {
      type: 'array',
      items: { type: 'object', properties: { field: string, message: string } },
    },
  },
  required: ['type', 'title', 'status', 'detail', 'instance', 'code', 'requestId'],
} as const;

export const userRef = { $ref: 'User#' } as const;
export const problemRef = { $ref: 'Problem#' } as const;

const filterParams = Object.fromEntries(
  Object.keys(FIELDS).map((field) => [
    field,
    { type: 'string', description: `Equality filter on \`${field}\` (exact match).` },
  ]),
);

export const ListQuerySchema = {
  type: 'object',
  properties: {
    where: {
      type: 'string',
      description:
        'JSON criteria: `{"name":{"contains":"bin"}}`; operators `<` `<=` `>` `>=` `!` (or Sails\' `lessThan` `lessThanOrEqual` `greaterThan` `greaterThanOrEqual` `not`) `in` `like` `contains` `startsWith` `endsWith`, and `or`/`and` arrays. At most 100 terms, 8 levels, 1000 list values, 10 text-matching operators with 500 pattern characters together; past that, 400 QUERY_TOO_COMPLEX.',
    },
    sort: {
      type: 'string',
      description: '`"name DESC"`, `"name ASC,createdAt DESC"` or `{"name":-1}`; at most 10 keys.',
    },
    limit: { type: 'string', description: 'Page size, 1–1000 (default 30).' },
    skip: { type: 'string', description: 'Records to skip (default 0).' },
    ...filterParams,
  },
  additionalProperties: false,
} as const;

export const IdParamsSchema = {
  type: 'object',
  properties: { id: { type: 'string' } },
  required: ['id'],
} as const;
export const CreateBodySchema = userInputSchema({ requireName: true });
export const UpdateBodySchema = userInputSchema({ requireName: false });

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, problemRef]));

/** `Idempotency-Key` (retried creates, docs/reliability.md): 1–255 printable ASCII characters, as Stripe and the IETF draft use. */
export const CreateHeadersSchema = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x20-\\x7E]+$',
      description:
        'Makes a retried create safe: the same key with the same attributes replays the first answer (201, `Idempotent-Replayed: true`) instead of creating again; with other attributes it is a 422. Remembered for IDEMPOTENCY_TTL_MS (24 h), per bearer token.',
    },
  },
} as const;
