import type { CompiledQuery, Kysely } from 'kysely';
import type { ListQuery } from '../../users/list-query.ts';
import { USER_COLUMNS, type SqlDatabase } from './sql-schema.ts';
import { orderedBy, sqlWhere } from './sql-where.ts';

/**
 * The statements of a list: `page` is the page with the count of every match as a column (one
 * round trip; the count is a subquery the engine runs once), `count` the count alone (for a
 * page that is empty or not asked for), `rows` the page without its count. Built here, apart
 * from the store, so tests can compile and EXPLAIN the very SQL the store runs.
 */
export function listStatements(db: Kysely<SqlDatabase>, query: ListQuery) {
  const where = query.where;
  let base = db.selectFrom('users');
  if (where) base = base.where((eb) => sqlWhere(eb, where));
  const count = base.select((eb) => eb.fn.countAll<number | string | bigint>().as('total'));
  const rows = base.select(USER_COLUMNS).limit(query.limit).offset(query.skip);
  return {
    page: orderedBy(rows.select(count.as('total')), query.sort),
    rows: orderedBy(rows, query.sort),
    count,
  };
}

/** Most sort orders whose where-less page statement is kept compiled. */
const MOST_ORDERS = 32;

/**
 * The page statement of lists without a filter (the common list: a page in some order),
 * compiled once per sort order and then only bound (limit, skip), so the engine can run it
 * prepared by name; a list with a filter, or past MOST_ORDERS orders, is compiled as it comes.
 * The number of statements kept, and so prepared on each connection, stays bounded.
 */
export class PageStatements {
  readonly #db: Kysely<SqlDatabase>;
  readonly #compiled = new Map<string, CompiledQuery>();

  constructor(db: Kysely<SqlDatabase>) {
    this.#db = db;
  }

  /** The compiled page of `query`, or undefined when it has a filter or too many orders came. */
  page(query: ListQuery): CompiledQuery | undefined {
    if (query.where) return undefined;
    const key = JSON.stringify(query.sort);
    let compiled = this.#compiled.get(key);
    if (!compiled) {
      if (this.#compiled.size >= MOST_ORDERS) return undefined;
      // Bound with values no other parameter has, to learn which is which.
      compiled = listStatements(this.#db, { ...query, limit: -1, skip: -2 }).page.compile();
      if (compiled.parameters.some((value) => value !== -1 && value !== -2)) return undefined;
      this.#compiled.set(key, compiled);
    }
    return {
      ...compiled,
      parameters: compiled.parameters.map((value) => (value === -1 ? query.limit : query.skip)),
    };
  }
}
