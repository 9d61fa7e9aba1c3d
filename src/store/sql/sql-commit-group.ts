import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { isDomainError } from '../../users/errors.ts';
import { nextTurn } from './next-turn.ts';
import type { SqlDatabase } from './sql-schema.ts';

type Work<T> = (trx: Transaction<SqlDatabase>) => Promise<T>;

interface Pending {
  work: Work<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const SAVEPOINT = CompiledQuery.raw('savepoint one_write');
const RELEASE = CompiledQuery.raw('release one_write');
const ROLLBACK_TO = CompiledQuery.raw('rollback to one_write');

/** Most writes one transaction takes; the rest wait for the next turn of the event loop. */
const MAX_GROUP = 128;

/**
 * Write transactions that arrive together share one COMMIT (group commit). Each runs in its own
 * savepoint, so one that fails (a taken e-mail, a stale If-Match) is rolled back alone and its
 * caller gets its own error; every caller is answered only after the COMMIT that made its write
 * durable, and if that COMMIT fails, all of them get the error and none of the writes exists.
 *
 * Why: SQLite commits by appending every page the transaction touched to its WAL. A create
 * touches about a dozen (the row, its indexes, its outbox event and theirs), nearly the same
 * dozen for every create, so a commit shared by many writes costs little more than one.
 * Writes queue until the current turn of the event loop ends, so requests read in the same
 * turn form one group; a write alone waits no longer than that.
 */
export class CommitGroup {
  readonly #db: Kysely<SqlDatabase>;
  #queue: Pending[] = [];
  readonly #schedule = nextTurn(() => {
    void this.#commit(this.#queue.splice(0, MAX_GROUP));
    return this.#queue.length > 0;
  });

  constructor(db: Kysely<SqlDatabase>) {
    this.#db = db;
  }

  run<T>(work: Work<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  async #commit(group: Pending[]): Promise<void> {
    if (group.length === 1) {
      const [only] = group as [Pending];
      await this.#db.transaction().execute(only.work).then(only.resolve, only.reject);
      return;
    }
    const outcomes: ({ value: unknown } | { error: unknown })[] = [];
    try {
      await this.#db.transaction().execute(async (trx) => {
        for (const { work } of group) {
          await trx.executeQuery(SAVEPOINT);
          try {
            outcomes.push({ value: await work(trx) });
          } catch (error) {
            // When SQLite rolled the whole transaction back by itself (a full disk), there is no
            // savepoint left: the group fails with the error that says why, not "no such savepoint".
            await trx.executeQuery(ROLLBACK_TO).catch((rollbackError: unknown) => {
              throw isDomainError(error) ? rollbackError : error;
            });
            outcomes.push({ error });
          }
          await trx.executeQuery(RELEASE);
        }
      });
    } catch (error) {
      for (const { reject } of group) reject(error);
      return;
    }
    group.forEach(({ resolve, reject }, index) => {
      const outcome = outcomes[index]!;
      if ('value' in outcome) resolve(outcome.value);
      else reject(outcome.error);
    });
  }
}
