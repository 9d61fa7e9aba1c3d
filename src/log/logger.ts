import { pino, type Logger, type LoggerOptions } from 'pino';

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

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
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
  // Lines are written in batches of 4 KiB or every 250 ms, whichever comes first: one write
  // per request line costs a fifth of a point read's CPU. pino flushes what is left on exit.
  return pino(
    options,
    settings.destination ??
      pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 }),
  );
}
