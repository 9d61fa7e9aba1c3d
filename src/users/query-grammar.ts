import type { CompareOp, MatchMode } from './list-query.ts';

/**
 * What one list query may cost. Every store runs a query in time proportional to rows × terms ×
 * pattern length (SQLite cannot interrupt a statement), so these bounds are what keeps one
 * request from holding the store for everyone. Past any of them: 400 QUERY_TOO_COMPLEX.
 * Documented in the README ("Query budget").
 */
export const QUERY_BUDGET = {
  /** Criteria keys, operators and `or`/`and` members, counted over the whole `where`. */
  terms: 100,
  /** Nesting of `or`/`and`. */
  depth: 8,
  /** `in`/`!` list values, over the whole `where`. */
  listValues: 1000,
  /** Text-matching operators (`contains`, `startsWith`, `endsWith`, `like`). */
  matchTerms: 10,
  /** Characters over every text-matching pattern together. */
  patternChars: 500,
  /** Keys in `sort`. */
  sortKeys: 10,
} as const;

// Maps, not object literals: a client's operator name must never find an Object.prototype member.
export const COMPARE_OPS: ReadonlyMap<string, CompareOp> = new Map([
  ['<', 'lt'],
  ['<=', 'lte'],
  ['>', 'gt'],
  ['>=', 'gte'],
  // Sails 0.12's names for the same operators (sails-mongo accepts them too).
  ['lessThan', 'lt'],
  ['lessThanOrEqual', 'lte'],
  ['greaterThan', 'gt'],
  ['greaterThanOrEqual', 'gte'],
]);
export const NOT_OPS: ReadonlySet<string> = new Set(['!', 'not']);
export const MATCH_OPS: ReadonlyMap<string, MatchMode> = new Map([
  ['contains', 'contains'],
  ['startsWith', 'startsWith'],
  ['endsWith', 'endsWith'],
  ['like', 'like'],
]);
export const WHERE_OPERATORS = [
  ...COMPARE_OPS.keys(),
  ...NOT_OPS,
  'in',
  ...MATCH_OPS.keys(),
] as readonly string[];
