import { nextTurn } from './next-turn.ts';

/** Most keys one batched query asks for; the rest wait for the next turn of the event loop. */
const MAX_BATCH = 100;

/**
 * Point reads that arrive together go to the store as one query (`id = any(…)`), as DataLoader
 * does. On PostgreSQL every query is a round trip: a socket write that wakes the server's
 * backend, a read, a pool checkout. On SQLite every query is a read transaction, with its file
 * locks and WAL-index check. A batch pays for these once. Keys queue until the current turn of
 * the event loop ends, so the requests read in the same turn share a query, and a read alone
 * waits no longer than that. A key asked for twice in one batch is fetched once. Each caller
 * sees the record as of its batch's query, which starts after its request arrived, so a client
 * still reads its own acknowledged writes.
 */
export class ReadBatch<K, V> {
  readonly #load: (keys: K[]) => Promise<Map<K, V>>;
  /** One answer per key waiting, which every caller asking for that key shares. */
  #pending = new Map<K, PromiseWithResolvers<V | undefined>>();
  readonly #schedule = nextTurn(() => {
    const batch = new Map<K, PromiseWithResolvers<V | undefined>>();
    for (const [key, answer] of this.#pending) {
      if (batch.size === MAX_BATCH) break;
      batch.set(key, answer);
      this.#pending.delete(key);
    }
    void this.#run(batch);
    return this.#pending.size > 0;
  });

  /** `load` answers the records found, by key; a key it leaves out has no record. */
  constructor(load: (keys: K[]) => Promise<Map<K, V>>) {
    this.#load = load;
  }

  get(key: K): Promise<V | undefined> {
    let answer = this.#pending.get(key);
    if (!answer) {
      answer = Promise.withResolvers();
      this.#pending.set(key, answer);
      this.#schedule();
    }
    return answer.promise;
  }

  async #run(batch: Map<K, PromiseWithResolvers<V | undefined>>): Promise<void> {
    let found: Map<K, V>;
    try {
      found = await this.#load([...batch.keys()]);
    } catch (error) {
      for (const { reject } of batch.values()) reject(error);
      return;
    }
    for (const [key, { resolve }] of batch) resolve(found.get(key));
  }
}
