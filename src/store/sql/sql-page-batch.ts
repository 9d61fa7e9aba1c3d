import { sql, type AliasedRawBuilder, type CompiledQuery, type Kysely } from 'kysely';
import type { ListQuery, SortKey } from '../../users/list-query.ts';
import { jsonPage, type Page } from '../../users/user-store.ts';
import { nextTurn } from './next-turn.ts';
import { usersJsonArray } from './sql-record-json.ts';
import { USER_COLUMNS, type SqlDatabase } from './sql-schema.ts';
import { orderedBy, orderText } from './sql-where.ts';

/** Each page's bounds as rows of a from-item `q(lim, off, k)`, `k` its position from 1. */
export type PageBounds = (
  limits: readonly number[],
  skips: readonly number[],
) => AliasedRawBuilder<{ lim: number; off: number; k: string }, 'q'>;

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
  resolve: (page: Page) => void;
  reject: (error: unknown) => void;
}

/** A row of the statement: one a page, its records as the API's JSON array, with the count. */
type Row = { k: string | number; json: string; total: string | number | bigint };

/**
 * Where-less list pages (the common list: a page in some order) that arrive together go to
 * the engine as one statement per sort order, as reads by id do (ReadBatch): one round trip,
 * one count of the table for all of them, each page read on its own (a lateral subquery per
 * page; pages asked twice are read twice). Every caller's page and count come from one
 * snapshot taken after its request arrived, so a client still reads its own acknowledged
 * writes, and a page always agrees with its count. An empty page carries the count too, so a
 * page past the end needs no second statement.
 *
 * The engine prints each page as the API's JSON array (usersJsonArray), one row a page, which
 * the route sends as it is: a page of 30 records costs the web process one string instead of
 * some 200 parsed values, 30 records and their serializing, which were most of its cost of a
 * list.
 */
export class PageBatch {
  readonly #db: Kysely<SqlDatabase>;
  readonly #bounds: PageBounds;
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
    bounds: PageBounds,
    read: (query: CompiledQuery<unknown>) => Promise<unknown[]>,
  ) {
    this.#db = db;
    this.#bounds = bounds;
    this.#read = read as (query: CompiledQuery<Row>) => Promise<Row[]>;
  }

  /**
   * The page of `query`, batched with others of its turn; undefined when it is not one a batch
   * takes (a filter, a page that reaches far, too many sort orders), for the caller to read alone.
   */
  page(query: ListQuery): Promise<Page> | undefined {
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
   * `select q.k, p.json, (select count(*) from users) as total from <bounds> left join lateral
   * (select <the JSON array of r, in the page's order> from (<the page>) r) p on true`: the count
   * is not correlated, so the engine runs it once for the statement; an aggregate gives one row
   * even for an empty page (`[]`). The aggregate orders its rows itself, by the page's keys: the
   * order a subquery hands its rows on is not one SQL promises.
   */
  #build(sort: SortKey[], limits: number[], skips: number[]): CompiledQuery<Row> {
    const db = this.#db;
    const count = db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('total'));
    const json = usersJsonArray('r', orderText(sort, 'r'));
    return db
      .selectFrom(this.#bounds(limits, skips))
      .leftJoinLateral(
        (eb) =>
          eb
            .selectFrom(
              orderedBy(
                eb
                  .selectFrom('users')
                  .select(USER_COLUMNS)
                  .limit(sql<number>`q.lim`)
                  .offset(sql<number>`q.off`),
                sort,
              ).as('r'),
            )
            .select(sql<string>`${sql.raw(json)}`.as('json'))
            .as('p'),
        (join) => join.onTrue(),
      )
      .select(['q.k', 'p.json', count.as('total')])
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
    const pages: (Row | undefined)[] = [];
    for (const row of rows) pages[Number(row.k) - 1] = row;
    waiters.forEach(({ resolve, reject }, i) => {
      const page = pages[i];
      if (page) resolve(jsonPage(page.json, Number(page.total)));
      else reject(new Error(`a page batch's statement answered no row for page ${i + 1}`));
    });
  }
}
