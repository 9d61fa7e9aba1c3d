import cluster from 'node:cluster';
import { enableCompileCache } from 'node:module';

/**
 * The `web` process type. With WEB_CONCURRENCY=N > 1 (Heroku's variable) this process becomes
 * a supervisor of N web processes sharing one port; otherwise it serves by itself. Each side
 * loads only what it needs: the supervisor never loads Fastify or a store driver.
 *
 * Node's on-disk compile cache (in the OS temp directory; skipped where it is not writable)
 * saves recompiling the same modules on every start and restart, so it is enabled before
 * anything else is imported.
 */
enableCompileCache();
const { startProcess } = await import('./runtime.ts');
const { checkAccessPolicy } = await import('./access-policy.ts');
const { exitAfterLogs } = await import('../log/logger.ts');
const { config, logger, release } = startProcess('web');
// Checked once, by the first process: children of a supervisor inherit its verdict.
if (cluster.isPrimary && !checkAccessPolicy(config, logger)) {
  exitAfterLogs(logger, 1);
} else if (cluster.isPrimary && config.webConcurrency > 1) {
  const { superviseWeb } = await import('./web-supervisor.ts');
  superviseWeb({ config, logger });
} else {
  const { serveWeb } = await import('./web-server.ts');
  await serveWeb({ config, logger, release, clustered: cluster.isWorker });
}
