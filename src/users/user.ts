/**
 * A user record as every store returns it and every route prints it. Key order matters: the
 * tutorial (Sails 0.12) prints attributes first, then `createdAt`, `updatedAt`, `id`.
 */
export interface User {
  name: string;
  email?: string;
  createdAt: string;
  updatedAt: string;
  id: string;
}

/** The attributes a client may write. `email: null` clears the address on update. */
export interface UserInput {
  name: string;
  email?: string | null;
}
export type UserChanges = Partial<UserInput>;

/** Every field a client may filter or sort on, with the kind of value it holds. */
export const FIELDS = {
  name: 'string',
  email: 'string',
  createdAt: 'date',
  updatedAt: 'date',
  id: 'id',
} as const;
export type Field = keyof typeof FIELDS;
export const ATTRIBUTES = ['name', 'email'] as const;

export const USER_ID_PATTERN = '^[0-9a-f]{24}$';
const userIdRegExp = new RegExp(USER_ID_PATTERN);
export function isUserId(value: string): boolean {
  return userIdRegExp.test(value);
}

// The schemas below are the single source of validation, serialization and the OpenAPI document.
/**
 * No control characters and no lone UTF-16 surrogates: PostgreSQL cannot store NUL, and a lone
 * surrogate would be silently replaced on its way to UTF-8 — a record must read back as written.
 */
export const PRINTABLE_PATTERN = '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]*$';
const printable = new RegExp(PRINTABLE_PATTERN, 'u');
export function isPrintable(value: string): boolean {
  return printable.test(value);
}

// Plain JSON Schema objects: Fastify compiles them once; no schema builder is loaded at start.
export const NameSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 100,
  pattern: PRINTABLE_PATTERN,
  description: 'Display name, 1–100 characters after trimming.',
  examples: ['bingo'],
} as const;
export const EmailSchema = {
  type: 'string',
  format: 'email',
  maxLength: 254,
  description: 'E-mail address, unique compared case-insensitively.',
  examples: ['bingo@example.com'],
} as const;
export const UserIdSchema = {
  type: 'string',
  pattern: USER_ID_PATTERN,
  description: '24 lowercase hex digits (MongoDB ObjectId form, time-ordered).',
  examples: ['58a41d952f53291200b9e065'],
} as const;
const Timestamp = {
  type: 'string',
  format: 'date-time',
  examples: ['2017-02-13T06:13:53.791Z'],
} as const;

/** Present in every record; `email` only when set. */
export const ALWAYS_PRESENT = ['name', 'createdAt', 'updatedAt', 'id'] as const;

/**
 * The record as served. It lists no `required` members on purpose: the serializer emits required
 * members first, which would move `email` behind `id`; the OpenAPI document adds ALWAYS_PRESENT.
 */
export const UserSchema = {
  $id: 'User',
  title: 'User',
  type: 'object',
  properties: {
    name: NameSchema,
    email: EmailSchema,
    createdAt: Timestamp,
    updatedAt: Timestamp,
    id: UserIdSchema,
  },
} as const;

/**
 * The body of a create or update after the query string and body were merged. Server-managed
 * fields are accepted (clients echo records back) and dropped; anything else is rejected.
 */
export function userInputSchema(options: { requireName: boolean }) {
  return {
    type: 'object',
    properties: {
      name: NameSchema,
      email: { anyOf: [EmailSchema, { type: 'null' }] },
      id: {},
      createdAt: {},
      updatedAt: {},
    },
    required: options.requireName ? ['name'] : [],
    additionalProperties: false,
  } as const;
}

/** Trims the writable string attributes; the rules above hold for the trimmed values. */
export function normalizeInput(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const key of ATTRIBUTES) {
    const value = out[key];
    if (typeof value === 'string') out[key] = value.trim();
  }
  return out;
}

/** Drops server-managed fields and keeps only writable attributes that were sent. */
export function pickChanges(input: Record<string, unknown>): UserChanges {
  const changes: UserChanges = {};
  if (typeof input.name === 'string') changes.name = input.name;
  if (typeof input.email === 'string' || input.email === null) changes.email = input.email;
  return changes;
}

/**
 * The key that makes e-mail addresses unique: compared case-insensitively (Unicode lower case,
 * NFC), computed here so every store enforces the same rule with a plain unique index.
 */
export function emailKey(email: string): string {
  return email.normalize('NFC').toLowerCase();
}

/**
 * A name as case-insensitive text matching (`contains`…) compares it: JavaScript's full Unicode
 * lower case. SQL stores keep it in a column written with the name, so matching runs in the
 * engine with no per-row call back into JavaScript; patterns are folded the same way.
 */
export function nameKey(name: string): string {
  return name.toLowerCase();
}
