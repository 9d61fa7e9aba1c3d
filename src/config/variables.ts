import { EVENT_VARIABLES } from './variables-background.ts';
import { TELEMETRY_VARIABLES } from './variables-telemetry.ts';
import { ms, type Variable } from './variable-types.ts';

export type { Variable, VariableType } from './variable-types.ts';

const STORE_SCHEMES = ['sqlite', 'postgres', 'postgresql', 'mongodb', 'mongodb+srv'];

/**
 * Every environment variable 12factor-app reads, declared once: name, type, default and meaning.
 * The README's table and `.env.example` are checked against this list by a test.
 */
export const VARIABLES = [
  {
    name: 'NODE_ENV',
    type: { kind: 'enum', values: ['development', 'production', 'test'] },
    default: 'development',
    description: 'Deployment kind; `production` turns on stricter start-up checks.',
  },
  {
    name: 'PORT',
    type: { kind: 'port' },
    default: '1337',
    description: 'TCP port the web process listens on (factor VII; 1337 as in the tutorial).',
  },
  {
    name: 'WEB_CONCURRENCY',
    type: { kind: 'integer', min: 1, max: 64 },
    default: '1',
    description: 'Web processes sharing PORT on this machine (Heroku’s variable; factor VIII).',
  },
  {
    name: 'HOST',
    type: { kind: 'string' },
    default: '0.0.0.0',
    description: 'Address to bind; `0.0.0.0` serves every interface, as a container needs.',
  },
  {
    name: 'DATABASE_URL',
    type: { kind: 'url', schemes: STORE_SCHEMES },
    default: 'sqlite:./data/12factor-app.db',
    secret: true,
    description: 'The store: `sqlite:<path>`, `postgres://…` or `mongodb://…` (factor IV).',
  },
  {
    name: 'MONGO_URL',
    type: { kind: 'url', schemes: ['mongodb', 'mongodb+srv'] },
    default: undefined,
    secret: true,
    description: "The tutorial's variable for MongoDB; when set it chooses the store.",
  },
  {
    name: 'ALLOW_EMBEDDED_STORE',
    type: { kind: 'boolean' },
    default: 'false',
    description: 'Permit embedded SQLite when NODE_ENV=production (one web replica only).',
  },
  {
    name: 'DATABASE_POOL_MAX',
    type: { kind: 'integer', min: 1, max: 1000 },
    default: '10',
    description: 'Most connections one process opens to PostgreSQL or MongoDB.',
  },
  {
    name: 'DATABASE_CONNECT_TIMEOUT_MS',
    type: ms(100, 600_000),
    default: '5000',
    description: 'How long one connection attempt to the store may take.',
  },
  {
    name: 'DATABASE_STATEMENT_TIMEOUT_MS',
    type: ms(100, 600_000),
    default: '10000',
    description: 'How long one store query may run before it is cancelled.',
  },
  {
    name: 'STARTUP_STORE_WAIT_MS',
    type: ms(0, 3_600_000),
    default: '60000',
    description: 'How long start-up retries an unreachable store (with backoff) before exiting 1.',
  },
  {
    name: 'LOG_LEVEL',
    type: { kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
    description: 'Least severe log level written to stdout.',
  },
  {
    name: 'BODY_LIMIT_BYTES',
    type: { kind: 'integer', min: 1024, max: 104_857_600 },
    default: '1048576',
    description: 'Largest request body accepted; larger ones get 413.',
  },
  {
    name: 'REQUEST_TIMEOUT_MS',
    type: ms(1000, 600_000),
    default: '30000',
    description:
      'Longest time to receive a whole request, headers and body, from its first byte; past it 408 and the socket is closed.',
  },
  {
    name: 'KEEP_ALIVE_TIMEOUT_MS',
    type: ms(1000, 600_000),
    default: '65000',
    description: 'Idle keep-alive time; keep it above your load balancer’s idle timeout.',
  },
  {
    name: 'SHUTDOWN_DELAY_MS',
    type: ms(0, 600_000),
    default: '5000',
    description: 'After SIGTERM, time to keep serving while /readyz fails so balancers notice.',
  },
  {
    name: 'SHUTDOWN_TIMEOUT_MS',
    type: ms(1000, 3_600_000),
    default: '25000',
    description: 'Budget for the whole shutdown (delay, drain, close); past it the exit is 1.',
  },
  {
    name: 'TRUST_PROXY',
    type: { kind: 'trust-proxy' },
    default: 'false',
    description:
      'Which proxies’ `X-Forwarded-*` to trust: `false`, the proxies’ addresses/CIDRs (behind a load balancer), or `true` (every hop).',
  },
  {
    name: 'MAX_CONNECTIONS',
    type: { kind: 'integer', min: 0, max: 1_000_000 },
    default: '0',
    description:
      'Open connections one web process keeps, each child under WEB_CONCURRENCY (past it new ones are closed); 0 derives it from the open-files limit.',
  },
  {
    name: 'MAX_CONNECTIONS_PER_CLIENT',
    type: { kind: 'integer', min: 0, max: 1_000_000 },
    default: '256',
    description:
      'Open connections one client may hold on one web process, each child under WEB_CONCURRENCY (an IPv6 client is its /64); 0 is no cap. Addresses of trusted proxies in TRUST_PROXY are exempt; TRUST_PROXY=true turns the cap off.',
  },
  {
    name: 'API_TOKENS',
    type: { kind: 'string' },
    default: undefined,
    secret: true,
    description:
      'Bearer tokens allowed to call the API, comma-separated; `token:read` may only read.',
  },
  {
    name: 'JWT_JWKS_URL',
    type: { kind: 'url', schemes: ['https', 'http'] },
    default: undefined,
    description: 'Accept JWTs signed by a key of this JWKS (needs JWT_ISSUER and JWT_AUDIENCE).',
  },
  {
    name: 'JWT_ISSUER',
    type: { kind: 'string' },
    default: undefined,
    description: 'The `iss` every accepted JWT must carry.',
  },
  {
    name: 'JWT_AUDIENCE',
    type: { kind: 'string' },
    default: undefined,
    description: 'The `aud` every accepted JWT must carry.',
  },
  {
    name: 'READS_REQUIRE_AUTH',
    type: { kind: 'boolean' },
    default: 'false',
    description: 'Reads of /user need a token too (writes always do once auth is configured).',
  },
  {
    name: 'METRICS_REQUIRE_AUTH',
    type: { kind: 'boolean' },
    default: 'false',
    description: '/metrics needs a token with read scope (health, readiness and docs stay open).',
  },
  {
    name: 'ALLOW_ANONYMOUS_WRITES',
    type: { kind: 'boolean' },
    default: 'false',
    description: 'Permit starting with no API_TOKENS or JWT_JWKS_URL when NODE_ENV=production.',
  },
  {
    name: 'RATE_LIMIT_MAX',
    type: { kind: 'integer', min: 0, max: 10_000_000 },
    default: '1000',
    description: 'Requests one client (IP) may make per window; past it 429. 0 turns it off.',
  },
  {
    name: 'RATE_LIMIT_WINDOW_MS',
    type: ms(1000, 86_400_000),
    default: '60000',
    description: 'The rate limit’s window.',
  },
  {
    name: 'REDIS_URL',
    type: { kind: 'url', schemes: ['redis', 'rediss'] },
    default: undefined,
    secret: true,
    description: 'Share rate-limit counters across processes and machines through this Redis.',
  },
  {
    name: 'REDIS_TIMEOUT_MS',
    type: ms(5, 10_000),
    default: '50',
    description:
      'How long a Redis command may go unanswered before the limiter counts per process (as with Redis down); a request itself waits at most 10 ms for Redis, then is counted by its own process.',
  },
  {
    name: 'RESPONSE_TIMEOUT_MS',
    type: ms(100, 600_000),
    default: '15000',
    description:
      'Longest time to answer a received request; past it 503 (keep above the statement timeout).',
  },
  {
    name: 'MAX_EVENT_LOOP_DELAY_MS',
    type: { kind: 'integer', min: 0, max: 60_000 },
    default: '1000',
    description: 'Shed load (503) while the event loop lags more than this; 0 turns it off.',
  },
  {
    name: 'CORS_ORIGINS',
    type: { kind: 'string' },
    default: undefined,
    description:
      'Origins allowed to call the API from a browser, comma-separated; none by default.',
  },
  {
    name: 'IDEMPOTENCY_TTL_MS',
    type: ms(60_000, 2_592_000_000),
    default: '86400000',
    description:
      'How long an `Idempotency-Key` on `POST /user` is remembered; a retry within it replays.',
  },
  {
    name: 'GIT_COMMIT',
    type: { kind: 'string' },
    default: undefined,
    description: 'Commit the build came from, shown at /version (set by the image build).',
  },
  {
    name: 'BUILD_TIME',
    type: { kind: 'string' },
    default: undefined,
    description: 'When the build ran (ISO-8601), shown at /version (set by the image build).',
  },
  ...EVENT_VARIABLES,
  ...TELEMETRY_VARIABLES,
] as const satisfies readonly Variable[];

export type VariableName = (typeof VARIABLES)[number]['name'];

/** Values read from the environment, by name: a misspelt name fails the type check. */
export type ScalarValues = ReadonlyMap<VariableName, string | number | boolean | undefined>;
