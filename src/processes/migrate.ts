import { createStore, redactUrl } from '../store/index.ts';
import { startProcess } from './runtime.ts';

/** `npm run migrate`: applies pending migrations under the store's lock, then exits. */
const { config, logger } = startProcess('migrate');
const store = await createStore({
  url: config.storeUrl,
  poolMax: 2,
  connectTimeoutMs: config.connectTimeoutMs,
  statementTimeoutMs: 0,
});
const log = logger.child({ store: store.kind, url: redactUrl(config.storeUrl) });
try {
  const before = await store.migrationStatus();
  const after = await store.migrate();
  log.info(
    { applied: before.pending, alreadyApplied: before.applied.length, total: after.applied.length },
    before.pending.length === 0 ? 'schema already current' : 'migrations applied',
  );
} catch (error) {
  log.fatal({ err: error }, 'migration failed');
  process.exitCode = 1;
} finally {
  await store.close();
}
