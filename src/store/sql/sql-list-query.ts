import type { Kysely } from 'kysely';
import type { ListQuery } from '../../users/query.ts';
import { USER_COLUMNS, type SqlDatabase } from './sql-schema.ts';
import { orderedBy, sqlWhere } from './sql-where.ts';

/**
 * The two statements of a list answered in one query each: the page, and the count of every
 * match. Built here, apart from the store, so tests can compile and EXPLAIN the very SQL the
 * store runs.
 */
export function listStatements(db: Kysely<SqlDatabase>, query: ListQuery) {
  const where = query.where;
  let base = db.selectFrom('users');
  if (where) base = base.where((eb) => sqlWhere(eb, where));
  return {
    rows: orderedBy(base.select(USER_COLUMNS).limit(query.limit).offset(query.skip), query.sort),
    count: base.select((eb) => eb.fn.countAll<number | string | bigint>().as('total')),
  };
}
