import type { Config } from './config.ts';

/** A valid configuration the web process still refuses to start with. */
export interface StartRefusal {
  /** The `doctor app` check that reports it. */
  check: 'config.access-control' | 'config.production-store';
  /** Logged by the web process and shown by `doctor app`, word for word. */
  reason: string;
  fix: string;
}

const hasAccessControl = (config: Config) =>
  config.apiTokens.length > 0 || config.jwt !== undefined;
export const isEmbeddedStore = (config: Config) => config.store.url.startsWith('sqlite:');

/**
 * What production refuses unless an operator chose it: an API anyone may change (the tutorial's)
 * and an embedded SQLite file that a second replica would not share. One list, so the web
 * process and `doctor app` cannot disagree.
 */
export function startRefusals(config: Config): StartRefusal[] {
  if (config.nodeEnv !== 'production') return [];
  const refusals: StartRefusal[] = [];
  if (!hasAccessControl(config) && !config.allowAnonymousWrites) {
    refusals.push({
      check: 'config.access-control',
      reason: 'refusing to start: no access control in production',
      fix: 'set API_TOKENS or JWT_JWKS_URL, or ALLOW_ANONYMOUS_WRITES=true',
    });
  }
  if (isEmbeddedStore(config) && !config.allowEmbeddedStore) {
    refusals.push({
      check: 'config.production-store',
      reason: 'refusing to start: embedded SQLite in production',
      fix: 'set DATABASE_URL to PostgreSQL or MONGO_URL to MongoDB, or ALLOW_EMBEDDED_STORE=true for a single web replica',
    });
  }
  return refusals;
}
