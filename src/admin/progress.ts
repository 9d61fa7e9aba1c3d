import type { Logger } from '../log/logger.ts';

export interface ProgressOptions {
  /** The command's name, first on the bar and in every log line. */
  label: string;
  /** How many items there will be, when known: the bar shows a percentage and an ETA. */
  total?: number | undefined;
  /** stderr: the bar is drawn there when it is a terminal. */
  stream: { write(chunk: string): unknown; isTTY?: boolean };
  /** Where periodic lines go when stderr is not a terminal (a pipe, a log collector). */
  logger: Logger;
  /** Between two log lines; the bar redraws at most every 100 ms. */
  intervalMs?: number;
  now?: () => number;
}

const WIDTH = 24;
const number = new Intl.NumberFormat('en-US');

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Progress of a long command on stderr: a bar on a terminal, otherwise one log line every
 * `intervalMs` (a bar's carriage returns would fill a log file with one endless line).
 */
export class Progress {
  private readonly options: ProgressOptions;
  private readonly now: () => number;
  private readonly started: number;
  private readonly bar: boolean;
  private done = 0;
  private lastDraw = 0;

  constructor(options: ProgressOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
    this.lastDraw = this.started;
    this.bar = options.stream.isTTY === true;
  }

  get count(): number {
    return this.done;
  }

  advance(items: number): void {
    this.done += items;
    const now = this.now();
    const every = this.bar ? 100 : (this.options.intervalMs ?? 5000);
    if (now - this.lastDraw < every) return;
    this.lastDraw = now;
    if (this.bar) this.options.stream.write(`\r${this.line(now)}\u001b[K`);
    else this.options.logger.info(this.fields(now), 'progress');
  }

  /** Clears the bar; the command then prints its one-line summary. */
  finish(): void {
    if (this.bar) this.options.stream.write('\r\u001b[K');
  }

  /** Milliseconds since the start. */
  elapsedMs(): number {
    return this.now() - this.started;
  }

  private fields(now: number) {
    const seconds = (now - this.started) / 1000;
    const { total } = this.options;
    return {
      command: this.options.label,
      done: this.done,
      ...(total === undefined ? {} : { total }),
      perSecond: Math.round(this.done / Math.max(seconds, 0.001)),
    };
  }

  private line(now: number): string {
    const { label, total } = this.options;
    const { perSecond } = this.fields(now);
    const rate = `${number.format(perSecond)}/s`;
    if (total === undefined || total === 0) return `${label} ${number.format(this.done)}  ${rate}`;
    const ratio = Math.min(1, this.done / total);
    const filled = Math.round(ratio * WIDTH);
    const eta = perSecond > 0 ? clock((total - this.done) / perSecond) : '?';
    return (
      `${label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ` +
      `${Math.floor(ratio * 100)}% ${number.format(this.done)}/${number.format(total)}  ${rate}  ETA ${eta}`
    );
  }
}

/** "1.2 s", and the peak resident memory of this process so far: every summary ends so. */
export function costOf(progress: Progress): string {
  const seconds = (progress.elapsedMs() / 1000).toFixed(1);
  const peakMb = Math.round(process.resourceUsage().maxRSS / 1024);
  return `in ${seconds} s, peak RSS ${peakMb} MB`;
}

export const formatCount = (n: number) => number.format(n);
/** "1 user", "1,029 users". */
export const formatUsers = (n: number) => `${formatCount(n)} ${n === 1 ? 'user' : 'users'}`;
