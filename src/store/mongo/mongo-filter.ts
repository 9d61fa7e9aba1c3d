import { ObjectId, type Document, type Sort } from 'mongodb';
import { FIELDS, type Field } from '../../users/user.ts';
import type { Condition, MatchMode, SortKey } from '../../users/list-query.ts';

export const PATHS = {
  name: 'name',
  email: 'email',
  createdAt: 'createdAt',
  updatedAt: 'updatedAt',
  id: '_id',
} as const satisfies Record<Field, string>;

const OPERATORS = { eq: '$eq', ne: '$ne', lt: '$lt', lte: '$lte', gt: '$gt', gte: '$gte' } as const;

/** Values in the type each field is stored as, so comparisons follow BSON order. */
function bsonValue(field: Field, value: string): string | Date | ObjectId {
  switch (FIELDS[field]) {
    case 'date':
      return new Date(value);
    case 'id':
      return ObjectId.createFromHexString(value);
    default:
      return value;
  }
}

/**
 * Translates a condition tree into a MongoDB filter. Paths come from PATHS and operators from
 * our own tables; every client value sits under an explicit operator (`$eq`, never a bare
 * value), so no client text can become a `$` operator. Same semantics as the SQL stores:
 * `{email: {$eq: null}}` matches a missing address, `$ne`/`$nin` include it.
 */
export function mongoFilter(condition: Condition | undefined): Document {
  if (condition === undefined) return {};
  switch (condition.kind) {
    // MongoDB refuses an empty $and/$or ("must be a nonempty array"). As in SQL, no conditions
    // to meet is no filter (`where={}`), and no alternatives to meet matches nothing.
    case 'and':
      if (condition.conditions.length === 0) return {};
      return condition.conditions.length === 1
        ? mongoFilter(condition.conditions[0])
        : { $and: condition.conditions.map(mongoFilter) };
    case 'or':
      if (condition.conditions.length === 0) return { $expr: false };
      return condition.conditions.length === 1
        ? mongoFilter(condition.conditions[0])
        : { $or: condition.conditions.map(mongoFilter) };
    case 'compare': {
      const { field, op, value } = condition;
      if (value === null && op !== 'eq' && op !== 'ne')
        throw new Error(`"${op}" cannot compare with null`);
      return {
        [PATHS[field]]: { [OPERATORS[op]]: value === null ? null : bsonValue(field, value) },
      };
    }
    case 'in': {
      const values = condition.values.map((v) => bsonValue(condition.field, v));
      return { [PATHS[condition.field]]: { [condition.negate ? '$nin' : '$in']: values } };
    }
    case 'match': {
      const { pattern, options } = matchRegex(condition.mode, condition.value);
      return { [PATHS[condition.field]]: { $regex: pattern, $options: options } };
    }
  }
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\-]/g, (c) => `\\${c}`);

/**
 * A case-insensitive regular expression with every character literal except, in `like` mode,
 * `%` (any run of characters, newlines included, hence the `s` option).
 */
export function matchRegex(mode: MatchMode, value: string): { pattern: string; options: string } {
  switch (mode) {
    case 'contains':
      return { pattern: escapeRegex(value), options: 'i' };
    case 'startsWith':
      return { pattern: `^${escapeRegex(value)}`, options: 'i' };
    case 'endsWith':
      return { pattern: `${escapeRegex(value)}$`, options: 'i' };
    case 'like':
      return { pattern: `^${value.split('%').map(escapeRegex).join('.*')}$`, options: 'is' };
  }
}

/** Keys in order; missing and null e-mails sort first ascending, as SQL's explicit NULLS FIRST. */
export function mongoSort(sort: SortKey[]): Sort {
  return sort.map(({ field, direction }) => [PATHS[field], direction === 'asc' ? 1 : -1] as const);
}
