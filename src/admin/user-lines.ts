import { Ajv, type ErrorObject } from 'ajv';
import formatsModule from 'ajv-formats';
import type { FieldError } from '../users/errors.ts';
import { EmailSchema, NameSchema, UserIdSchema, normalizeInput } from '../users/user.ts';
import type { NewUser } from '../users/user-store.ts';
import { fromSailsDocument, isMongoDocument } from './sails-records.ts';

// ajv-formats is CommonJS; under Node's ESM its default import is module.exports, whose
// `default` is the plugin (and what TypeScript's nodenext typing sees).
const addFormats = formatsModule.default;

/** The API's timestamp form exactly: ISO-8601, UTC, milliseconds. Anything else would not round-trip. */
const Timestamp = {
  type: 'string',
  format: 'date-time',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$',
} as const;

/**
 * One line of an export: a whole record. The attribute rules are the HTTP layer's own schemas
 * (NameSchema, EmailSchema, UserIdSchema), so a file the API could not have produced is refused.
 */
export const UserLineSchema = {
  type: 'object',
  properties: {
    name: NameSchema,
    email: { anyOf: [EmailSchema, { type: 'null' }] },
    createdAt: Timestamp,
    updatedAt: Timestamp,
    id: UserIdSchema,
  },
  required: ['name', 'createdAt', 'updatedAt', 'id'],
  additionalProperties: false,
} as const;

/** A valid line's user; `dropped` names attributes of a MongoDB document that are not kept. */
export type LineResult = { user: NewUser; dropped?: string[] } | { errors: FieldError[] };

/** Ajv's errors as `{field, message}` pairs naming the attribute, one per field. */
function fieldErrors(errors: ErrorObject[]): FieldError[] {
  const all = errors.map((e) => {
    const field = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
    if (e.keyword === 'additionalProperties') {
      return { field: String(e.params.additionalProperty), message: 'is not a known attribute' };
    }
    if (e.keyword === 'required') {
      return { field: String(e.params.missingProperty), message: 'is required' };
    }
    if (e.keyword === 'pattern' && (field === 'createdAt' || field === 'updatedAt')) {
      return { field, message: 'must be UTC with milliseconds, e.g. 2024-01-01T00:00:00.000Z' };
    }
    return { field: field || 'line', message: e.message ?? 'is invalid' };
  });
  // A union (an address or null) fails once per branch: keep the first reason per field.
  return all.filter((e, i) => all.findIndex((other) => other.field === e.field) === i);
}

/**
 * Compiles the line validator once. A line is one of our records (`admin export`'s NDJSON) or a
 * document of the tutorial's Sails `user` collection as mongoexport writes it (it has `_id`),
 * converted first and then held to the same rules. Options as the HTTP layer's Ajv (no
 * coercion, no removal, every error), formats from ajv-formats as Fastify adds them.
 */
export function createLineParser(): (text: string) => LineResult {
  const ajv = new Ajv({ allErrors: true, coerceTypes: false, removeAdditional: false });
  addFormats(ajv);
  const validate = ajv.compile(UserLineSchema);
  return (text) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { errors: [{ field: 'line', message: 'is not valid JSON' }] };
    }
    let input = parsed;
    let dropped: string[] | undefined;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      let fields = parsed as Record<string, unknown>;
      if (isMongoDocument(fields)) {
        const converted = fromSailsDocument(fields);
        if ('errors' in converted) return converted;
        ({ record: fields, dropped } = converted);
      }
      input = normalizeInput(fields);
    }
    if (!validate(input)) {
      const errors = fieldErrors(validate.errors ?? []);
      // A MongoDB document's id is its `_id`: name the attribute the file has.
      if (dropped === undefined) return { errors };
      return { errors: errors.map((e) => (e.field === 'id' ? { ...e, field: '_id' } : e)) };
    }
    const record = input as {
      name: string;
      email?: string | null;
      createdAt: string;
      updatedAt: string;
      id: string;
    };
    if (record.updatedAt < record.createdAt) {
      return { errors: [{ field: 'updatedAt', message: 'must not be before createdAt' }] };
    }
    return {
      user: {
        id: record.id,
        name: record.name,
        email: record.email ?? undefined,
        createdAt: record.createdAt,
        updatedAt: record.updatedAt,
      },
      ...(dropped && dropped.length > 0 ? { dropped } : {}),
    };
  };
}
