import { CompiledQuery, type Kysely } from 'kysely';
import { nextTurn } from './next-turn.ts';
import { PENDING } from './sql-outbox-rows.ts';
import { sequenceOf, type SqlDatabase } from './sql-schema.ts';
import type { SqlEngine } from './sql-engine.ts';

interface Completion {
  sequence: number;
  now: string;
  resolve: (settled: boolean) => void;
  reject: (error: unknown) => void;
}

/** Most deliveries one UPDATE marks delivered; the rest wait for the next turn. */
const MAX_BATCH = 500;

/**
 * The UPDATE as one statement whatever the batch's size, its sequences one array parameter
 * (PostgreSQL), prepared by name on each connection: a list of `?` per sequence was a new text,
 * parsed and planned anew, at nearly every batch.
 */
export const COMPLETE = `update outbox_deliveries
  set status = 'delivered', delivered_at = $1::timestamptz, last_error = null,
    lease_owner = null, lease_until = null
  where endpoint = $2 and event_sequence = any($3::bigint[]) and lease_owner = $4
    and status = 'pending'
  returning event_sequence`;

/**
 * Completions that arrive together, as one UPDATE per worker and URL: one round trip and one
 * commit (on SQLite, one take of the writer lock) for the webhooks that finished in the same
 * turn of the event loop, where each took its own. Each delivery's outcome is its own: when a
 * group's UPDATE fails, only that group's callers are told, and the groups already committed
 * are answered as settled.
 *
 * `serial` (SQLite): one batch at a time, and the completions that arrive while it waits for
 * the writer lock join the next. Batches started turn by turn each took the lock and paid a
 * commit of their own, a few completions each, while the web process's writes held it: with
 * writes at the create rate a completion took 130 ms, which a slot of the worker's waited for.
 */
export class OutboxCompletions {
  readonly #bookkeeping: <T>(work: (db: Kysely<SqlDatabase>) => Promise<T>) => Promise<T>;
  readonly #serial: boolean;
  readonly #statement: ((query: CompiledQuery) => Promise<unknown[]>) | undefined;
  readonly #anyOf: SqlEngine['anyOf'];
  /** Waiting completions by owner, then URL. */
  #pending = new Map<string, Map<string, Completion[]>>();
  #size = 0;
  /** A serial batch is being written; its end schedules the next. */
  #running = false;
  readonly #schedule = nextTurn(() => {
    if (this.#running) return false;
    const run = this.#run(this.#take());
    if (this.#serial) {
      this.#running = true;
      void run.finally(() => {
        this.#running = false;
        if (this.#size > 0) this.#schedule();
      });
    }
    return this.#size > 0;
  });

  /**
   * `statement`: the engine's writeStatement, where it binds arrays (COMPLETE); without it the
   * sequences are bound as one list by `anyOf`, so every batch is the same statement.
   */
  constructor(
    bookkeeping: <T>(work: (db: Kysely<SqlDatabase>) => Promise<T>) => Promise<T>,
    options: {
      serial: boolean;
      statement?: ((query: CompiledQuery) => Promise<unknown[]>) | undefined;
      anyOf: SqlEngine['anyOf'];
    },
  ) {
    this.#bookkeeping = bookkeeping;
    this.#serial = options.serial;
    this.#statement = options.statement;
    this.#anyOf = options.anyOf;
  }

  /** Whether `owner` still held the lease, and the delivery is now marked delivered. */
  complete(owner: string, endpoint: string, sequence: number, now: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      let byEndpoint = this.#pending.get(owner);
      if (!byEndpoint) this.#pending.set(owner, (byEndpoint = new Map()));
      let list = byEndpoint.get(endpoint);
      if (!list) byEndpoint.set(endpoint, (list = []));
      list.push({ sequence, now, resolve, reject });
      this.#size++;
      this.#schedule();
    });
  }

  /** Up to MAX_BATCH waiting completions, as [owner, URL, completions] groups. */
  #take(): [string, string, Completion[]][] {
    const groups: [string, string, Completion[]][] = [];
    let room = MAX_BATCH;
    for (const [owner, byEndpoint] of this.#pending) {
      for (const [endpoint, list] of byEndpoint) {
        if (room === 0) return groups;
        const part = list.length <= room ? list : list.splice(0, room);
        if (part === list) byEndpoint.delete(endpoint);
        groups.push([owner, endpoint, part]);
        room -= part.length;
        this.#size -= part.length;
      }
      if (byEndpoint.size === 0) this.#pending.delete(owner);
    }
    return groups;
  }

  async #run(groups: [string, string, Completion[]][]): Promise<void> {
    for (const [owner, endpoint, list] of groups) {
      try {
        const settled = await this.#update(owner, endpoint, list);
        for (const completion of list) completion.resolve(settled.has(completion.sequence));
      } catch (error) {
        for (const completion of list) completion.reject(error);
      }
    }
  }

  /**
   * Marks delivered the leases of `list` that `owner` still holds, and answers their sequences.
   * The group is recorded as delivered at the latest of its completions' times: none is later
   * than its commit.
   */
  async #update(owner: string, endpoint: string, list: Completion[]): Promise<Set<number>> {
    let now = '';
    for (const completion of list) if (completion.now > now) now = completion.now;
    const sequences = list.map((completion) => completion.sequence);
    if (this.#statement) {
      const rows = (await this.#statement(
        CompiledQuery.raw(COMPLETE, [now, endpoint, sequences, owner]),
      )) as { event_sequence: string | number }[];
      return new Set(rows.map((row) => sequenceOf(row.event_sequence)));
    }
    const rows = await this.#bookkeeping((db) =>
      db
        .updateTable('outbox_deliveries')
        .set({
          status: 'delivered',
          delivered_at: now,
          last_error: null,
          lease_owner: null,
          lease_until: null,
        })
        .where('endpoint', '=', endpoint)
        .where(this.#anyOf.where('event_sequence', this.#anyOf.bind(sequences)))
        .where('lease_owner', '=', owner)
        .where('status', '=', PENDING)
        .returning('event_sequence')
        .execute(),
    );
    return new Set(rows.map((row) => sequenceOf(row.event_sequence)));
  }
}
