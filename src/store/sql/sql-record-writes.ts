import { CompiledQuery, type Transaction } from 'kysely';
import { emailTaken, preconditionFailed } from '../../users/errors.ts';
import { emailKey, nameKey, type User, type UserChanges } from '../../users/user.ts';
import {
  createdEvent,
  deletedEvent,
  updatedEvent,
  type UserEventType,
} from '../../users/user-events.ts';
import type { RemoveOptions, UpdateOptions } from '../../users/user-store.ts';
import { currentTraceparent } from '../../telemetry/context.ts';
import { newEventId } from '../user-event-records.ts';
import { isStale, nextUpdatedAt, userRecord } from '../user-records.ts';
import { errorCode } from '../connection-errors.ts';
import { nextTurn } from './next-turn.ts';
import { eventRow } from './sql-outbox-rows.ts';
import { toUser, userRowValues, type SqlRecordStatements } from './sql-record-statements.ts';
import type { SqlDatabase } from './sql-schema.ts';

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

/*
 * PostgreSQL's one-statement writes. An update's and a delete's event carries the record as it
 * was, which only the statement sees: it builds the payload itself, as eventPayload would (the
 * same keys in the same order, e-mail left out when unset, timestamps as toISOString prints
 * them), so the worker reads one shape whoever wrote it.
 */
const iso = (column: string) =>
  `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const userJson = (row: string) =>
  `json_strip_nulls(json_build_object('name', ${row}.name, 'email', ${row}.email,
    'createdAt', ${iso(`${row}.created_at`)}, 'updatedAt', ${iso(`${row}.updated_at`)},
    'id', ${row}.id))`;
const type = (name: UserEventType) => `'${name}'`;

/** A create inside the caller's transaction (under an Idempotency-Key): the row, then its event. */
const CREATE_WITH_EVENT = `with changed as (
    insert into users (id, name, email, email_key, name_key, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7) returning id)
  insert into outbox_events (id, type, user_id, occurred_at, payload, trace_parent)
  select $8, ${type('user.created')}, id, $9::timestamptz, $10, $11 from changed`;

/*
 * The statements below each take a batch: the writes that arrived in one turn of the event loop,
 * one record each, their values bound as one array per column (so the statement's text, and its
 * prepared plan, are the same for any batch). One round trip, one plan and one commit (group
 * commit, as SQLite's CommitGroup gives its transactions) for the batch, each write still all or
 * nothing for its record and its event.
 */

/**
 * A row whose e-mail is taken, by a committed row or an earlier row of the batch, is skipped (ON
 * CONFLICT waits for an uncommitted holder of the key and skips only if that commits), and only
 * the rows written get an event; the statement answers their ids.
 */
const CREATE_MANY = `with input as (
    select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
      $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::text[])
      as i(id, name, email, email_key, name_key, created_at, updated_at, event_id, payload,
        trace_parent)),
  changed as (
    insert into users (id, name, email, email_key, name_key, created_at, updated_at)
    select id, name, email, email_key, name_key, created_at, updated_at from input
    on conflict (email_key) do nothing
    returning id)
  insert into outbox_events (id, type, user_id, occurred_at, payload, trace_parent)
  select i.event_id, ${type('user.created')}, i.id, i.created_at, i.payload, i.trace_parent
  from input i join changed c on c.id = i.id
  returning user_id as id`;

/**
 * Each record is read with its row lock (`current`; locked in id order, so batches running at
 * once never deadlock), so a concurrent write to it either committed before (and is what it
 * reads) or waits until this statement commits; the change is decided from it as updatedRecord
 * decides: a name or an e-mail not given stays, updated_at becomes max(now, previous + 1 ms),
 * and nothing is written where `if_updated_at` no longer matches. The statement answers each
 * record found as it was, whether it was written, and as it is now.
 */
const UPDATE_MANY = `with input as (
    select * from unnest($1::char(24)[], $2::text[], $3::text[], $4::boolean[], $5::text[],
      $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[])
      as i(id, name, name_key, email_given, email, email_key, now, if_updated_at, event_id,
        trace_parent)),
  current as (
    select u.id, u.name, u.email, u.email_key, u.name_key, u.created_at, u.updated_at,
      i.name as in_name, i.name_key as in_name_key, i.email_given, i.email as in_email,
      i.email_key as in_email_key, i.now, i.if_updated_at, i.event_id, i.trace_parent
    from users u join input i on i.id = u.id
    order by u.id for update of u),
  changed as (
    update users u set
      name = coalesce(c.in_name, c.name),
      name_key = case when c.in_name is null then c.name_key else c.in_name_key end,
      email = case when c.email_given then c.in_email else c.email end,
      email_key = case when c.email_given then c.in_email_key else c.email_key end,
      updated_at = greatest(c.now, c.updated_at + interval '1 millisecond')
    from current c
    where u.id = c.id and (c.if_updated_at is null or c.updated_at = c.if_updated_at)
    returning u.id, u.name, u.email, u.created_at, u.updated_at),
  recorded as (
    insert into outbox_events (id, type, user_id, occurred_at, payload, trace_parent)
    select c.event_id, ${type('user.updated')}, n.id, n.updated_at,
      json_build_object('before', ${userJson('c')}, 'after', ${userJson('n')})::text,
      c.trace_parent
    from current c join changed n on n.id = c.id)
  select c.id, c.name, c.email, c.created_at, c.updated_at, n.id is not null as written,
    n.name as new_name, n.email as new_email, n.updated_at as new_updated_at
  from current c left join changed n on n.id = c.id`;

/** As UPDATE_MANY, for deletes: each event's time is its caller's. */
const DELETE_MANY = `with input as (
    select * from unnest($1::char(24)[], $2::timestamptz[], $3::text[], $4::timestamptz[],
      $5::text[]) as i(id, if_updated_at, event_id, occurred_at, trace_parent)),
  current as (
    select u.id, u.name, u.email, u.created_at, u.updated_at, i.if_updated_at, i.event_id,
      i.occurred_at, i.trace_parent
    from users u join input i on i.id = u.id
    order by u.id for update of u),
  changed as (
    delete from users u using current c
    where u.id = c.id and (c.if_updated_at is null or c.updated_at = c.if_updated_at)
    returning u.id),
  recorded as (
    insert into outbox_events (id, type, user_id, occurred_at, payload, trace_parent)
    select c.event_id, ${type('user.deleted')}, c.id, c.occurred_at,
      json_build_object('before', ${userJson('c')}, 'after', null)::text, c.trace_parent
    from current c join changed d on d.id = c.id)
  select c.id, c.name, c.email, c.created_at, c.updated_at, d.id is not null as written
  from current c left join changed d on d.id = c.id`;

interface WrittenRow {
  id: string;
  name: string;
  email: string | null;
  created_at: Date;
  updated_at: Date;
  written: boolean;
  new_name?: string;
  new_email?: string | null;
  new_updated_at?: Date;
}

/**
 * `ifUpdatedAt` as the statements compare it: to the millisecond, as isStale does; a value that
 * is no time at all matches no record.
 */
const expected = (ifUpdatedAt: string | undefined) => {
  if (ifUpdatedAt === undefined) return null;
  const ms = Date.parse(ifUpdatedAt);
  return Number.isNaN(ms) ? '-infinity' : new Date(ms).toISOString();
};

/** A create's values in CREATE_WITH_EVENT's order: the row's seven, then its event's four. */
function createValues(user: User): unknown[] {
  const event = eventRow(createdEvent(user));
  return [...userRowValues(user), event.id, event.occurred_at, event.payload, event.trace_parent];
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

  constructor(
    run: (query: CompiledQuery) => Promise<unknown[]>,
    isUnavailable: (error: unknown) => boolean,
  ) {
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
