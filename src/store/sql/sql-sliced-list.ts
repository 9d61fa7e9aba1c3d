import { setImmediate as nextTask } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { queryTooComplex, storeUnavailable } from '../../users/errors.ts';
import type { Condition, ListQuery } from '../../users/list-query.ts';
import type { Page } from '../../users/user-store.ts';
import type { SqlEngine } from './sql-engine.ts';
import { toUser } from './sql-record-statements.ts';
import { USER_COLUMNS, type SqlDatabase } from './sql-schema.ts';
import { orderedBy, sqlWhere } from './sql-where.ts';

/**
 * The most rows a scanning list may reach into (`skip` + `limit`): the candidates for its page
 * are kept across slices, and only that many can be. Past it the query is refused, as past
 * the query budget (README, "Query budget").
 */
export const SCANNED_WINDOW_MAX = 10_000;

export interface SliceOptions {
  /** Rows of the table one statement examines. */
  rows: number;
  /** How long the whole list may take; past it, STORE_UNAVAILABLE as a PostgreSQL timeout. */
  deadlineMs: number;
}

/** Fields whose equality an index serves (the primary key, users_name_id). */
const KEYED: ReadonlySet<string> = new Set(['id', 'name']);

/**
 * Whether the engine must examine rows beyond those an index finds: anything but an equality
 * (or `in` list) on a keyed field at the top of the criteria, possibly ANDed with more. Ranges
 * count as scans too: an index serves them, but a range may hold the whole table.
 */
export function needsScan(condition: Condition): boolean {
  switch (condition.kind) {
    case 'compare':
      return !(condition.op === 'eq' && condition.value !== null && KEYED.has(condition.field));
    case 'in':
      return condition.negate || !KEYED.has(condition.field);
    case 'and':
      // No conjunct at all (`{}`) filters nothing: the list is a page of the primary key.
      // Otherwise one conjunct an index serves bounds the rows; an empty one bounds none.
      return (
        condition.conditions.length > 0 &&
        condition.conditions.every(
          (c) => (c.kind === 'and' && c.conditions.length === 0) || needsScan(c),
        )
      );
    default:
      return true;
  }
}

/**
 * A list whose filter must scan the table (see needsScan), on an engine that answers
 * synchronously and cannot interrupt a statement (SQLite): the filter runs over the table in
 * slices of `rows` rows by primary key, the event loop turning between slices so other
 * requests are served, and the whole is abandoned past `deadlineMs`. The filter runs once per
 * row: the slices count the matches and keep the ids that may be on the page, the first
 * `skip + limit` in the list's order (the engine ranks them, so its collation decides), and the
 * page is read from those ids alone. Every statement is bounded, whatever the number of matches.
 *
 * Slices are separate statements, so a write between two of them may or may not be counted,
 * as with any read that does not hold a snapshot.
 */
export async function slicedList(
  db: Kysely<SqlDatabase>,
  engine: SqlEngine,
  query: ListQuery & { where: Condition },
  slice: SliceOptions,
): Promise<Page> {
  const window = query.skip + query.limit;
  if (window > SCANNED_WINDOW_MAX) {
    throw queryTooComplex([
      {
        field: 'skip',
        message: `plus limit must not exceed ${SCANNED_WINDOW_MAX} when the criteria scan the table (the query budget's limit)`,
      },
    ]);
  }
  const started = performance.now();
  const where = query.where;
  const inIds = (ids: readonly string[]) => engine.anyOf.where('id', engine.anyOf.bind(ids));
  // The first `window` of `ids` in the list's order: what a page can still be made of.
  const firstOf = async (ids: readonly string[]) =>
    (
      await orderedBy(
        db
          .selectFrom('users')
          .select('id')
          .where(() => inIds(ids))
          .limit(window),
        query.sort,
      ).execute()
    ).map((row) => row.id);
  let kept: string[] = [];
  let total = 0;
  let after: string | undefined;
  for (;;) {
    let bound = db
      .selectFrom('users')
      .select('id')
      .orderBy('id')
      .offset(slice.rows - 1)
      .limit(1);
    if (after !== undefined) bound = bound.where('id', '>', after);
    const last = (await bound.executeTakeFirst())?.id;
    let part = db
      .selectFrom('users')
      .select('id')
      .where((eb) => sqlWhere(eb, where));
    if (after !== undefined) part = part.where('id', '>', after);
    if (last !== undefined) part = part.where('id', '<=', last);
    const rows = await part.execute();
    total += rows.length;
    for (const row of rows) kept.push(row.id);
    // Ranked once they double the window: each ranking reads at most 2 × window + a slice.
    if (kept.length > 2 * window) kept = await firstOf(kept);
    if (last === undefined) break;
    after = last;
    if (performance.now() - started >= slice.deadlineMs) {
      throw storeUnavailable(
        new Error(`a list query scanned for more than ${slice.deadlineMs} ms and was abandoned`),
      );
    }
    await nextTask();
  }
  if (total === 0 || query.skip >= total) return { users: [], total };

  const ids = kept;
  const rows = db
    .selectFrom('users')
    .select(USER_COLUMNS)
    .where(() => inIds(ids))
    .limit(query.limit)
    .offset(query.skip);
  return { users: (await orderedBy(rows, query.sort).execute()).map(toUser), total };
}
