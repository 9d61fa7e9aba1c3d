import { Histogram, type Registry } from 'prom-client';
import type { UserStore } from '../users/user-store.ts';

const TIMED = ['list', 'get', 'create', 'update', 'remove', 'ping'] as const;

/**
 * Wraps a store so every call is timed in `store_operation_duration_seconds`, labelled by
 * operation, store kind and outcome. The wrapper is the port itself: callers cannot tell.
 */
export function instrumentStore(store: UserStore, registry: Registry): UserStore {
  const histogram = new Histogram({
    name: 'store_operation_duration_seconds',
    help: 'Time a store call took, by operation, store kind and outcome.',
    labelNames: ['operation', 'store', 'outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const wrapped: UserStore = Object.create(store);
  for (const operation of TIMED) {
    const original = store[operation].bind(store) as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(wrapped, operation, {
      value: async (...args: unknown[]) => {
        const end = histogram.startTimer({ operation, store: store.kind });
        try {
          const result = await original(...args);
          end({ outcome: 'ok' });
          return result;
        } catch (error) {
          end({ outcome: 'error' });
          throw error;
        }
      },
    });
  }
  return wrapped;
}
