import type { CompiledQuery, Kysely } from 'kysely';
import type {
  ClaimOptions,
  Delivery,
  DeliveryKey,
  DeliveryStatus,
  EventFilter,
  EventListing,
  FailOptions,
  Outbox,
  OutboxStats,
  PurgeOptions,
  RedeliverOptions,
} from '../../users/outbox.ts';
import { clipError } from '../../users/outbox.ts';
import type { SqlEngine } from './sql-engine.ts';
import { claimInOneStatement, claimInTransaction } from './sql-outbox-claim.ts';
import { OutboxCompletions } from './sql-outbox-completions.ts';
import { fanOutInOneStatement, type FanOutOptions } from './sql-outbox-fan-out.ts';
import { PENDING, ZERO } from './sql-outbox-rows.ts';
import { listEvents, outboxStats, purgeSettled, redeliverDead } from './sql-outbox-upkeep.ts';
import { sequenceOf, type SqlDatabase } from './sql-schema.ts';

export { recordEvents } from './sql-outbox-rows.ts';

type Guard = <T>(operation: () => Promise<T>) => Promise<T>;

/** Delivery rows written (fanned out or settled) after which a worker first tidies the outbox. */
const TIDY_AFTER_ROWS = 1000;
/** Later tidies: once the rows written since reach this share of those written before. */
const TIDY_AFTER_SHARE = 0.25;

/**
 * The Outbox on the shared Kysely store. On PostgreSQL a claim is one statement (sql-outbox-claim.ts), its
 * pick `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait on each other nor take the same
 * row; on SQLite it picks the due rows and leases them in one transaction, which the single writer
 * (`BEGIN IMMEDIATE`) makes atomic by itself.
 */
export class SqlOutbox implements Outbox {
  private readonly db: Kysely<SqlDatabase>;
  private readonly engine: SqlEngine;
  private readonly guard: Guard;
  /** Completions that finish in one turn of the event loop share an UPDATE. */
  private readonly completions: OutboxCompletions;
  /** One-statement bookkeeping (fan-out, claim, completions) where the engine runs it. */
  private readonly statement: ((query: CompiledQuery) => Promise<unknown[]>) | undefined;

  readonly watch?: (wake: () => void) => Promise<() => Promise<void>>;

  /** Delivery rows this process wrote (fanned out, settled) before its last tidy, and since. */
  private writtenBeforeTidy = 0;
  private writtenSinceTidy = 0;
  /** The tidy under way, if any (tidyAfterChanges). */
  private tidying: Promise<unknown> | undefined;

  constructor(db: Kysely<SqlDatabase>, engine: SqlEngine, guard: Guard) {
    this.db = db;
    this.engine = engine;
    this.guard = guard;
    this.statement = engine.bookkeepingStatement ?? engine.writeStatement;
    // One writer: completions that wait for its lock meanwhile join one UPDATE.
    this.completions = new OutboxCompletions((work) => this.bookkeeping(work), {
      serial: engine.groupCommits === true,
      statement: this.statement,
      anyOf: engine.anyOf,
    });
    const signal = engine.outboxSignal;
    if (signal) this.watch = (wake) => signal.listen(wake);
  }

  fanOut(options: FanOutOptions): Promise<number> {
    const statement = this.statement;
    return this.guard(async () => {
      if (statement) return fanOutInOneStatement(statement, options);
      // A plain read first: most calls find nothing, and need not take SQLite's write lock.
      const waiting = await this.db
        .selectFrom('outbox_events')
        .select('sequence')
        .where('fanned_out_at', 'is', null)
        .limit(1)
        .executeTakeFirst();
      if (!waiting) return 0;
      return this.bookkeeping((db) =>
        db.transaction().execute(async (trx) => {
          let query = trx
            .selectFrom('outbox_events')
            .select(['sequence', 'user_id'])
            .where('fanned_out_at', 'is', null)
            .orderBy('sequence')
            .limit(options.limit);
          if (this.engine.rowLocks) query = query.forUpdate().skipLocked();
          const events = await query.execute();
          if (events.length === 0) return 0;
          // The picked sequences as one bound list, and one insert per endpoint: the same
          // statements whatever the batch's size. A list of values or of `?` per event was a
          // new text, prepared anew, at nearly every batch (and emptied SQLite's statement cache).
          const { anyOf } = this.engine;
          const picked = anyOf.bind(events.map((event) => sequenceOf(event.sequence)));
          for (const endpoint of options.endpoints) {
            await trx
              .insertInto('outbox_deliveries')
              .columns([
                'endpoint',
                'event_sequence',
                'user_id',
                'status',
                'attempts',
                'pending_since',
                'next_attempt_at',
              ])
              .expression((eb) =>
                eb
                  .selectFrom('outbox_events')
                  .select([
                    eb.val(endpoint).as('endpoint'),
                    'sequence',
                    'user_id',
                    PENDING.as('status'),
                    ZERO.as('attempts'),
                    eb.val(options.now).as('pending_since'),
                    eb.val(options.now).as('next_attempt_at'),
                  ])
                  .where(anyOf.where('sequence', picked)),
              )
              .onConflict((oc) => oc.columns(['endpoint', 'event_sequence']).doNothing())
              .execute();
          }
          await trx
            .updateTable('outbox_events')
            .set({ fanned_out_at: options.now })
            .where(anyOf.where('sequence', picked))
            .execute();
          return events.length;
        }),
      );
    }).then((fanned) => {
      this.tidyAfterChanges(fanned * options.endpoints.length);
      return fanned;
    });
  }

  /**
   * PostgreSQL plans the claim from the outbox tables' statistics, which autovacuum refreshes a
   * minute apart at best. On tables it never analyzed (a new deployment) the plan walks every
   * delivered row for each candidate: 0.5–0.75 s a claim at 30,000 deliveries, against 6 ms
   * with statistics, and the drain fell to a tenth of the create rate. Statistics taken while a
   * backlog was pending mislead it the same way once the backlog is delivered: believing most
   * rows pending, it walks the deliveries in sequence order through every delivered one (35 ms
   * a claim of 40 at 50,000 deliveries, against 0.9 ms with fresh statistics).
   *
   * It also keeps the old version of every row a worker changes until a VACUUM: each delivered
   * row leaves an entry in the partial indexes of pending rows, each fanned-out event one in the
   * index of unfanned events, and the claim's and the fan-out's scans walk them all, from the
   * oldest sequence on (the claim once, to find the oldest unfanned event). With 27,000 events
   * settled since, a claim that found nothing read 302 index pages, 3 after a VACUUM, and claims
   * grew ever slower under a steady stream of changes unless autovacuum came by (its default waits
   * for a fifth of a table to be dead). So a worker tidies the tables itself (VACUUM, which
   * analyzes too) whenever the delivery rows it wrote (fanned out, or settled: delivered,
   * retried, dead) since it last did reach a quarter of those it had written before (and at
   * least TIDY_AFTER_ROWS): often while an outbox fills or drains, ever more rarely after. It is
   * checked at each fan-out, which every turn of the loop makes, and runs beside the loop, one
   * at a time: it takes no lock a claim or a write waits for.
   */
  private tidyAfterChanges(rows: number): void {
    const tidy = this.engine.tidyOutbox;
    if (!tidy) return;
    this.writtenSinceTidy += rows;
    if (
      this.tidying ||
      this.writtenSinceTidy < Math.max(TIDY_AFTER_ROWS, this.writtenBeforeTidy * TIDY_AFTER_SHARE)
    )
      return;
    this.writtenBeforeTidy += this.writtenSinceTidy;
    this.writtenSinceTidy = 0;
    // The fan-out has committed: a tidy that fails (the store going away) is left to
    // autovacuum and must not report the fan-out as failed.
    this.tidying = tidy(this.db)
      .catch(() => undefined)
      .finally(() => (this.tidying = undefined));
  }

  claim(options: ClaimOptions): Promise<Delivery[]> {
    const statement = this.statement;
    return this.guard(() =>
      statement
        ? claimInOneStatement(statement, options)
        : this.bookkeeping((db) =>
            claimInTransaction(db, {
              ...options,
              rowLocks: this.engine.rowLocks === true,
              anyOf: this.engine.anyOf,
            }),
          ),
    );
  }

  complete(key: DeliveryKey, options: { owner: string; now: string }): Promise<boolean> {
    return this.guard(() =>
      this.completions.complete(options.owner, key.endpoint, key.sequence, options.now),
    ).then((settled) => this.settled(settled));
  }

  fail(key: DeliveryKey, options: FailOptions): Promise<boolean> {
    const error = clipError(options.error);
    return this.settle(
      key,
      options.owner,
      options.retryAt === undefined
        ? { status: 'dead', last_error: error }
        : { status: 'pending', next_attempt_at: options.retryAt, last_error: error },
    );
  }

  list(filter: EventFilter): Promise<EventListing[]> {
    return this.guard(() => listEvents(this.db, filter));
  }

  redeliver(options: RedeliverOptions): Promise<number> {
    return this.guard(() => redeliverDead(this.db, options));
  }

  purge(options: PurgeOptions): Promise<number> {
    return this.guard(() => purgeSettled(this.db, options));
  }

  stats(): Promise<OutboxStats> {
    return this.guard(() => outboxStats(this.db));
  }

  /** `work` on the engine's bookkeeping connection (SqlEngine.bookkeeping), or on the store's. */
  private bookkeeping<T>(work: (db: Kysely<SqlDatabase>) => Promise<T>): Promise<T> {
    const run = this.engine.bookkeeping;
    return run ? run(this.db, work) : work(this.db);
  }

  /** Ends an attempt, only if `owner` still holds the lease: a late worker changes nothing. */
  private settle(
    key: DeliveryKey,
    owner: string,
    changes: Partial<{
      status: DeliveryStatus;
      delivered_at: string;
      next_attempt_at: string;
      last_error: string | null;
    }>,
  ): Promise<boolean> {
    return this.guard(async () => {
      const result = await this.bookkeeping((db) =>
        db
          .updateTable('outbox_deliveries')
          .set({ ...changes, lease_owner: null, lease_until: null })
          .where('endpoint', '=', key.endpoint)
          .where('event_sequence', '=', key.sequence)
          .where('lease_owner', '=', owner)
          .where('status', '=', PENDING)
          .executeTakeFirst(),
      );
      return Number(result.numUpdatedRows) > 0;
    }).then((settled) => this.settled(settled));
  }

  /** Counts a settled delivery towards the next tidy (tidyAfterChanges). */
  private settled(settled: boolean): boolean {
    if (settled && this.engine.tidyOutbox) this.writtenSinceTidy++;
    return settled;
  }
}
