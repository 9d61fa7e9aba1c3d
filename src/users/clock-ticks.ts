export interface TickClaim {
  job: string;
  /** The scheduled instant (ISO-8601), the same for every clock computing it from the cron. */
  tick: string;
  owner: string;
  now: string;
}

/**
 * The store side of the clock: which clock ran which tick of a job. Every adapter passes
 * test/store/contract-outbox.ts.
 */
export interface ClockTicks {
  /**
   * Records that `owner` runs `job` for `tick`; false when some clock already did, so two
   * clocks never run one tick of a job twice.
   */
  claim(claim: TickClaim): Promise<boolean>;
  /** Forgets the claims of ticks before `before` (ISO-8601). */
  purge(before: string): Promise<void>;
}
