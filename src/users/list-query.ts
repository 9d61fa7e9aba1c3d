import type { Field } from './user.ts';

/**
 * A list query in a store-neutral form. Clients speak Sails' `where`/`sort`/`limit`/`skip`;
 * `parseListQuery` turns that into this tree, and each store translates the tree into its own
 * query language with bound values — no client text ever becomes query code.
 */
export type Condition =
  | { kind: 'compare'; field: Field; op: CompareOp; value: string | null }
  | { kind: 'in'; field: Field; values: string[]; negate: boolean }
  | { kind: 'match'; field: Field; mode: MatchMode; value: string }
  | { kind: 'and' | 'or'; conditions: Condition[] };
export type CompareOp = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte';
/** Case-insensitive text matching, as in Sails. `like` treats `%` as the only wildcard. */
export type MatchMode = 'contains' | 'startsWith' | 'endsWith' | 'like';

export interface SortKey {
  field: Field;
  direction: 'asc' | 'desc';
}

export interface ListQuery {
  where: Condition | undefined;
  /** Always ends with `id`, so pages are stable. */
  sort: SortKey[];
  limit: number;
  skip: number;
}

export const LIMIT_DEFAULT = 30;
export const LIMIT_MIN = 1;
export const LIMIT_MAX = 1000;
export const SKIP_MAX = 2_147_483_647;

export const LIST_PARAMS = ['where', 'sort', 'limit', 'skip'] as const;
