import { MongoServerError, type Db, type Document } from 'mongodb';
import { EMAIL_KEY_INDEX } from './mongo-schema.ts';

/** A key value that several documents share, which a unique index being built forbids. */
export interface DuplicateValue {
  /** The shared value, field by field. */
  key: Record<string, unknown>;
  count: number;
  /** Some of the documents' ids, as text. */
  ids: string[];
}

const MAX_GROUPS = 10;
const MAX_IDS = 5;

/** The partial unique indexes, by name: only the documents their filter selects take part. */
const PARTIAL_FILTERS: Readonly<Record<string, Document>> = {
  [EMAIL_KEY_INDEX.name]: EMAIL_KEY_INDEX.partialFilterExpression,
};

/**
 * A createIndexes that failed on existing data: MongoDB answers E11000 and names the collection
 * in its message ("… collection: app.users index: … dup key: { … }"), the key pattern and the
 * first duplicate value in fields (4.4+). Undefined for any other error.
 */
export function indexBuildDuplicate(error: unknown):
  | {
      collection: string;
      fields: string[];
      /** The index's own filter when it is partial (PARTIAL_FILTERS), else undefined. */
      partialFilter: Document | undefined;
      first: Record<string, unknown> | undefined;
    }
  | undefined {
  if (!(error instanceof MongoServerError) || error.code !== 11000) return undefined;
  const namespace = /collection: (\S+)/.exec(error.message)?.[1];
  const keyPattern = (error as { keyPattern?: Record<string, unknown> }).keyPattern;
  if (namespace === undefined || keyPattern === undefined) return undefined;
  const collection = namespace.slice(namespace.indexOf('.') + 1);
  const first = (error as { keyValue?: Record<string, unknown> }).keyValue;
  const index = /index: (\S+)/.exec(error.message)?.[1];
  const partialFilter = index === undefined ? undefined : PARTIAL_FILTERS[index];
  return { collection, fields: Object.keys(keyPattern), partialFilter, first };
}

/**
 * The values of `fields` held by more than one document, at most ten, each with up to five ids.
 * Of a partial index, only the documents its own filter selects count, as for the index;
 * otherwise documents missing a field are left out.
 */
export function duplicatesPipeline(
  fields: readonly string[],
  partialFilter?: Document,
): Document[] {
  return [
    {
      $match:
        partialFilter ?? Object.fromEntries(fields.map((f) => [f, { $exists: true, $ne: null }])),
    },
    {
      $group: {
        _id: Object.fromEntries(fields.map((f) => [f, `$${f}`])),
        count: { $sum: 1 },
        ids: { $push: '$_id' },
      },
    },
    { $match: { count: { $gt: 1 } } },
    { $sort: { count: -1, _id: 1 } },
    { $limit: MAX_GROUPS },
    { $project: { count: 1, ids: { $slice: ['$ids', MAX_IDS] } } },
  ];
}

export async function findDuplicates(
  db: Db,
  collection: string,
  fields: readonly string[],
  partialFilter?: Document,
): Promise<DuplicateValue[]> {
  const groups = await db
    .collection(collection)
    .aggregate<{ _id: Record<string, unknown>; count: number; ids: unknown[] }>(
      duplicatesPipeline(fields, partialFilter),
      { allowDiskUse: true },
    )
    .toArray();
  return groups.map((group) => ({
    key: group._id,
    count: group.count,
    ids: group.ids.map((id) => String(id)),
  }));
}
