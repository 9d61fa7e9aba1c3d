import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createStore } from '../../src/store/index.ts';
import { UserService } from '../../src/users/user-service.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import { createTestDatabase, postgresAvailability } from '../support/postgres.ts';
import { spawnProcess, type RunningProcess } from '../support/web-process.ts';
import { TEST_WEBHOOK_SECRET } from '../support/webhook-receiver.ts';

export interface EventStore {
  kind: string;
  url: string;
  /** The test's own store on the same data, for writes and for reading the outbox. */
  store: UserStore;
  users: UserService;
}

export type StoreOpener = (t: TestContext) => Promise<EventStore>;

async function open(t: TestContext, kind: string, url: string, cleanup: () => Promise<void>) {
  const store = await createStore({
    url,
    poolMax: 4,
    connectTimeoutMs: 2000,
    statementTimeoutMs: 10_000,
  });
  t.after(async () => {
    await store.close();
    await cleanup();
  });
  await store.migrate();
  return { kind, url, store, users: new UserService({ store }) };
}

/** SQLite on a file (several processes share it) and, when it answers, PostgreSQL. */
export async function eventStores(): Promise<[string, StoreOpener][]> {
  const openers: [string, StoreOpener][] = [
    [
      'sqlite',
      (t) => {
        const dir = mkdtempSync(join(tmpdir(), 't12f-events-'));
        return open(t, 'sqlite', `sqlite:${join(dir, 'app.db')}`, async () =>
          rmSync(dir, { recursive: true, force: true }),
        );
      },
    ],
  ];
  if ((await postgresAvailability()).reachable) {
    openers.push([
      'postgres',
      async (t) => {
        const database = await createTestDatabase();
        return open(t, 'postgres', database.url, database.drop);
      },
    ]);
  }
  return openers;
}

/** Fast retries and a short lease, so failure scenarios play out in seconds. */
export function workerEnv(url: string, webhookUrls: string[], extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: url,
    WEBHOOK_URLS: webhookUrls.join(','),
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    WORKER_PORT: '0',
    CLOCK_PORT: '0',
    HOST: '127.0.0.1',
    WORKER_POLL_MS: '50',
    WORKER_LEASE_MS: '2000',
    WEBHOOK_TIMEOUT_MS: '1500',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_RETRY_MAX_MS: '400',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

export async function startWorker(
  t: TestContext,
  env: Record<string, string>,
): Promise<RunningProcess & { opsPort: number }> {
  const worker = spawnProcess('src/processes/worker.ts', env);
  t.after(() => worker.kill());
  const ready = await worker.waitForLine((l) => l.msg === 'worker ready');
  return Object.assign(worker, { opsPort: ready.opsPort as number });
}

/** Four changes to each of `count` users (create, rename, set e-mail, delete), `parallel` at once. */
export async function makeChanges(
  users: UserService,
  count: number,
  parallel = 10,
): Promise<number> {
  let changes = 0;
  let next = 0;
  const chain = async () => {
    while (next < count) {
      const i = next++;
      const user = await users.create({ name: `user ${i}` });
      await users.update(user.id, { name: `renamed ${i}` });
      await users.update(user.id, { email: `user${i}@example.com` });
      await users.remove(user.id);
      changes += 4;
    }
  };
  await Promise.all(Array.from({ length: parallel }, chain));
  return changes;
}

/** Every event id the store recorded. */
export async function eventIds(store: UserStore): Promise<Set<string>> {
  const ids = new Set<string>();
  let after: number | undefined;
  for (;;) {
    const page = await store.outbox.list({ afterSequence: after, limit: 500 });
    for (const listing of page) ids.add(listing.event.id);
    if (page.length < 500) return ids;
    after = page.at(-1)?.event.sequence;
  }
}

/** How many times each id appears. */
export function counts(ids: readonly string[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
  return seen;
}
