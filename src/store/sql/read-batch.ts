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
  /**
   * One answer per key waiting, which every caller asking for that key shares. A fresh map each
   * turn, handed whole to its batch: one long-lived map, filled and emptied by delete every turn,
   * kept its waiting requests' objects alive past the young generation's collections (under load
   * nearly all of what survived one was moved to the old generation, which then needed a full
   * collection every half second).
   */
  #pending = new Map<K, PromiseWithResolvers<V | undefined>>();
  readonly #schedule = nextTurn(() => {
    const waiting = this.#pending;
    this.#pending = new Map();
    if (waiting.size <= MAX_BATCH) {
      void this.#run(waiting);
      return false;
    }
    // Oldest first: the first MAX_BATCH now, the rest in the next turn.
    const batch = new Map<K, PromiseWithResolvers<V | undefined>>();
    for (const [key, answer] of waiting) {
      (batch.size < MAX_BATCH ? batch : this.#pending).set(key, answer);
    }
    void this.#run(batch);
    return true;
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
