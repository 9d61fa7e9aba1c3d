import { Cron } from 'croner';
import { inRootSpan } from '../telemetry/context.ts';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../log/logger.ts';
import type { ClockTicks } from '../users/clock-ticks.ts';

/** A job's result fields, logged with its completion. */
export type JobResult = Record<string, unknown>;

export interface ScheduledJob {
  name: string;
  /** Five or six fields (seconds first), read in UTC. */
  cron: string;
  /** Must be harmless to repeat or to skip: a tick can be missed, and jobs may overlap. */
  run(context: { tick: string; logger: Logger }): Promise<JobResult>;
}

export interface ClockOptions {
  ticks: ClockTicks;
  jobs: readonly ScheduledJob[];
  logger: Logger;
  registry: Registry;
  owner: string;
  now?: () => Date;
}

/** Long waits are cut into slices, so a changed wall clock is noticed within a minute. */
const MAX_SLEEP_MS = 60_000;

/**
 * The `clock` process type's scheduler (the transactional outbox, docs/adr/0005). Each job waits for its cron's next instant,
 * then claims that (job, tick) in the store: only the first clock to claim it runs it, so two
 * clocks started by mistake never run a tick twice. A tick missed while no clock ran, or while
 * the previous run was still going, is skipped: the next one does the same work.
 */
export class Clock {
  private readonly options: ClockOptions;
  private readonly now: () => Date;
  private readonly stopped = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly runs: Counter<'job' | 'outcome'>;
  private readonly duration: Histogram<'job'>;
  private readonly lastSuccess: Gauge<'job'>;

  constructor(options: ClockOptions) {
    this.options = options;
    this.now = options.now ?? (() => new Date());
    const registers = [options.registry];
    this.runs = new Counter({
      name: 'clock_job_runs_total',
      help: 'Clock ticks by job and outcome: ok, failed, or skipped (another clock claimed it).',
      labelNames: ['job', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'clock_job_duration_seconds',
      help: 'Time a clock job took.',
      labelNames: ['job'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'clock_job_last_success_timestamp_seconds',
      help: 'When a job last finished without error (Unix time); alert when it falls behind.',
      labelNames: ['job'],
      registers,
    });
  }

  start(): void {
    for (const job of this.options.jobs) this.loops.push(this.loop(job));
  }

  /** Stops scheduling; a job already running finishes. */
  async stop(): Promise<void> {
    this.stopped.abort();
    await Promise.all(this.loops);
  }

  private async loop(job: ScheduledJob): Promise<void> {
    const cron = new Cron(job.cron, { timezone: 'UTC' });
    const log = this.options.logger.child({ job: job.name });
    while (!this.stopped.signal.aborted) {
      const next = cron.nextRun(this.now());
      if (!next) return;
      while (this.now() < next && !this.stopped.signal.aborted) {
        await this.sleep(Math.min(next.getTime() - this.now().getTime(), MAX_SLEEP_MS));
      }
      if (this.stopped.signal.aborted) return;
      const tick = next.toISOString();
      await inRootSpan(`clock ${job.name}`, { 'clock.job': job.name, 'clock.tick': tick }, () =>
        this.tick(job, tick, log),
      );
    }
  }

  private async tick(job: ScheduledJob, tick: string, log: Logger): Promise<void> {
    const started = performance.now();
    try {
      const mine = await this.options.ticks.claim({
        job: job.name,
        tick,
        owner: this.options.owner,
        now: this.now().toISOString(),
      });
      if (!mine) {
        this.runs.inc({ job: job.name, outcome: 'skipped' });
        log.debug({ tick }, 'tick claimed by another clock');
        return;
      }
      const result = await job.run({ tick, logger: log });
      const seconds = (performance.now() - started) / 1000;
      this.runs.inc({ job: job.name, outcome: 'ok' });
      this.duration.observe({ job: job.name }, seconds);
      this.lastSuccess.set({ job: job.name }, this.now().getTime() / 1000);
      log.info({ tick, durationMs: Math.round(seconds * 1000), ...result }, 'job done');
    } catch (error) {
      this.runs.inc({ job: job.name, outcome: 'failed' });
      log.error({ tick, err: error }, 'job failed; the next tick will try again');
    }
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.stopped.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(ms, 1));
      signal.addEventListener('abort', done);
    });
  }
}
