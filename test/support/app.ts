import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { buildApp } from '../../src/http/app.ts';
import { Lifecycle } from '../../src/http/lifecycle.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createStore } from '../../src/store/index.ts';
import { instrumentStore } from '../../src/store/instrumented-store.ts';
import { UserService } from '../../src/users/user-service.ts';

export interface TestApp {
  app: Awaited<ReturnType<typeof buildApp>>;
  lifecycle: Lifecycle;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Builds the real app on a real store (in-memory SQLite unless a URL is given), migrated. */
export async function buildTestApp(
  options: { url?: string; bodyLimitBytes?: number } = {},
): Promise<TestApp> {
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
  const lifecycle = new Lifecycle();
  lifecycle.ready();
  const app = await buildApp({
    service: new UserService({ store }),
    store,
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
      keepAliveTimeoutMs: 5_000,
      trustProxy: false,
    },
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
