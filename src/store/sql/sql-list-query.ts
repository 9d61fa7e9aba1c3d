import type { Kysely } from 'kysely';
import type { ListQuery } from '../../users/query.ts';
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
