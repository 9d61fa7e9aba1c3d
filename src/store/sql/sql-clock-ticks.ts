import type { Kysely } from 'kysely';
import type { ClockTicks, TickClaim } from '../../users/clock-ticks.ts';
import type { SqlDatabase } from './sql-schema.ts';

type Guard = <T>(operation: () => Promise<T>) => Promise<T>;

/** The clock's tick claims in `clock_ticks`: the (job, tick) primary key lets one clock insert it. */
export class SqlClockTicks implements ClockTicks {
  private readonly db: Kysely<SqlDatabase>;
  private readonly guard: Guard;

  constructor(db: Kysely<SqlDatabase>, guard: Guard) {
    this.db = db;
    this.guard = guard;
  }

  claim(claim: TickClaim): Promise<boolean> {
    return this.guard(async () => {
      const result = await this.db
        .insertInto('clock_ticks')
        .values({ job: claim.job, tick: claim.tick, owner: claim.owner, claimed_at: claim.now })
        .onConflict((oc) => oc.columns(['job', 'tick']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    });
  }

  purge(before: string): Promise<void> {
    return this.guard(async () => {
      await this.db.deleteFrom('clock_ticks').where('tick', '<', before).execute();
    });
  }
}
