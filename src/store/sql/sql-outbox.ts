import type { Kysely } from 'kysely';
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
import { ROWS_PER_STATEMENT, chunks } from './sql-outbox-rows.ts';
import { listEvents, outboxStats, purgeSettled, redeliverDead } from './sql-outbox-upkeep.ts';
import { sequenceOf, type SqlDatabase } from './sql-schema.ts';

export { recordEvents } from './sql-outbox-rows.ts';

type Guard = <T>(operation: () => Promise<T>) => Promise<T>;

/** Fanned-out deliveries after which a worker first refreshes the outbox's statistics. */
const ANALYZE_AFTER_ROWS = 1000;

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

  readonly watch?: (wake: () => void) => Promise<() => Promise<void>>;

  /** Deliveries this process fanned out before its last refresh of statistics, and since. */
  private fannedBeforeAnalyze = 0;
  private fannedSinceAnalyze = 0;

  constructor(db: Kysely<SqlDatabase>, engine: SqlEngine, guard: Guard) {
    this.db = db;
    this.engine = engine;
    this.guard = guard;
    // One writer: completions that wait for its lock meanwhile join one UPDATE.
    this.completions = new OutboxCompletions((work) => this.bookkeeping(work), {
      serial: engine.groupCommits === true,
      statement: engine.bookkeepingStatement ?? engine.writeStatement,
    });
    const signal = engine.outboxSignal;
    if (signal) this.watch = (wake) => signal.listen(wake);
  }

  fanOut(options: FanOutOptions): Promise<number> {
    const statement = this.engine.bookkeepingStatement ?? this.engine.writeStatement;
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
          const rows = events.flatMap((event) =>
            options.endpoints.map((endpoint) => ({
              endpoint,
              event_sequence: sequenceOf(event.sequence),
              user_id: event.user_id,
              status: 'pending',
              attempts: 0,
              pending_since: options.now,
              next_attempt_at: options.now,
            })),
          );
          for (const part of chunks(rows, ROWS_PER_STATEMENT)) {
            await trx
              .insertInto('outbox_deliveries')
              .values(part)
              .onConflict((oc) => oc.columns(['endpoint', 'event_sequence']).doNothing())
              .execute();
          }
          for (const part of chunks(events, ROWS_PER_STATEMENT)) {
            await trx
              .updateTable('outbox_events')
              .set({ fanned_out_at: options.now })
              .where(
                'sequence',
                'in',
                part.map((e) => sequenceOf(e.sequence)),
              )
              .execute();
          }
          return events.length;
        }),
      );
    }).then(async (fanned) => {
      await this.analyzeAfterGrowth(fanned * options.endpoints.length);
      return fanned;
    });
  }

  /**
   * PostgreSQL plans the claim from the outbox tables' statistics, which autovacuum refreshes a
   * minute apart at best. On tables it never analyzed (a new deployment) the plan walks every
   * delivered row for each candidate: 0.5–0.75 s a claim at 30,000 deliveries, against 6 ms
   * with statistics, and the drain fell to a tenth of the create rate. So a worker analyzes the
   * tables itself whenever the deliveries it fanned out since it last did reach those it had
   * fanned out before (and at least ANALYZE_AFTER_ROWS): after 1,000, 2,000, 4,000… deliveries,
   * so often while a new outbox fills and ever more rarely after, when autovacuum keeps up.
   */
  private async analyzeAfterGrowth(rows: number): Promise<void> {
    const analyze = this.engine.analyzeOutbox;
    if (!analyze || rows === 0) return;
    this.fannedSinceAnalyze += rows;
    if (this.fannedSinceAnalyze < Math.max(ANALYZE_AFTER_ROWS, this.fannedBeforeAnalyze)) return;
    this.fannedBeforeAnalyze += this.fannedSinceAnalyze;
    this.fannedSinceAnalyze = 0;
    // The fan-out has committed: a refresh that fails (a timeout, the store going away) is left
    // to autovacuum and must not report the fan-out as failed.
    await analyze(this.db).catch(() => undefined);
  }

  claim(options: ClaimOptions): Promise<Delivery[]> {
    const statement = this.engine.bookkeepingStatement ?? this.engine.writeStatement;
    return this.guard(() =>
      statement
        ? claimInOneStatement(statement, options)
        : this.bookkeeping((db) =>
            claimInTransaction(db, { ...options, rowLocks: this.engine.rowLocks === true }),
          ),
    );
  }

  complete(key: DeliveryKey, options: { owner: string; now: string }): Promise<boolean> {
    return this.guard(() =>
      this.completions.complete(options.owner, key.endpoint, key.sequence, options.now),
    );
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
          .where('status', '=', 'pending')
          .executeTakeFirst(),
      );
      return Number(result.numUpdatedRows) > 0;
    });
  }
}
