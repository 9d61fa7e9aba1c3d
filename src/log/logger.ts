import { writeSync } from 'node:fs';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { LineBatch, type BatchedDestination } from './line-batch.ts';

export type { Logger };

export interface LoggerSettings {
  level: string;
  /** Human-readable output; the web process turns it on only when stdout is a TTY. */
  pretty: boolean;
  /** Where JSON lines go; stdout unless a test captures them. Never a file (factor XI). */
  destination?: NodeJS.WritableStream;
  /**
   * `stderr` for admin commands, whose stdout carries data (an export) or their result; lines
   * are then written at once, so they interleave sensibly with progress on the same stream.
   */
  stream?: 'stdout' | 'stderr';
  /**
   * Fields added to every line (the active trace's ids when tracing is on). Unset when tracing
   * is off, so lines pay nothing for it.
   */
  mixin?: (line: object) => object;
  /** How the mixin's fields and the line's are merged; pino's default copies them all. */
  mixinMergeStrategy?: (line: object, fields: object) => object;
}

/** Header and field paths that may carry credentials: never written to the stream. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'headers.authorization',
  // The parsed config (API_TOKENS) and anything named like a credential, wherever it is logged.
  'apiTokens',
  '*.apiTokens',
  'token',
  '*.token',
  'password',
  '*.password',
];

let lastMs = Number.NaN;
let lastTime = '';

/**
 * pino's isoTime, made once per millisecond: a busy web process writes tens of lines in the same
 * millisecond, and formatting the date was a tenth of the cost of each access line.
 */
function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { pid: process.pid },
    timestamp: isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    ...(settings.mixin && { mixin: settings.mixin }),
    ...(settings.mixinMergeStrategy && { mixinMergeStrategy: settings.mixinMergeStrategy }),
  };
  const fd = settings.stream === 'stderr' ? 2 : 1;
  if (settings.pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, destination: fd } },
    });
  }
  if (fd === 2)
    return pino(options, settings.destination ?? pino.destination({ dest: 2, sync: true }));
  // Each turn's lines are handed over together (LineBatch), then written in batches of 4 KiB or
  // every 250 ms, whichever comes first: one write per request line costs a fifth of a point
  // read's CPU. What is left is flushed on exit.
  return pino(options, settings.destination ?? new LineBatch(stdoutDestination()));
}

/** Most log text held while stdout's reader does not keep up; more is dropped, not buffered. */
const MAX_BUFFERED = 16 * 1024 * 1024;
/** How long the exit may wait for a stalled reader to take the last lines. */
const EXIT_FLUSH_MS = 1000;

let droppedLines = 0;

/**
 * Log lines dropped since the process started because stdout's reader fell more than
 * MAX_BUFFERED behind (the web process exports it as `log_lines_dropped_total`): lines are
 * dropped then, never buffered without bound, and never lost without being counted.
 */
export const droppedLogLines = (): number => droppedLines;

/** Longest an exit waits for stdout to take the last log lines before it goes anyway. */
const LOG_FLUSH_MS = 1000;

/**
 * Ends the process with `code` once the logger's last lines are handed to stdout, waiting at
 * most LOG_FLUSH_MS for a reader that stalls. Handed over while the event loop still runs, the
 * lines leave with the process's last turns, and a write that meets a reader gone (EPIPE: `web |
 * head -1`) is an error pino handles by writing no more; at the exit only a synchronous flush is
 * left, which a slow reader can keep waiting for EXIT_FLUSH_MS. Every planned exit of a
 * long-running process goes through here.
 */
export function exitAfterLogs(
  logger: Logger,
  code: number,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  const timer = setTimeout(() => exit(code), LOG_FLUSH_MS);
  logger.flush(() => {
    clearTimeout(timer);
    exit(code);
  });
}

function countLines(chunk: Buffer): number {
  let lines = 0;
  for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  return lines;
}

// Registered when this module loads, so before pino's own exit hook (which flushes what is left).
let exitingAt: number | undefined;
process.once('exit', () => {
  exitingAt = Date.now();
});

/**
 * Stdout as a non-blocking batched stream that a stalled reader (a full pipe: a log collector
 * that stopped reading) can neither grow without bound nor hold hostage: past MAX_BUFFERED
 * lines are dropped, and at exit the last lines get EXIT_FLUSH_MS, then the process exits
 * anyway. Without this it retried forever and ignored SIGTERM and its own shutdown budget.
 */
function stdoutDestination(): BatchedDestination {
  const stream = pino.destination({
    dest: 1,
    sync: false,
    // Bytes from LineBatch: sonic-boom keeps their lengths rather than measuring its text again.
    contentMode: 'buffer',
    minLength: 4096,
    periodicFlush: 250,
    maxLength: MAX_BUFFERED,
    retryEAGAIN: () => exitingAt === undefined || Date.now() - exitingAt < EXIT_FLUSH_MS,
  });
  // sonic-boom drops a whole write (one LineBatch chunk: whole lines) that would go past maxLength.
  stream.on('drop', (chunk: Buffer) => {
    droppedLines += countLines(chunk);
  });
  const flushSync = stream.flushSync.bind(stream);
  stream.flushSync = () => {
    try {
      flushSync();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // The reader is gone (`web | head -1`): nobody is left to read these lines, nor to tell.
      // sonic-boom 4 retried this forever, so a fatal line or an exit hung the process; 5
      // throws it (package.json overrides pino's dependency for that).
      if (code === 'EPIPE') return;
      if (code !== 'EAGAIN' && code !== 'EBUSY') throw error;
      writeSync(2, `log lines lost at exit: stdout's reader took none for ${EXIT_FLUSH_MS} ms\n`);
    }
  };
  // sonic-boom's types describe its text mode only; in buffer mode its write takes bytes.
  return stream as unknown as BatchedDestination;
}
