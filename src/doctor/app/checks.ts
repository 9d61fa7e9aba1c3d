import { isEmbeddedStore, startRefusals, type Config } from '../../config/index.ts';
import { unsupportedServer } from '../../store/server-version.ts';
import type { UserStore } from '../../users/user-store.ts';
import type { Check } from '../report.ts';

/**
 * The deployment checks of `doctor app`. The cheap ones (`store.reachable`) are what /readyz
 * runs on every probe, so an operator's report and the orchestrator's view never disagree.
 */
export const APP_CHECK_IDS = [
  'config.valid',
  'config.access-control',
  'config.production-store',
  'store.reachable',
  'store.schema',
  'release',
] as const;

const describe = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

export async function checkStoreReachable(
  store: UserStore,
  options: { timeoutMs: number; evidence: string },
): Promise<Check> {
  const base = {
    id: 'store.reachable',
    title: 'Store reachable',
    severity: 'required',
    evidence: [options.evidence],
  } as const;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
  });
  try {
    const started = performance.now();
    await Promise.race([store.ping(), timeout]);
    const ms = Math.round(performance.now() - started);
    return { ...base, status: 'pass', summary: `${store.kind} answered in ${ms} ms` };
  } catch (error) {
    const unsupported = unsupportedServer(error);
    if (unsupported) {
      return {
        ...base,
        status: 'fail',
        summary: `${store.kind} answers but is too old: found ${unsupported.found}, needs ${unsupported.required} or later (${unsupported.message})`,
        hint: `Upgrade the server to ${unsupported.required} or later; the README lists the versions supported.`,
      };
    }
    const cause = describe((error as { cause?: unknown }).cause ?? error);
    return {
      ...base,
      status: 'fail',
      summary: `${store.kind} does not answer (${cause})`,
      hint: 'Check DATABASE_URL / MONGO_URL, that the server runs and that this host may reach it.',
    };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkSchema(store: UserStore, evidence: string): Promise<Check> {
  const base = {
    id: 'store.schema',
    title: 'Migrations current',
    severity: 'required',
    evidence: [evidence],
  } as const;
  try {
    const { applied, pending } = await store.migrationStatus();
    if (pending.length === 0) {
      return { ...base, status: 'pass', summary: `${applied.length} applied, none pending` };
    }
    return {
      ...base,
      status: store.capabilities.embedded ? 'warn' : 'fail',
      summary: `${pending.length} pending: ${pending.join(', ')}`,
      hint: store.capabilities.embedded
        ? 'The web process applies them at start on the embedded store; or run `npm run migrate`.'
        : 'Run the release step: `npm run migrate` (Compose: the release service; Kubernetes: the release Job).',
    };
  } catch (error) {
    return {
      ...base,
      status: 'unknown',
      summary: `cannot read the migration status (${describe(error)})`,
      hint: 'Make the store reachable first.',
    };
  }
}

/**
 * The start-up checks' common first step: skipped outside production, and failed in the web
 * process's own words when it would refuse to start; undefined when the check goes on.
 */
function productionRefusal(
  config: Config,
  base: Pick<Check, 'id' | 'title' | 'severity' | 'evidence'>,
  skipHint: string,
): Check | undefined {
  if (config.nodeEnv !== 'production') {
    return { ...base, status: 'skip', summary: `NODE_ENV=${config.nodeEnv}`, hint: skipHint };
  }
  const refusal = startRefusals(config).find((r) => r.check === base.id);
  if (refusal) return { ...base, status: 'fail', summary: refusal.reason, hint: refusal.fix };
  return undefined;
}

export function checkAccessControl(config: Config): Check {
  const base = {
    id: 'config.access-control',
    title: 'Access control',
    severity: 'required',
    evidence: ['NODE_ENV', 'API_TOKENS', 'JWT_JWKS_URL', 'ALLOW_ANONYMOUS_WRITES'],
  } as const;
  const refused = productionRefusal(
    config,
    base,
    'Checked only when NODE_ENV=production (elsewhere an open API is the tutorial’s).',
  );
  if (refused) return refused;
  if (config.apiTokens.length > 0 || config.jwt) {
    return { ...base, status: 'pass', summary: 'bearer tokens required for writes' };
  }
  return {
    ...base,
    status: 'warn',
    summary: 'none, explicitly allowed: anyone who can reach the port can change every user',
    hint: 'Only behind a proxy that authenticates; otherwise set API_TOKENS or JWT_JWKS_URL.',
  };
}

export function checkProductionStore(config: Config): Check {
  const base = {
    id: 'config.production-store',
    title: 'Store fit for production',
    severity: 'required',
    evidence: ['NODE_ENV', 'DATABASE_URL', 'MONGO_URL', 'ALLOW_EMBEDDED_STORE'],
  } as const;
  const refused = productionRefusal(config, base, 'Checked only when NODE_ENV=production.');
  if (refused) return refused;
  if (!isEmbeddedStore(config)) return { ...base, status: 'pass', summary: 'a networked store' };
  return {
    ...base,
    status: 'warn',
    summary: 'embedded SQLite in production, explicitly allowed',
    hint: 'Run exactly one web replica on a persistent volume; every other process type needs a networked store.',
  };
}
