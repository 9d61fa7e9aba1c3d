import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/index.ts';
import { exitAfterLogs, type Logger } from '../log/logger.ts';

/** Five unexpected exits within a minute is a crash loop: restarting would only hide it. */
const CRASH_LIMIT = 5;
const CRASH_WINDOW_MS = 60_000;
const MAX_RESTART_DELAY_MS = 10_000;
/** Past the children's own shutdown budget, the supervisor stops waiting for them. */
const KILL_GRACE_MS = 5_000;

/**
 * Runs WEB_CONCURRENCY web processes on one port (node:cluster shares the listening socket).
 * A child that exits unexpectedly is replaced after an exponential backoff; a crash loop makes
 * the supervisor give up loudly and exit 1. SIGTERM/SIGINT are forwarded as SIGTERM, so every
 * child drains; the supervisor exits when all have (0 if all exited 0). A second signal kills.
 */
export function superviseWeb(options: { config: Config; logger: Logger }): void {
  const { config } = options;
  const log = options.logger.child({ role: 'supervisor' });
  const children = new Set<Worker>();
  /** Children being replaced by a rolling restart: their exit is expected, not a crash. */
  const retiring = new Set<Worker>();
  let rolling = false;
  const crashes: number[] = [];
  let stopping = false;
  let exitCode = 0;

  const fork = () => {
    const child = cluster.fork();
    children.add(child);
    log.info({ childPid: child.process.pid }, 'web child started');
  };

  const finish = () => {
    log.info({ exitCode }, 'supervisor stopped');
    exitAfterLogs(log, exitCode);
  };

  const stop = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    log.info({ reason, children: children.size }, 'stopping web children');
    setTimeout(() => {
      log.error({ left: children.size }, 'web children overran the shutdown budget; killing');
      for (const child of children) child.process.kill('SIGKILL');
      exitCode = 1;
      finish();
    }, config.shutdownTimeoutMs + KILL_GRACE_MS).unref();
    for (const child of children) child.process.kill('SIGTERM');
    if (children.size === 0) finish();
  };

  cluster.on('exit', (child, code, signal) => {
    children.delete(child);
    if (retiring.delete(child)) {
      log.info({ childPid: child.process.pid, code }, 'web child retired');
      if (stopping && children.size === 0) finish();
      return;
    }
    if (stopping) {
      if (code !== 0) exitCode = 1;
      if (children.size === 0) finish();
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && crashes[0]! < now - CRASH_WINDOW_MS) crashes.shift();
    if (crashes.length >= CRASH_LIMIT) {
      log.fatal(
        { crashes: crashes.length, windowMs: CRASH_WINDOW_MS, lastExit: { code, signal } },
        'web children crash in a loop; giving up',
      );
      stop('crash loop', 1);
      return;
    }
    const delay = Math.min(100 * 2 ** (crashes.length - 1), MAX_RESTART_DELAY_MS);
    log.error(
      { pid: child.process.pid, code, signal, restartInMs: delay },
      'web child exited; restarting',
    );
    setTimeout(() => {
      if (!stopping) fork();
    }, delay);
  });

  const readyOrExit = (child: Worker) =>
    new Promise<boolean>((resolve) => {
      child.on('message', (message: { type?: string }) => {
        if (message?.type === 'web-ready') resolve(true);
      });
      child.once('exit', () => resolve(false));
    });
  const exitOf = (child: Worker) =>
    new Promise<void>((resolve) => {
      if (child.isDead()) resolve();
      else child.once('exit', () => resolve());
    });

  /**
   * SIGHUP: replace the children one at a time, each only once its replacement is ready, so
   * the port always has a ready process behind it (new code or new config, no dropped request).
   */
  const roll = async () => {
    if (rolling || stopping) return;
    rolling = true;
    log.info({ children: children.size }, 'rolling restart started');
    for (const old of [...children]) {
      if (stopping) break;
      const fresh = cluster.fork();
      children.add(fresh);
      log.info({ childPid: fresh.process.pid, replaces: old.process.pid }, 'web child started');
      if (!(await readyOrExit(fresh))) {
        log.error(
          { childPid: fresh.process.pid },
          'replacement never became ready; rolling restart stopped',
        );
        break;
      }
      retiring.add(old);
      old.process.kill('SIGTERM');
      await exitOf(old);
    }
    rolling = false;
    log.info({ children: children.size }, 'rolling restart finished');
  };
  process.on('SIGHUP', () => void roll());

  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping) {
      stop(signal, 0);
      return;
    }
    log.warn({ signal }, 'second signal; killing web children');
    for (const child of children) child.process.kill('SIGKILL');
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  log.info({ children: config.webConcurrency }, 'supervising web processes');
  for (let i = 0; i < config.webConcurrency; i++) fork();
}
