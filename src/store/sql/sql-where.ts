import {
  sql,
  type Expression,
  type ExpressionBuilder,
  type OrderByItemBuilder,
  type SelectQueryBuilder,
  type SqlBool,
} from 'kysely';
import type { Condition, MatchMode, SortKey } from '../../users/list-query.ts';
import { COLUMNS, MATCH_KEYS, NULLABLE_FIELDS, type SqlDatabase } from './sql-schema.ts';

type Builder = ExpressionBuilder<SqlDatabase, 'users'>;

const OPERATORS = { eq: '=', ne: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' } as const;

// Portable constants: `IN ()` is a syntax error in PostgreSQL, so empty lists become these.
const ALWAYS = sql<SqlBool>`1 = 1`;
const NEVER = sql<SqlBool>`1 = 0`;

/**
 * Translates a condition tree into a WHERE expression. Column names come from COLUMNS, every
 * value is a bound parameter. Semantics every store shares (see test/store/contract.ts):
 * a missing e-mail is "not equal" to any address and "not in" any list, as in MongoDB.
 */
export function sqlWhere(eb: Builder, condition: Condition): Expression<SqlBool> {
  switch (condition.kind) {
    case 'and':
      return eb.and(condition.conditions.map((c) => sqlWhere(eb, c)));
    case 'or':
      return eb.or(condition.conditions.map((c) => sqlWhere(eb, c)));
    case 'compare': {
      const column = COLUMNS[condition.field];
      const { op, value } = condition;
      if (value === null) {
        if (op === 'eq') return eb(column, 'is', null);
        if (op === 'ne') return eb(column, 'is not', null);
        throw new Error(`"${op}" cannot compare with null`);
      }
      const test = eb(column, OPERATORS[op], value);
      return op === 'ne' && NULLABLE_FIELDS.has(condition.field)
        ? eb.or([test, eb(column, 'is', null)])
        : test;
    }
    case 'in': {
      const column = COLUMNS[condition.field];
      if (condition.values.length === 0) return condition.negate ? ALWAYS : NEVER;
      if (!condition.negate) return eb(column, 'in', condition.values);
      const test = eb(column, 'not in', condition.values);
      return NULLABLE_FIELDS.has(condition.field) ? eb.or([test, eb(column, 'is', null)]) : test;
    }
    case 'match': {
      // The stored folded key against a pattern folded the same way: the engine compares bytes,
      // calls nothing per row, and PostgreSQL can answer from a trigram index on the key.
      const key = MATCH_KEYS[condition.field as keyof typeof MATCH_KEYS];
      if (!key) throw new Error(`"${condition.field}" has no text to match`);
      const pattern = likePattern(condition.mode, key.fold(condition.value));
      const test = sql<SqlBool>`${eb.ref(key.column)} like ${pattern} escape '\\'`;
      if (!('unset' in key)) return test;
      // A NULL key (a row an older release wrote): the engine folds the name, for those rows only.
      const folded = sql`${sql.raw(key.unset)}(${eb.ref(key.source)})`;
      return eb.or([
        test,
        eb.and([eb(key.column, 'is', null), sql<SqlBool>`${folded} like ${pattern} escape '\\'`]),
      ]);
    }
  }
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, '\\$&');

/**
 * A LIKE pattern for `folded` (already folded like the column it meets). Every character is
 * literal except, in `like` mode, `%`.
 */
export function likePattern(mode: MatchMode, folded: string): string {
  switch (mode) {
    case 'contains':
      return `%${escapeLike(folded)}%`;
    case 'startsWith':
      return `${escapeLike(folded)}%`;
    case 'endsWith':
      return `%${escapeLike(folded)}`;
    case 'like':
      return folded.split('%').map(escapeLike).join('%');
  }
}

export interface SqlOrder {
  column: (typeof COLUMNS)[keyof typeof COLUMNS];
  direction: 'asc' | 'desc';
  /** Only for nullable columns: NULL sorts first ascending, last descending, as in MongoDB. */
  nulls?: 'first' | 'last';
}

/** `rows` ordered by the sort keys, NULLs placed as sqlOrder says. */
export function orderedBy<O>(
  rows: SelectQueryBuilder<SqlDatabase, 'users', O>,
  sort: SortKey[],
): SelectQueryBuilder<SqlDatabase, 'users', O> {
  let ordered = rows;
  for (const order of sqlOrder(sort)) ordered = ordered.orderBy(order.column, directed(order));
  return ordered;
}

const directed = (order: SqlOrder) => (ob: OrderByItemBuilder) => {
  const item = order.direction === 'asc' ? ob.asc() : ob.desc();
  if (order.nulls === 'first') return item.nullsFirst();
  return order.nulls === 'last' ? item.nullsLast() : item;
};

/**
 * The sort keys as columns and SQL's own words. A sort given in the console has not been through
 * the API's validation: an unknown field is refused, and the direction is `asc` unless it is
 * `desc`, so nothing of the key reaches SQL text (orderText) as it was given.
 */
export function sqlOrder(sort: SortKey[]): SqlOrder[] {
  return sort.map(({ field, direction: given }) => {
    if (!Object.hasOwn(COLUMNS, field)) throw new Error(`cannot sort by ${String(field)}`);
    const direction = given === 'desc' ? 'desc' : 'asc';
    return {
      column: COLUMNS[field],
      direction,
      ...(NULLABLE_FIELDS.has(field) ? { nulls: direction === 'asc' ? 'first' : 'last' } : {}),
    };
  });
}

/**
 * `order by …` as orderedBy orders rows, over the columns of the rows aliased `rows`, as SQL
 * text (for an aggregate's own order); empty for no keys.
 */
export function orderText(sort: SortKey[], rows: string): string {
  const keys = sqlOrder(sort).map(
    ({ column, direction, nulls }) =>
      `${rows}.${column} ${direction}${nulls ? ` nulls ${nulls}` : ''}`,
  );
  return keys.length > 0 ? `order by ${keys.join(', ')}` : '';
}
