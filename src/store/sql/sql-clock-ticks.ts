import type { Kysely } from 'kysely';
import type { ClockTicks } from '../../users/clock-ticks.ts';
import type { SqlDatabase } from './sql-schema.ts';

/** The clock's tick claims in `clock_ticks`: the (job, tick) primary key lets one clock insert it. */
export const sqlClockTicks = (
  db: Kysely<SqlDatabase>,
  guard: <T>(operation: () => Promise<T>) => Promise<T>,
): ClockTicks => ({
  claim: (claim) =>
    guard(async () => {
      const result = await db
        .insertInto('clock_ticks')
        .values({ job: claim.job, tick: claim.tick, owner: claim.owner, claimed_at: claim.now })
        .onConflict((oc) => oc.columns(['job', 'tick']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    }),
  purge: (before) =>
    guard(
      async () => void (await db.deleteFrom('clock_ticks').where('tick', '<', before).execute()),
    ),
});
