import { setImmediate as nextTask } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { storeUnavailable } from '../../users/errors.ts';
import type { Condition, ListQuery } from '../../users/query.ts';
import type { Page } from '../../users/user-store.ts';
import type { SqlEngine } from './sql-engine.ts';
import { toUser } from './sql-record-statements.ts';
import { USER_COLUMNS, type SqlDatabase } from './sql-schema.ts';
import { orderedBy, sqlWhere } from './sql-where.ts';

/** Matching ids kept for the page; past this many, the page is read by its own query. */
const MAX_KEPT_IDS = 10_000;

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
      return condition.conditions.every(needsScan);
    default:
      return true;
  }
}

/**
 * A list whose filter must scan the table (see needsScan), on an engine that answers synchronously and cannot
 * interrupt a statement (SQLite): the filter runs over the table in slices of `rows` rows by
 * primary key, the event loop turning between slices so other requests are served, and the
 * whole is abandoned past `deadlineMs`. The filter runs once per row: the slices count the
 * matches and keep their ids, and the page is sorted from those ids alone.
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
  const started = performance.now();
  const where = query.where;
  let kept: string[] | undefined = [];
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
    if (kept && kept.length + rows.length <= MAX_KEPT_IDS) kept.push(...rows.map((r) => r.id));
    else kept = undefined;
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
    .where((eb) => (ids ? engine.anyOf.where('id', engine.anyOf.bind(ids)) : sqlWhere(eb, where)))
    .limit(query.limit)
    .offset(query.skip);
  return { users: (await orderedBy(rows, query.sort).execute()).map(toUser), total };
}
