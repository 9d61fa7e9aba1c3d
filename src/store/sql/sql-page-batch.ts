import {
  sql,
  type AliasedRawBuilder,
  type CompiledQuery,
  type Kysely,
  type RawBuilder,
} from 'kysely';
import type { ListQuery, SortKey } from '../../users/list-query.ts';
import type { User } from '../../users/user.ts';
import type { Page } from '../../users/user-store.ts';
import { nextTurn } from './next-turn.ts';
import { USER_COLUMNS, type SqlDatabase } from './sql-schema.ts';
import { orderedBy, windowOrderedBy } from './sql-where.ts';

/** What an engine brings to batched pages (SqlEngine.pageBatch). */
export interface PageBatchSql {
  /** Each page's bounds as rows of a from-item `q(lim, off, k)`, `k` its position from 1. */
  bounds: (
    limits: readonly number[],
    skips: readonly number[],
  ) => AliasedRawBuilder<{ lim: number; off: number; k: string }, 'q'>;
  /**
   * The record of the users row `u` as the API prints it, JSON text byte for byte as the
   * route's serializer prints toUser's record; NULL for a row the engine cannot print so.
   */
  record: RawBuilder<string | null>;
}

/** Most pages one statement answers; the rest wait for the next turn of the event loop. */
const MAX_PAGES = 32;
/**
 * Most rows a page may reach into (`skip` + `limit`) and still share a statement, and most
 * such rows of all the pages of one statement: a statement is bounded by statement_timeout as a
 * whole, so pages that read far run alone, as they would without batching.
 */
export const BATCHED_REACH_MAX = 2_000;
const BATCH_REACH_MAX = 20_000;
/** Most sort orders whose batch statement is kept compiled (see PageStatements). */
const MOST_ORDERS = 32;

interface Waiter {
  limit: number;
  skip: number;
  resolve: (page: Page | undefined) => void;
  reject: (error: unknown) => void;
}

/**
 * A row of the statement, one per page: its records joined by commas (NULL when it has none),
 * how many it has and how many of them the engine printed, and the count of every user.
 */
interface Row {
  k: string | number;
  records: string | null;
  rows: string | number;
  printed: string | number;
  total: string | number | bigint;
}

/** A page read as the API's JSON text; its records are parsed from it only if asked for. */
function jsonPage(json: string, total: number): Page {
  let users: User[] | undefined;
  return {
    json,
    total,
    get users() {
      users ??= JSON.parse(json) as User[];
      return users;
    },
  };
}

/**
 * Where-less list pages (the common list: a page in some order) that arrive together go to
 * the engine as one statement per sort order, as reads by id do (ReadBatch): one round trip,
 * one count of the table for all of them, each page read on its own (a lateral subquery per
 * page; pages asked twice are read twice). Every caller's page and count come from one
 * snapshot taken after its request arrived, so a client still reads its own acknowledged
 * writes, and a page always agrees with its count. An empty page carries the count too, so a
 * page past the end needs no second statement.
 *
 * The engine prints each page as the JSON text the route sends (Page.json), so the web process
 * neither parses its rows nor serializes its records: on a page of 30 that was a third of the
 * process's time for the request, moved to the engine's backends, which run on the other cores.
 * A page with a record the engine cannot print exactly (a timestamp outside years 1 to 9999)
 * is left to the caller, who reads it as rows.
 */
export class PageBatch {
  readonly #db: Kysely<SqlDatabase>;
  readonly #engine: PageBatchSql;
  readonly #read: (query: CompiledQuery<Row>) => Promise<Row[]>;
  readonly #compiled = new Map<
    string,
    { query: CompiledQuery<Row>; limits: number; skips: number }
  >();
  #pending = new Map<string, { sort: SortKey[]; waiters: Waiter[] }>();
  readonly #schedule = nextTurn(() => {
    for (const [key, { sort, waiters }] of this.#pending) {
      let reach = 0;
      let taken = 0;
      while (taken < waiters.length && taken < MAX_PAGES) {
        const next = waiters[taken]!;
        if (taken > 0 && reach + next.skip + next.limit > BATCH_REACH_MAX) break;
        reach += next.skip + next.limit;
        taken++;
      }
      void this.#run(key, sort, waiters.splice(0, taken));
      if (waiters.length === 0) this.#pending.delete(key);
    }
    return this.#pending.size > 0;
  });

  constructor(
    db: Kysely<SqlDatabase>,
    engine: PageBatchSql,
    read: (query: CompiledQuery<unknown>) => Promise<unknown[]>,
  ) {
    this.#db = db;
    this.#engine = engine;
    this.#read = read as (query: CompiledQuery<Row>) => Promise<Row[]>;
  }

  /**
   * The page of `query`, batched with others of its turn; undefined when it is not one a batch
   * takes (a filter, a page that reaches far, too many sort orders), and a promise of undefined
   * when the engine could not print it: the caller reads those alone.
   */
  page(query: ListQuery): Promise<Page | undefined> | undefined {
    if (query.where || query.limit === 0 || query.skip + query.limit > BATCHED_REACH_MAX) {
      return undefined;
    }
    const key = JSON.stringify(query.sort);
    if (!this.#compiled.has(key) && this.#compiled.size >= MOST_ORDERS) return undefined;
    return new Promise((resolve, reject) => {
      const waiter = { limit: query.limit, skip: query.skip, resolve, reject };
      const pending = this.#pending.get(key);
      if (pending) pending.waiters.push(waiter);
      else this.#pending.set(key, { sort: query.sort, waiters: [waiter] });
      this.#schedule();
    });
  }

  /** The statement for `sort`, compiled once, with its two arrays bound. */
  #statement(key: string, sort: SortKey[], limits: number[], skips: number[]) {
    let compiled = this.#compiled.get(key);
    if (!compiled) {
      // Bound with arrays no other parameter is, to learn which is which.
      const limitsMark: number[] = [];
      const skipsMark: number[] = [];
      const query = this.#build(sort, limitsMark, skipsMark);
      const at = (mark: number[]) => query.parameters.findIndex((value) => value === mark);
      compiled = { query, limits: at(limitsMark), skips: at(skipsMark) };
      if (query.parameters.length !== 2 || compiled.limits < 0 || compiled.skips < 0) {
        throw new Error(`${query.sql}: binds other values than the pages' bounds`);
      }
      this.#compiled.set(key, compiled);
    }
    const parameters: unknown[] = [];
    parameters[compiled.limits] = limits;
    parameters[compiled.skips] = skips;
    return { ...compiled.query, parameters };
  }

  /**
   * `select q.k, p.records, p.rows, p.printed, (select count(*) from users) as total from
   * <bounds> left join lateral (select string_agg(<record>, ',' order by u.n) as records, …
   * from (<the page, its rows numbered in its order>) u) p on true`: the count is not
   * correlated, so the engine runs it once for the statement; an empty page still gives a row.
   */
  #build(sort: SortKey[], limits: number[], skips: number[]): CompiledQuery<Row> {
    const db = this.#db;
    const count = db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('total'));
    const record = this.#engine.record;
    return db
      .selectFrom(this.#engine.bounds(limits, skips))
      .leftJoinLateral(
        (eb) =>
          eb
            .selectFrom(
              orderedBy(
                eb
                  .selectFrom('users')
                  .select(USER_COLUMNS)
                  .select((eb) =>
                    eb.fn
                      .agg<string>('row_number')
                      .over((over) => windowOrderedBy(over, sort))
                      .as('n'),
                  )
                  .limit(sql<number>`q.lim`)
                  .offset(sql<number>`q.off`),
                sort,
              ).as('u'),
            )
            .select([
              sql<string | null>`string_agg(${record}, ',' order by u.n)`.as('records'),
              sql<string>`count(*)`.as('rows'),
              sql<string>`count(${record})`.as('printed'),
            ])
            .as('p'),
        (join) => join.onTrue(),
      )
      .select(['q.k', 'p.records', 'p.rows', 'p.printed', count.as('total')])
      .compile() as unknown as CompiledQuery<Row>;
  }

  async #run(key: string, sort: SortKey[], waiters: Waiter[]): Promise<void> {
    let rows: Row[];
    try {
      const query = this.#statement(
        key,
        sort,
        waiters.map((w) => w.limit),
        waiters.map((w) => w.skip),
      );
      rows = await this.#read(query);
    } catch (error) {
      for (const { reject } of waiters) reject(error);
      return;
    }
    const pages: (Page | undefined)[] = [];
    for (const row of rows) {
      pages[Number(row.k) - 1] =
        Number(row.printed) === Number(row.rows)
          ? jsonPage(`[${row.records ?? ''}]`, Number(row.total))
          : undefined;
    }
    waiters.forEach(({ resolve }, i) => resolve(pages[i]));
  }
}
