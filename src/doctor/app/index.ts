import { loadConfig, ConfigError, type Config } from '../../config/index.ts';
import type { UserStore } from '../../users/user-store.ts';
import { createReport, type Check, type Report } from '../report.ts';
import {
  checkAccessControl,
  checkProductionStore,
  checkSchema,
  checkStoreReachable,
} from './checks.ts';

export { APP_CHECK_IDS, checkStoreReachable } from './checks.ts';

export interface AppCheckDeps {
  env: Readonly<Record<string, string | undefined>>;
  /** Opens the store the config names; the caller closes nothing, runAppChecks does. */
  openStore: (config: Config) => Promise<UserStore>;
  redact: (url: string) => string;
  release: { version: string; commit: string | undefined; buildTime: string | undefined };
}

const skipped = (id: string, title: string, why: string): Check => ({
  id,
  title,
  status: 'skip',
  severity: 'required',
  summary: why,
  evidence: [],
  hint: 'Fix the configuration first.',
});

/** `doctor app`: is this deployment's configuration valid, its store reachable and current? */
export async function runAppChecks(deps: AppCheckDeps): Promise<Report> {
  const checks: Check[] = [];
  let config: Config | undefined;
  try {
    config = loadConfig(deps.env);
    checks.push({
      id: 'config.valid',
      title: 'Configuration valid',
      status: 'pass',
      severity: 'required',
      summary: 'every variable parses',
      evidence: ['environment'],
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    checks.push({
      id: 'config.valid',
      title: 'Configuration valid',
      status: 'fail',
      severity: 'required',
      summary: error.problems.map((p) => `${p.variable} ${p.message}`).join('; '),
      evidence: error.problems.map((p) => p.variable),
      hint: 'See .env.example and the README table for every variable and its format.',
    });
  }

  const release = deps.release;
  const releaseCheck: Check = {
    id: 'release',
    title: 'Release',
    status: 'info',
    severity: 'optional',
    summary: `version ${release.version}, commit ${release.commit ?? 'unknown'}, built ${release.buildTime ?? 'unknown'}`,
    evidence: ['package.json', 'GIT_COMMIT', 'BUILD_TIME'],
    ...(release.commit === undefined && {
      hint: 'Builds set GIT_COMMIT and BUILD_TIME (the image does).',
    }),
  };

  if (!config) {
    checks.push(
      skipped('config.access-control', 'Access control', 'no valid configuration'),
      skipped('config.production-store', 'Store fit for production', 'no valid configuration'),
      skipped('store.reachable', 'Store reachable', 'no valid configuration'),
      skipped('store.schema', 'Migrations current', 'no valid configuration'),
      releaseCheck,
    );
    return createReport({ subject: 'app', checks });
  }

  checks.push(checkAccessControl(config), checkProductionStore(config));
  const evidence = deps.redact(config.store.url);
  const store = await deps.openStore(config);
  try {
    const reachable = await checkStoreReachable(store, {
      timeoutMs: config.store.connectTimeoutMs,
      evidence,
    });
    checks.push(reachable);
    checks.push(
      reachable.status === 'pass'
        ? await checkSchema(store, evidence)
        : {
            ...skipped('store.schema', 'Migrations current', 'the store does not answer'),
            status: 'unknown' as const,
            hint: 'Make the store reachable first.',
          },
    );
  } finally {
    await store.close();
  }
  checks.push(releaseCheck);
  return createReport({
    subject: 'app',
    checks,
    context: { store: evidence, nodeEnv: config.nodeEnv, version: release.version },
  });
}
