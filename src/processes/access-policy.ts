import { startRefusals, type Config } from '../config/index.ts';
import type { Logger } from '../log/logger.ts';

/**
 * With no API_TOKENS and no JWT_JWKS_URL the API is the tutorial's: anyone who reaches the port
 * may change every user. Said loudly at every start. In production that, and an embedded store,
 * are refused unless a variable says someone chose them (src/config/start-policy.ts, which
 * `doctor app` reports in the same words). Returns false when the process must not start.
 */
export function checkAccessPolicy(config: Config, logger: Logger): boolean {
  const mode =
    [config.apiTokens.length > 0 && 'tokens', config.jwt && 'jwt'].filter(Boolean).join('+') ||
    'anonymous';
  const refusals = startRefusals(config);
  for (const refusal of refusals) logger.fatal({ access: mode, fix: refusal.fix }, refusal.reason);
  if (refusals.length > 0) return false;
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
  logger.warn(
    { access: mode, fix: 'set API_TOKENS or JWT_JWKS_URL' },
    'NO ACCESS CONTROL: anyone who can reach this port can create, change and delete every user',
  );
  return true;
}
