import { EJSON, ObjectId } from 'bson';
import type { FieldError } from '../users/errors.ts';

/*
 * The tutorial's users as `mongoexport --collection user` writes them: Sails documents in
 * MongoDB Extended JSON, canonical or relaxed (https://www.mongodb.com/docs/manual/reference/mongodb-extended-json/):
 *   {"_id":{"$oid":"58a4…"},"name":"bingo","createdAt":{"$date":"2017-02-13T06:13:53.791Z"},…}
 * `$date` may also be {"$numberLong":"…"} (canonical, or a year outside 1970–9999).
 */

/** The attributes of a Sails user that our record keeps; `_id` becomes `id`. */
const KEPT = new Set(['_id', 'name', 'email', 'createdAt', 'updatedAt']);

export type SailsResult =
  | {
      /** The record in our export's shape, to be checked by the same rules as ours. */
      record: Record<string, unknown>;
      /** Attributes the document has that a user of ours cannot keep. */
      dropped: string[];
    }
  | { errors: FieldError[] };

/** Whether a parsed line is a MongoDB document (`_id`) rather than one of our records (`id`). */
export function isMongoDocument(value: Record<string, unknown>): boolean {
  return Object.hasOwn(value, '_id') && !Object.hasOwn(value, 'id');
}

/**
 * Sails stores Dates (`$date`), converted here. A string (written by hand or another tool) is
 * passed on as it is, for the record schema's date-time format to judge as on any line of
 * ours: `new Date()` would take "1" or a local time without its zone and invent an instant.
 */
function timestamp(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : undefined;
}

/**
 * A Sails document, as parsed JSON, converted to our record with its id and timestamps kept.
 * The bson package reads the Extended JSON types; everything it cannot read, and an `_id` that
 * is not an ObjectId, is an error for that line.
 */
export function fromSailsDocument(json: Record<string, unknown>): SailsResult {
  let doc: Record<string, unknown>;
  try {
    doc = EJSON.deserialize(json, { relaxed: true }) as Record<string, unknown>;
  } catch (error) {
    return {
      errors: [
        { field: 'line', message: `is not valid Extended JSON (${(error as Error).message})` },
      ],
    };
  }
  const errors: FieldError[] = [];
  if (!(doc._id instanceof ObjectId)) {
    errors.push({ field: '_id', message: 'must be an ObjectId ({"$oid": "…"})' });
  }
  const record: Record<string, unknown> = {
    name: doc.name,
    ...(doc.email === undefined ? {} : { email: doc.email }),
    id: doc._id instanceof ObjectId ? doc._id.toHexString() : undefined,
  };
  for (const field of ['createdAt', 'updatedAt'] as const) {
    if (doc[field] === undefined) continue;
    const time = timestamp(doc[field]);
    if (time === undefined) errors.push({ field, message: 'must be a date ({"$date": …})' });
    else record[field] = time;
  }
  if (errors.length > 0) return { errors };
  return { record, dropped: Object.keys(doc).filter((key) => !KEPT.has(key)) };
}
