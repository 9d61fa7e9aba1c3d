import { CompiledQuery, type Transaction } from 'kysely';
import { emailTaken, preconditionFailed } from '../../users/errors.ts';
import { emailKey, nameKey, type User, type UserChanges } from '../../users/user.ts';
import { createdEvent, deletedEvent, updatedEvent } from '../../users/user-events.ts';
import type { RemoveOptions, UpdateOptions } from '../../users/user-store.ts';
import { currentTraceparent } from '../../telemetry/context.ts';
import { newEventId } from '../user-event-records.ts';
import { isStale, nextUpdatedAt, userRecord } from '../user-records.ts';
import { errorCode } from '../connection-errors.ts';
import { nextTurn } from './next-turn.ts';
import { toUser, type SqlRecordStatements } from './sql-record-statements.ts';
import type { SqlDatabase } from './sql-schema.ts';
import {
  CREATE_MANY,
  CREATE_WITH_EVENT,
  DELETE_MANY,
  FILL_NAME_KEY,
  UPDATE_MANY,
  createValues,
  expected,
  type WrittenRow,
} from './sql-write-statements.ts';

/**
 * Every one-record write of the SQL store, each writing the record and its outbox event
 * together: the one place where a change's event is recorded, whatever the engine. An update or
 * a delete answers undefined when the record does not exist and throws PRECONDITION_FAILED when
 * `ifUpdatedAt` no longer matches it.
 */
export interface RecordWrites {
  create(user: User): Promise<void>;
  /** As create, inside the caller's transaction (a create under an Idempotency-Key). */
  createIn(trx: Transaction<SqlDatabase>, user: User): Promise<void>;
  update(id: string, changes: UserChanges, options: UpdateOptions): Promise<User | undefined>;
  remove(id: string, options: RemoveOptions): Promise<User | undefined>;
}

/** The record an update makes of `current`, or PRECONDITION_FAILED for a stale `ifUpdatedAt`. */
function updatedRecord(current: User, changes: UserChanges, options: UpdateOptions): User {
  if (isStale(current, options.ifUpdatedAt)) throw preconditionFailed();
  return userRecord({
    ...current,
    name: changes.name ?? current.name,
    email: changes.email === undefined ? current.email : changes.email,
    updatedAt: nextUpdatedAt(options.now, current.updatedAt),
  });
}

/** The deletion's time, or PRECONDITION_FAILED for a stale `ifUpdatedAt`. */
function deletionTime(current: User, options: RemoveOptions): string {
  if (isStale(current, options.ifUpdatedAt)) throw preconditionFailed();
  return options.now ?? new Date().toISOString();
}

/**
 * Engines without data-modifying CTEs (SQLite): a transaction per write, grouped where the
 * engine groups commits; the record is read with its row lock (where the engine has them), then
 * the row and its event are written by two statements.
 */
export class TransactionWrites implements RecordWrites {
  readonly #records: SqlRecordStatements;
  readonly #run: <T>(work: (trx: Transaction<SqlDatabase>) => Promise<T>) => Promise<T>;

  constructor(
    records: SqlRecordStatements,
    run: <T>(work: (trx: Transaction<SqlDatabase>) => Promise<T>) => Promise<T>,
  ) {
    this.#records = records;
    this.#run = run;
  }

  create(user: User): Promise<void> {
    return this.#run((trx) => this.createIn(trx, user));
  }

  async createIn(trx: Transaction<SqlDatabase>, user: User): Promise<void> {
    await this.#records.insertUser(trx, user);
    await this.#records.recordEvent(trx, createdEvent(user));
  }

  update(id: string, changes: UserChanges, options: UpdateOptions): Promise<User | undefined> {
    return this.#run(async (trx) => {
      const current = await this.#records.lockedUser(trx, id);
      if (!current) return undefined;
      const after = updatedRecord(current, changes, options);
      await this.#records.updateUser(trx, after);
      await this.#records.recordEvent(trx, updatedEvent(current, after));
      return after;
    });
  }

  remove(id: string, options: RemoveOptions): Promise<User | undefined> {
    return this.#run(async (trx) => {
      const current = await this.#records.lockedUser(trx, id);
      if (!current) return undefined;
      const occurredAt = deletionTime(current, options);
      await this.#records.deleteUser(trx, id);
      await this.#records.recordEvent(trx, deletedEvent(current, occurredAt));
      return current;
    });
  }
}

interface Pending<R> {
  id: string;
  values: unknown[];
  resolve: (row: R | undefined) => void;
  reject: (error: unknown) => void;
}

/** Most writes one statement takes; the rest go in the next. */
const MAX_BATCH = 128;
/** PostgreSQL's query_canceled: the statement timeout ended the statement. */
const QUERY_CANCELED = '57014';

/**
 * The writes of one kind that arrive in one turn of the event loop, run as one statement (`sql`)
 * whose parameters are the writes' values column by column. The statement answers a row per
 * record it found, by `id`; a write whose record it did not answer gets undefined. A record is
 * written at most once per batch: a second write to it goes in a later batch, and the record's
 * row lock orders the two. If the batch fails, a store that is not there fails every write alike;
 * any other error, or a statement timeout (one record another transaction holds can stall the
 * batch), may be one write's doing, so each runs alone and gets its own answer.
 */
class StatementBatch<R extends { id: string }> {
  readonly #sql: string;
  readonly #run: (query: CompiledQuery) => Promise<unknown[]>;
  readonly #isUnavailable: (error: unknown) => boolean;
  #queue: Pending<R>[] = [];
  readonly #flush = nextTurn(() => {
    const ids = new Set<string>();
    const batch: Pending<R>[] = [];
    this.#queue = this.#queue.filter((write) => {
      if (batch.length === MAX_BATCH || ids.has(write.id)) return true;
      ids.add(write.id);
      batch.push(write);
      return false;
    });
    void this.#runBatch(batch);
    return this.#queue.length > 0;
  });

  constructor(
    sql: string,
    run: (query: CompiledQuery) => Promise<unknown[]>,
    isUnavailable: (error: unknown) => boolean,
  ) {
    this.#sql = sql;
    this.#run = run;
    this.#isUnavailable = isUnavailable;
  }

  write(id: string, values: unknown[]): Promise<R | undefined> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ id, values, resolve, reject });
      this.#flush();
    });
  }

  async #runBatch(batch: Pending<R>[]): Promise<void> {
    let rows: Map<string, R>;
    try {
      const columns = batch[0]!.values.map((_, i) => batch.map((write) => write.values[i]));
      const answered = (await this.#run(CompiledQuery.raw(this.#sql, columns))) as R[];
      rows = new Map(answered.map((row) => [row.id, row]));
    } catch (error) {
      // A batch the statement timeout cancelled may have waited on one record that another
      // transaction holds: each write is tried alone, so only that one waits again.
      const alone =
        batch.length > 1 && (!this.#isUnavailable(error) || errorCode(error) === QUERY_CANCELED);
      if (alone) for (const write of batch) void this.#runBatch([write]);
      else for (const write of batch) write.reject(error);
      return;
    }
    for (const write of batch) write.resolve(rows.get(write.id));
  }
}

/**
 * Engines with data-modifying CTEs (PostgreSQL): the writes that arrive together are one
 * statement per kind, writing the rows and their events (see StatementBatch), atomic by itself
 * and run outside any transaction (prepared by name where the engine can): one round trip where
 * BEGIN, the statements and COMMIT took four or five per write, holding a pooled connection
 * throughout. An update or a delete locks the record, decides and writes in the same statement
 * (see UPDATE_MANY), so a stale If-Match is still answered 412 and a concurrent change is never
 * overwritten unseen.
 */
export class StatementWrites implements RecordWrites {
  readonly #creates: StatementBatch<{ id: string }>;
  readonly #updates: StatementBatch<WrittenRow>;
  readonly #deletes: StatementBatch<WrittenRow>;
  readonly #run: (query: CompiledQuery) => Promise<unknown[]>;

  constructor(
    run: (query: CompiledQuery) => Promise<unknown[]>,
    isUnavailable: (error: unknown) => boolean,
  ) {
    this.#run = run;
    this.#creates = new StatementBatch(CREATE_MANY, run, isUnavailable);
    this.#updates = new StatementBatch(UPDATE_MANY, run, isUnavailable);
    this.#deletes = new StatementBatch(DELETE_MANY, run, isUnavailable);
  }

  async create(user: User): Promise<void> {
    const values = createValues(user);
    // CREATE_MANY's columns: the row's, the event's id (its time is the row's), payload, trace.
    const written = await this.#creates.write(user.id, [...values.slice(0, 8), ...values.slice(9)]);
    // Not written: skipped for its e-mail.
    if (!written) throw emailTaken();
  }

  async createIn(trx: Transaction<SqlDatabase>, user: User): Promise<void> {
    await trx.executeQuery(CompiledQuery.raw(CREATE_WITH_EVENT, createValues(user)));
  }

  async update(
    id: string,
    changes: UserChanges,
    options: UpdateOptions,
  ): Promise<User | undefined> {
    const { name, email } = changes;
    const row = await this.#updates.write(id, [
      id,
      name ?? null,
      name === undefined ? null : nameKey(name),
      email !== undefined,
      email ?? null,
      email === undefined || email === null ? null : emailKey(email),
      options.now,
      expected(options.ifUpdatedAt),
      newEventId(),
      currentTraceparent(),
    ]);
    if (!row) return undefined;
    if (!row.written) throw preconditionFailed();
    if (row.key_unset) {
      const kept = row.new_name!;
      // The update stands either way: a key still unset is matched as the engine folds it.
      await this.#run(CompiledQuery.raw(FILL_NAME_KEY, [nameKey(kept), id, kept])).catch(() => {});
    }
    return toUser({
      ...row,
      name: row.new_name!,
      email: row.new_email ?? null,
      updated_at: row.new_updated_at!,
    });
  }

  async remove(id: string, options: RemoveOptions): Promise<User | undefined> {
    const row = await this.#deletes.write(id, [
      id,
      expected(options.ifUpdatedAt),
      newEventId(),
      options.now ?? new Date().toISOString(),
      currentTraceparent(),
    ]);
    if (!row) return undefined;
    if (!row.written) throw preconditionFailed();
    return toUser(row);
  }
}
