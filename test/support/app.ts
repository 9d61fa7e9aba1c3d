import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/http/app.ts';
import { Lifecycle } from '../../src/http/lifecycle.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createStore } from '../../src/store/index.ts';
import { instrumentStore } from '../../src/store/instrumented-store.ts';
import { UserService } from '../../src/users/user-service.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import type { AccessSettings } from '../../src/http/plugins/auth/index.ts';
import type { LimitSettings } from '../../src/http/plugins/limits.ts';
import type { TrustProxy } from '../../src/config/index.ts';
import type { SchemaCompilers } from '../../src/http/serializers.ts';

export interface TestApp {
  app: Awaited<ReturnType<typeof buildApp>>;
  lifecycle: Lifecycle;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Builds the real app on a real store (in-memory SQLite unless a URL is given), migrated. */
export interface TestAppOptions {
  url?: string;
  bodyLimitBytes?: number;
  responseTimeoutMs?: number;
  corsOrigins?: string[];
  trustProxy?: TrustProxy;
  access?: Partial<AccessSettings>;
  /** Rate limiting and load shedding are off unless a test turns them on. */
  limits?: Partial<LimitSettings>;
  /** Wraps the real store, e.g. to make it slow. */
  wrapStore?: (store: UserStore) => UserStore;
  /** How schemas become validators and serializers (the app's default unless given). */
  schemaCompilers?: SchemaCompilers;
}

export async function buildTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', pretty: false, destination });
  const registry = new Registry();
  const store = instrumentStore(
    await createStore({
      url: options.url ?? 'sqlite::memory:',
      poolMax: 4,
      connectTimeoutMs: 2000,
      statementTimeoutMs: 5000,
    }),
    registry,
  );
  await store.migrate();
  const served = options.wrapStore ? options.wrapStore(store) : store;
  const lifecycle = new Lifecycle();
  lifecycle.ready();
  const app = await buildApp({
    service: new UserService({ store: served }),
    store: served,
    lifecycle,
    logger,
    registry,
    release: {
      name: '12factor-app',
      version: '0.0.0-test',
      commit: 'abc123',
      buildTime: undefined,
    },
    http: {
      bodyLimitBytes: options.bodyLimitBytes ?? 1_048_576,
      requestTimeoutMs: 30_000,
      responseTimeoutMs: options.responseTimeoutMs ?? 15_000,
      keepAliveTimeoutMs: 5_000,
      trustProxy: options.trustProxy ?? false,
      maxConnections: 1000,
      maxConnectionsPerClient: 0,
      corsOrigins: options.corsOrigins ?? [],
    },
    access: {
      apiTokens: [],
      jwt: undefined,
      readsRequireAuth: false,
      metricsRequireAuth: false,
      ...options.access,
    },
    limits: { rateLimit: { max: 0, windowMs: 60_000 }, maxEventLoopDelayMs: 0, ...options.limits },
    ...(options.schemaCompilers && { schemaCompilers: options.schemaCompilers }),
  });
  await app.ready();
  return {
    app,
    lifecycle,
    logs,
    async close() {
      await app.close();
      await store.close();
    },
  };
}
