import { VARIABLES, type Variable, type VariableType } from './variables.ts';

export interface Config {
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly port: number;
  readonly webConcurrency: number;
  readonly host: string;
  /** The store's URL, from MONGO_URL when set, else DATABASE_URL. */
  readonly storeUrl: string;
  readonly allowEmbeddedStore: boolean;
  readonly poolMax: number;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly startupStoreWaitMs: number;
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly shutdownDelayMs: number;
  readonly shutdownTimeoutMs: number;
  readonly trustProxy: boolean;
  readonly gitCommit: string | undefined;
  readonly buildTime: string | undefined;
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

type Parsed = string | number | boolean | undefined;

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
  }
}

/**
 * Reads the environment once into a frozen Config. An empty variable counts as unset. Throws a
 * ConfigError naming every bad variable, never just the first.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: ConfigProblem[] = [];
  const values = new Map<string, Parsed>();
  for (const variable of VARIABLES as readonly Variable[]) {
    const raw = env[variable.name]?.trim();
    const source = raw === undefined || raw === '' ? variable.default : raw;
    if (source === undefined) continue;
    const { value, problem } = parseValue(variable.type, source);
    if (problem) problems.push({ variable: variable.name, message: problem });
    else values.set(variable.name, value);
  }
  const mongoUrl = values.get('MONGO_URL') as string | undefined;
  const databaseUrl = env.DATABASE_URL?.trim();
  if (mongoUrl && databaseUrl && databaseUrl !== mongoUrl) {
    problems.push({
      variable: 'MONGO_URL',
      message: 'and DATABASE_URL are both set and differ; set only one',
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const get = <T extends Parsed>(name: string) => values.get(name) as T;
  return Object.freeze({
    nodeEnv: get<Config['nodeEnv']>('NODE_ENV'),
    port: get<number>('PORT'),
    webConcurrency: get<number>('WEB_CONCURRENCY'),
    host: get<string>('HOST'),
    storeUrl: mongoUrl ?? get<string>('DATABASE_URL'),
    allowEmbeddedStore: get<boolean>('ALLOW_EMBEDDED_STORE'),
    poolMax: get<number>('DATABASE_POOL_MAX'),
    connectTimeoutMs: get<number>('DATABASE_CONNECT_TIMEOUT_MS'),
    statementTimeoutMs: get<number>('DATABASE_STATEMENT_TIMEOUT_MS'),
    startupStoreWaitMs: get<number>('STARTUP_STORE_WAIT_MS'),
    logLevel: get<string>('LOG_LEVEL'),
    bodyLimitBytes: get<number>('BODY_LIMIT_BYTES'),
    requestTimeoutMs: get<number>('REQUEST_TIMEOUT_MS'),
    keepAliveTimeoutMs: get<number>('KEEP_ALIVE_TIMEOUT_MS'),
    shutdownDelayMs: get<number>('SHUTDOWN_DELAY_MS'),
    shutdownTimeoutMs: get<number>('SHUTDOWN_TIMEOUT_MS'),
    trustProxy: get<boolean>('TRUST_PROXY'),
    gitCommit: get<string | undefined>('GIT_COMMIT'),
    buildTime: get<string | undefined>('BUILD_TIME'),
  });
}
