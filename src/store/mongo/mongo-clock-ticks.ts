import type { Collection, Db } from 'mongodb';
import type { ClockTicks, TickClaim } from '../../users/clock-ticks.ts';
import { isDuplicateKey } from './mongo-errors.ts';
import { CLOCK_TICKS, type TickDocument } from './mongo-schema.ts';

type Guard = <T>(operation: () => Promise<T>) => Promise<T>;

/** The clock's tick claims in `clock_ticks`: the `<job> <tick>` _id lets one clock insert it. */
export class MongoClockTicks implements ClockTicks {
  private readonly database: () => Promise<Db>;
  private readonly guard: Guard;

  constructor(database: () => Promise<Db>, guard: Guard) {
    this.database = database;
    this.guard = guard;
  }

  claim(claim: TickClaim): Promise<boolean> {
    return this.guard(async () => {
      try {
        await (
          await this.ticks()
        ).insertOne({
          _id: `${claim.job} ${claim.tick}`,
          job: claim.job,
          tick: new Date(claim.tick),
          owner: claim.owner,
          claimedAt: new Date(claim.now),
        });
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    });
  }

  purge(before: string): Promise<void> {
    return this.guard(async () => {
      await (await this.ticks()).deleteMany({ tick: { $lt: new Date(before) } });
    });
  }

  private async ticks(): Promise<Collection<TickDocument>> {
    return (await this.database()).collection<TickDocument>(CLOCK_TICKS);
  }
}
