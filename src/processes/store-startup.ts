import { redactUrl } from '../store/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../log/logger.ts';
import { ensureSchema, type MigrationStatus, type UserStore } from '../users/user-store.ts';
import { isDomainError } from '../users/errors.ts';
import { unsupportedServer } from '../store/server-version.ts';
import { sleep } from './runtime.ts';

/** How the wait for the store ended. */
export type StoreWait =
  | { outcome: 'reachable' }
  | { outcome: 'timed out' }
  | { outcome: 'aborted' }
  /** An answer that waiting will not change: a database that does not exist, a bad password. */
  | { outcome: 'refused'; error: unknown };

/**
 * Pings the store with capped exponential backoff until it answers or `maxWaitMs` passes. The
 * tutorial's app hangs forever with nothing listening; this one keeps /healthz up, logs every
 * attempt, and lets the caller exit non-zero when the store never comes. Only "unavailable"
 * (unreachable, starting up, too busy) is worth a retry; any other answer ends the wait at once,
 * and so does a server too old for this code, which answers the same however long we wait.
 */
export async function waitForStore(
  store: UserStore,
  options: { logger: Logger; maxWaitMs: number; signal?: AbortSignal },
): Promise<StoreWait> {
  const deadline = Date.now() + options.maxWaitMs;
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      await store.ping();
      return { outcome: 'reachable' };
    } catch (error) {
      if (unsupportedServer(error) || !isDomainError(error, 'STORE_UNAVAILABLE')) {
        return { outcome: 'refused', error };
      }
      const remaining = deadline - Date.now();
      if (options.signal?.aborted) return { outcome: 'aborted' };
      if (remaining <= 0) return { outcome: 'timed out' };
      options.logger.warn(
        { attempt, retryInMs: Math.min(delay, remaining), err: error },
        'store unreachable; retrying',
      );
      await sleep(Math.min(delay, remaining), options.signal);
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/**
 * The start-up every process type shares once it listens: wait for the store with backoff, then
 * prepare its schema. Resolves with the store's logger when the process may start its work;
 * with undefined when a shutdown began meanwhile, or after starting one (exit 1) because the
 * store never answered or its schema is unusable.
 */
export async function connectStore(
  store: UserStore,
  options: {
    logger: Logger;
    config: { store: { url: string } } & Pick<Config, 'startupStoreWaitMs'>;
    signal: AbortSignal;
    shutdown: { begin(reason: string, exitCode?: number): Promise<void> };
    /**
     * A schema check begun before listening, to save its round trips at start: its status is
     * taken if it got one; if it failed, the check runs again here and reports.
     */
    earlySchema?: Promise<MigrationStatus | undefined>;
  },
): Promise<Logger | undefined> {
  const storeLog = options.logger.child({
    store: store.kind,
    url: redactUrl(options.config.store.url),
  });
  // A schema check that got its status has reached the store already: no ping to wait for.
  const early = await options.earlySchema?.catch(() => undefined);
  const wait: StoreWait = early
    ? { outcome: 'reachable' }
    : await waitForStore(store, {
        logger: storeLog,
        maxWaitMs: options.config.startupStoreWaitMs,
        signal: options.signal,
      });
  /** Logs why the process cannot start, then exits 1. */
  const giveUp = async (reason: string, fields: object, message: string) => {
    storeLog.fatal(fields, message);
    await options.shutdown.begin(reason, 1);
    return undefined;
  };
  if (options.signal.aborted) return undefined;
  if (wait.outcome === 'refused') {
    const unsupported = unsupportedServer(wait.error);
    if (unsupported) {
      const { found, required, address } = unsupported;
      const fields = { found, required, address, err: wait.error };
      const message = `store server not supported: ${unsupported.message}`;
      return giveUp('store server not supported', fields, message);
    }
    const reason = wait.error instanceof Error ? wait.error.message : String(wait.error);
    return giveUp('store refused', { reason }, 'store refused the connection; giving up');
  }
  if (wait.outcome !== 'reachable') {
    const fields = { waitedMs: options.config.startupStoreWaitMs };
    return giveUp('store unreachable', fields, 'store unreachable at start; giving up');
  }
  try {
    const { applied } = early ?? (await ensureSchema(store));
    if (store.capabilities.embedded)
      storeLog.info({ applied: applied.length }, 'embedded store migrated');
    // A shutdown that began during the schema check has stopped the work already: starting it
    // now would run it past its stop, with the store closing under it.
    return options.signal.aborted ? undefined : storeLog;
  } catch (error) {
    // The shutdown closing the store fails the check: that is no reason to exit 1.
    if (options.signal.aborted) return undefined;
    return giveUp('schema not usable', { err: error }, 'store schema not usable');
  }
}

/**
 * What every long-running process type does once its shutdown is installed: listen (or log
 * `cannot listen` with `where` and exit 1), then connectStore.
 */
export async function listenThenConnect(
  store: UserStore,
  listen: { start: () => Promise<unknown>; where: Record<string, unknown> },
  options: Parameters<typeof connectStore>[1],
): Promise<Logger | undefined> {
  try {
    await listen.start();
  } catch (error) {
    options.logger.fatal({ err: error, ...listen.where }, 'cannot listen');
    await options.shutdown.begin('listen failed', 1);
  }
  return connectStore(store, options);
}
