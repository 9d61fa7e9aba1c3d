import type { Db } from 'mongodb';
import type { ClockTicks } from '../../users/clock-ticks.ts';
import { isDuplicateKey } from './mongo-errors.ts';
import { CLOCK_TICKS, type TickDocument } from './mongo-schema.ts';

/** The clock's tick claims in `clock_ticks`: the `<job> <tick>` _id lets one clock insert it. */
export function mongoClockTicks(
  database: () => Promise<Db>,
  guard: <T>(operation: () => Promise<T>) => Promise<T>,
): ClockTicks {
  const ticks = async () => (await database()).collection<TickDocument>(CLOCK_TICKS);
  return {
    claim: ({ job, tick, owner, now }) =>
      guard(async () => {
        const doc = { _id: `${job} ${tick}`, job, tick: new Date(tick), owner };
        try {
          await (await ticks()).insertOne({ ...doc, claimedAt: new Date(now) });
          return true;
        } catch (error) {
          if (isDuplicateKey(error)) return false;
          throw error;
        }
      }),
    purge: (before) =>
      guard(
        async () => void (await (await ticks()).deleteMany({ tick: { $lt: new Date(before) } })),
      ),
  };
}
