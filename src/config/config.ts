import {
  parseEventSettings,
  type ClockSettings,
  type WebhookSettings,
  type WorkerSettings,
} from './background.ts';
import { mongoUrlProblem } from './mongo-url.ts';
import { parseTelemetrySettings, type TelemetrySettings } from './telemetry.ts';
import {
  VARIABLES,
  type ScalarValues,
  type Variable,
  type VariableName,
  type VariableType,
} from './variables.ts';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.ts';

/** How every process opens its store (a process may lower `poolMax` or the statement timeout). */
export interface StoreSettings {
  /** The store's URL, from MONGO_URL when set, else DATABASE_URL. */
  readonly url: string;
  /** Connections per process (PostgreSQL pool, MongoDB maxPoolSize); SQLite has one. */
  readonly poolMax: number;
  /** How long a call waits to reach the server (connect, pool checkout, server selection). */
  readonly connectTimeoutMs: number;
  /** How long one statement may run (SQLite: how long to wait for a lock); 0 means no limit. */
  readonly statementTimeoutMs: number;
}

export interface Config {
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly port: number;
  readonly webConcurrency: number;
  readonly host: string;
  readonly store: StoreSettings;
  readonly allowEmbeddedStore: boolean;
  readonly startupStoreWaitMs: number;
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly shutdownDelayMs: number;
  readonly shutdownTimeoutMs: number;
  readonly trustProxy: TrustProxy;
  /** Open connections one web process keeps; 0 derives it from the descriptor limit. */
  readonly maxConnections: number;
  /** Open connections one client address may hold; 0 is no cap. */
  readonly maxConnectionsPerClient: number;
  /** How long one Redis command of the rate limiter may take before it counts per process. */
  readonly redisTimeoutMs: number;
  readonly gitCommit: string | undefined;
  readonly buildTime: string | undefined;
  /** Bearer tokens; a `read` token may not write. Empty with no JWT: anonymous (the tutorial). */
  readonly apiTokens: readonly ApiToken[];
  readonly jwt: JwtSettings | undefined;
  readonly readsRequireAuth: boolean;
  readonly metricsRequireAuth: boolean;
  readonly allowAnonymousWrites: boolean;
  /** Per client per window; max 0 is off. */
  readonly rateLimit: { readonly max: number; readonly windowMs: number };
  readonly redisUrl: string | undefined;
  readonly responseTimeoutMs: number;
  readonly maxEventLoopDelayMs: number;
  readonly corsOrigins: readonly string[];
  /** How long an Idempotency-Key on POST /user is remembered. */
  readonly idempotencyTtlMs: number;
  /** Where and how the worker delivers user events. */
  readonly webhooks: WebhookSettings;
  readonly worker: WorkerSettings;
  readonly clock: ClockSettings;
  /** OpenTelemetry tracing, from the standard OTEL_* variables; off by default. */
  readonly telemetry: TelemetrySettings;
}

export type Scope = 'read' | 'write';
export interface ApiToken {
  readonly token: string;
  readonly scope: Scope;
}
export interface JwtSettings {
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
}

export interface ConfigProblem {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(`Invalid configuration: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Parsed = string | number | boolean | TrustProxy | undefined;

function parseValue(type: VariableType, raw: string): { value?: Parsed; problem?: string } {
  switch (type.kind) {
    case 'port':
    case 'integer': {
      const [min, max] = type.kind === 'port' ? [0, 65535] : [type.min, type.max];
      if (!/^\d+$/.test(raw)) return { problem: `must be an integer from ${min} to ${max}` };
      const value = Number(raw);
      if (value < min || value > max) return { problem: `must be from ${min} to ${max}` };
      return { value };
    }
    case 'boolean':
      if (['true', '1', 'yes'].includes(raw)) return { value: true };
      if (['false', '0', 'no'].includes(raw)) return { value: false };
      return { problem: 'must be true or false' };
    case 'enum':
      if (type.values.includes(raw)) return { value: raw };
      return { problem: `must be one of ${type.values.join(', ')}` };
    case 'url': {
      const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();
      if (!scheme || !type.schemes.includes(scheme)) {
        return { problem: `must be a URL with scheme ${type.schemes.join(', ')}` };
      }
      if (scheme === 'mongodb' || scheme === 'mongodb+srv') {
        const problem = mongoUrlProblem(raw);
        return problem ? { problem } : { value: raw };
      }
      if (scheme !== 'sqlite' && !URL.parse(raw)?.hostname) {
        return { problem: 'is not a valid URL with a host' };
      }
      if (scheme === 'sqlite' && raw.length <= 'sqlite:'.length) {
        return { problem: 'must name a file: sqlite:<path> or sqlite::memory:' };
      }
      return { value: raw };
    }
    case 'string':
      return { value: raw };
    case 'trust-proxy':
      return parseTrustProxy(raw);
  }
}

const MIN_TOKEN_LENGTH = 16;

/** `API_TOKENS=tokenA,tokenB:read`: a `:read` or `:write` suffix is the scope (write by default). */
function parseTokens(raw: string | undefined, problems: ConfigProblem[]): readonly ApiToken[] {
  const tokens: ApiToken[] = [];
  for (const entry of (raw ?? '').split(',').map((e) => e.trim())) {
    if (!entry) continue;
    const colon = entry.lastIndexOf(':');
    const scope = colon === -1 ? 'write' : entry.slice(colon + 1);
    const token = colon === -1 ? entry : entry.slice(0, colon);
    if (scope !== 'read' && scope !== 'write') {
      problems.push({ variable: 'API_TOKENS', message: 'has a scope other than read or write' });
    } else if (token.length < MIN_TOKEN_LENGTH) {
      // The value itself is never echoed: the message may end up in a log.
      problems.push({
        variable: 'API_TOKENS',
        message: `has a token shorter than ${MIN_TOKEN_LENGTH} characters`,
      });
    } else tokens.push(Object.freeze({ token, scope }));
  }
  return Object.freeze(tokens);
}

function parseOrigins(raw: string | undefined, problems: ConfigProblem[]): readonly string[] {
  const origins = (raw ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (URL.parse(origin)?.origin !== origin) {
      problems.push({
        variable: 'CORS_ORIGINS',
        message: `has ${JSON.stringify(origin)}, not an origin like https://app.example.com`,
      });
    }
  }
  return Object.freeze(origins);
}

/**
 * Reads the environment once into a frozen Config. An empty variable counts as unset. Throws a
 * ConfigError naming every bad variable, never just the first.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: ConfigProblem[] = [];
  const values = new Map<VariableName, Parsed>();
  for (const variable of VARIABLES as readonly Variable[]) {
    const raw = env[variable.name]?.trim();
    const source = raw === undefined || raw === '' ? variable.default : raw;
    if (source === undefined) continue;
    const { value, problem } = parseValue(variable.type, source);
    if (problem) problems.push({ variable: variable.name, message: problem });
    else values.set(variable.name as VariableName, value);
  }
  const mongoUrl = values.get('MONGO_URL') as string | undefined;
  const databaseUrl = env.DATABASE_URL?.trim();
  if (mongoUrl && databaseUrl && databaseUrl !== mongoUrl) {
    problems.push({
      variable: 'MONGO_URL',
      message: 'and DATABASE_URL are both set and differ; set only one',
    });
  }
  const apiTokens = parseTokens(values.get('API_TOKENS') as string | undefined, problems);
  const corsOrigins = parseOrigins(values.get('CORS_ORIGINS') as string | undefined, problems);
  const jwksUrl = values.get('JWT_JWKS_URL') as string | undefined;
  const issuer = values.get('JWT_ISSUER') as string | undefined;
  const audience = values.get('JWT_AUDIENCE') as string | undefined;
  // Without both checks, a token minted by the same issuer for another service would pass.
  if (jwksUrl && (!issuer || !audience)) {
    problems.push({ variable: 'JWT_JWKS_URL', message: 'needs JWT_ISSUER and JWT_AUDIENCE' });
  }
  // The event settings read only scalar variables; TRUST_PROXY's list is not among them.
  const events = parseEventSettings(values as ScalarValues, problems);
  const telemetry = parseTelemetrySettings(values as ScalarValues, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const get = <T extends Parsed>(name: VariableName) => values.get(name) as T;
  return Object.freeze({
    nodeEnv: get<Config['nodeEnv']>('NODE_ENV'),
    port: get<number>('PORT'),
    webConcurrency: get<number>('WEB_CONCURRENCY'),
    host: get<string>('HOST'),
    store: Object.freeze({
      url: mongoUrl ?? get<string>('DATABASE_URL'),
      poolMax: get<number>('DATABASE_POOL_MAX'),
      connectTimeoutMs: get<number>('DATABASE_CONNECT_TIMEOUT_MS'),
      statementTimeoutMs: get<number>('DATABASE_STATEMENT_TIMEOUT_MS'),
    }),
    allowEmbeddedStore: get<boolean>('ALLOW_EMBEDDED_STORE'),
    startupStoreWaitMs: get<number>('STARTUP_STORE_WAIT_MS'),
    logLevel: get<string>('LOG_LEVEL'),
    bodyLimitBytes: get<number>('BODY_LIMIT_BYTES'),
    requestTimeoutMs: get<number>('REQUEST_TIMEOUT_MS'),
    keepAliveTimeoutMs: get<number>('KEEP_ALIVE_TIMEOUT_MS'),
    shutdownDelayMs: get<number>('SHUTDOWN_DELAY_MS'),
    shutdownTimeoutMs: get<number>('SHUTDOWN_TIMEOUT_MS'),
    trustProxy: get<TrustProxy>('TRUST_PROXY'),
    maxConnections: get<number>('MAX_CONNECTIONS'),
    maxConnectionsPerClient: get<number>('MAX_CONNECTIONS_PER_CLIENT'),
    redisTimeoutMs: get<number>('REDIS_TIMEOUT_MS'),
    gitCommit: get<string | undefined>('GIT_COMMIT'),
    buildTime: get<string | undefined>('BUILD_TIME'),
    apiTokens,
    jwt: jwksUrl && issuer && audience ? Object.freeze({ jwksUrl, issuer, audience }) : undefined,
    readsRequireAuth: get<boolean>('READS_REQUIRE_AUTH'),
    metricsRequireAuth: get<boolean>('METRICS_REQUIRE_AUTH'),
    allowAnonymousWrites: get<boolean>('ALLOW_ANONYMOUS_WRITES'),
    rateLimit: Object.freeze({
      max: get<number>('RATE_LIMIT_MAX'),
      windowMs: get<number>('RATE_LIMIT_WINDOW_MS'),
    }),
    redisUrl: get<string | undefined>('REDIS_URL'),
    responseTimeoutMs: get<number>('RESPONSE_TIMEOUT_MS'),
    maxEventLoopDelayMs: get<number>('MAX_EVENT_LOOP_DELAY_MS'),
    corsOrigins,
    idempotencyTtlMs: get<number>('IDEMPOTENCY_TTL_MS'),
    ...events,
    telemetry,
  });
}
