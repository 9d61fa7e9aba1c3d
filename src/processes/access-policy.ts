import type { Config } from '../config/index.ts';
import type { Logger } from '../log/logger.ts';

/**
 * With no API_TOKENS and no JWT_JWKS_URL the API is the tutorial's: anyone who reaches the port
 * may change every user. Said loudly at every start; refused in production unless
 * ALLOW_ANONYMOUS_WRITES=true says someone chose it (e.g. behind an authenticating proxy).
 * Returns false when the process must not start.
 */
export function checkAccessPolicy(config: Config, logger: Logger): boolean {
  const mode =
    [config.apiTokens.length > 0 && 'tokens', config.jwt && 'jwt'].filter(Boolean).join('+') ||
    'anonymous';
  if (mode !== 'anonymous') {
    logger.info(
      {
        access: mode,
        tokens: config.apiTokens.length,
        readsRequireAuth: config.readsRequireAuth,
        metricsRequireAuth: config.metricsRequireAuth,
      },
      'access control on',
    );
    return true;
  }
  if (config.nodeEnv === 'production' && !config.allowAnonymousWrites) {
    logger.fatal(
      { access: mode, fix: 'set API_TOKENS or JWT_JWKS_URL, or ALLOW_ANONYMOUS_WRITES=true' },
      'refusing to start: no access control in production',
    );
    return false;
  }
  logger.warn(
    { access: mode, fix: 'set API_TOKENS or JWT_JWKS_URL' },
    'NO ACCESS CONTROL: anyone who can reach this port can create, change and delete every user',
  );
  return true;
}
