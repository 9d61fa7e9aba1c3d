import type { Registry } from 'prom-client';
import { tracedCall } from '../telemetry/store-spans.ts';
import { BoundHistogram, type HistogramSeries } from '../metrics/bound-histogram.ts';
import type { ListQuery } from '../users/list-query.ts';
import type { UserChanges } from '../users/user.ts';
import type {
  IdempotencyKey,
  ImportOptions,
  MigrationStatus,
  NewUser,
  PurgeKeysOptions,
  RemoveOptions,
  StreamOptions,
  UpdateOptions,
  UserStore,
} from '../users/user-store.ts';

/**
 * A store whose every data call is timed in `store_operation_duration_seconds`, labelled by
 * operation, store kind and outcome. It implements the port by delegation, so callers cannot
 * tell it from the store it wraps. Traced, each call is also a client span (ping excepted: the
 * readiness probe would drown the traces).
 */
export function instrumentStore(
  store: UserStore,
  registry: Registry,
  options: { traced?: boolean } = {},
): UserStore {
  const histogram = new BoundHistogram({
    name: 'store_operation_duration_seconds',
    help: 'Time a store call took, by operation, store kind and outcome.',
    labelNames: ['operation', 'store', 'outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // The series of each operation and outcome, looked up once per operation, not per call.
  const observers = new Map<string, { ok: HistogramSeries; error: HistogramSeries }>();
  const observersOf = (operation: string) => {
    let found = observers.get(operation);
    if (!found) {
      const labels = { operation, store: store.kind };
      found = {
        ok: histogram.series({ ...labels, outcome: 'ok' }),
        error: histogram.series({ ...labels, outcome: 'error' }),
      };
      observers.set(operation, found);
    }
    return found;
  };
  const measured = <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const { ok, error } = observersOf(operation);
    return call().then(
      (result) => {
        ok.observe((performance.now() - started) / 1000);
        return result;
      },
      (failure: unknown) => {
        error.observe((performance.now() - started) / 1000);
        throw failure;
      },
    );
  };
  const timed = options.traced ? tracedCall(store.kind, measured) : measured;
  return {
    kind: store.kind,
    capabilities: store.capabilities,
    outbox: store.outbox,
    ticks: store.ticks,
    list: (query: ListQuery) => timed('list', () => store.list(query)),
    get: (id: string) => timed('get', () => store.get(id)),
    create: (user: NewUser) => timed('create', () => store.create(user)),
    createOnce: (user: NewUser, idempotency: IdempotencyKey) =>
      timed('createOnce', () => store.createOnce(user, idempotency)),
    purgeIdempotencyKeys: (options: PurgeKeysOptions) =>
      timed('purgeIdempotencyKeys', () => store.purgeIdempotencyKeys(options)),
    update: (id: string, changes: UserChanges, options: UpdateOptions) =>
      timed('update', () => store.update(id, changes, options)),
    remove: (id: string, options?: RemoveOptions) =>
      timed('remove', () => store.remove(id, options)),
    // A walk spans many calls; each page is one query, not worth a histogram of its own.
    stream: (options?: StreamOptions) => store.stream(options),
    count: () => timed('count', () => store.count()),
    importMany: (users: readonly NewUser[], options: ImportOptions) =>
      timed('importMany', () => store.importMany(users, options)),
    ping: () => measured('ping', () => store.ping()),
    migrationStatus: (): Promise<MigrationStatus> => store.migrationStatus(),
    migrate: (): Promise<MigrationStatus> => store.migrate(),
    rollback: (): Promise<MigrationStatus> => store.rollback(),
    close: () => store.close(),
  };
}
