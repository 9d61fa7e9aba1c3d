import { exitAfterLogs, type Logger } from '../log/logger.ts';

export interface ShutdownStep {
  name: string;
  /** `reason` is what began the shutdown: the signal's name, or the caller's words. */
  run: (reason: string) => Promise<void> | void;
}

export interface ShutdownOptions {
  logger: Logger;
  /** Budget for every step together; past it the process exits 1. */
  timeoutMs: number;
  steps: ShutdownStep[];
  /** Signals that start the shutdown; default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  exit?: (code: number) => void;
}

/**
 * The one ordered shutdown every process type shares (factor IX): on SIGTERM or SIGINT run the
 * steps in order, then exit 0; an error or an overrun budget exits 1; a second signal exits at
 * once. `begin()` starts the same sequence from code (e.g. a fatal start-up error).
 */
export function installShutdown(options: ShutdownOptions) {
  const log = options.logger;
  const exitNow = options.exit ?? ((code: number) => process.exit(code));
  // The last lines leave before the exit (see exitAfterLogs: a reader gone made SIGTERM hang);
  // a second exit, such as the budget's, goes at once.
  let exiting = false;
  const exit = (code: number) => {
    if (exiting) return exitNow(code);
    exiting = true;
    exitAfterLogs(log, code, exitNow);
  };
  let running: Promise<void> | undefined;

  const begin = (reason: string, exitCode = 0): Promise<void> => {
    if (running) return running;
    log.info({ reason, budgetMs: options.timeoutMs }, 'shutdown started');
    const started = Date.now();
    const budget = setTimeout(() => {
      log.error({ budgetMs: options.timeoutMs }, 'shutdown overran its budget; exiting');
      exit(1);
    }, options.timeoutMs);
    running = (async () => {
      let code = exitCode;
      for (const step of options.steps) {
        try {
          await step.run(reason);
          log.debug({ step: step.name }, 'shutdown step done');
        } catch (error) {
          log.error({ err: error, step: step.name }, 'shutdown step failed');
          code = 1;
        }
      }
      clearTimeout(budget);
      log.info({ durationMs: Date.now() - started, exitCode: code }, 'shutdown complete');
      exit(code);
    })();
    return running;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (running) {
      log.warn({ signal }, 'second signal; exiting now');
      exit(signal === 'SIGINT' ? 130 : 143);
      return;
    }
    void begin(signal);
  };
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  for (const signal of signals) process.on(signal, onSignal);
  // A supervised process leaves the terminal's Ctrl+C to its supervisor, which forwards SIGTERM.
  if (!signals.includes('SIGINT')) process.on('SIGINT', () => undefined);
  return { begin };
}
