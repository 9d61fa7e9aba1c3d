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
import { nextTurn } from './next-turn.ts';
import { eventRow } from './sql-outbox-rows.ts';
import { toUser, type SqlRecordStatements } from './sql-record-statements.ts';
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

/** The event half of a create: it inserts the event only for the row written (`changed`). */
const EVENT_OF_CHANGED = (first: number) => `
  insert into outbox_events (id, type, user_id, occurred_at, payload, trace_parent)
  select $${first}, $${first + 1}, id, $${first + 2}::timestamptz, $${first + 3}, $${first + 4}
  from changed
  returning sequence`;

const CREATE_WITH_EVENT = `with changed as (
    insert into users (id, name, email, email_key, name_key, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7) returning id)${EVENT_OF_CHANGED(8)}`;

/**
 * Creates that arrive together, as one statement: one round trip, one plan, one commit (group
 * commit, as SQLite's CommitGroup gives its transactions). A row whose e-mail is taken, by a
 * committed row or by an earlier row of the same batch, is skipped (ON CONFLICT waits for an
 * uncommitted holder of the key and skips only if it commits), and only the rows written get an
 * event; the statement answers their ids.
 */
const CREATE_MANY_WITH_EVENTS = `with input as (
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
  returning user_id`;

/**
 * The record is read with its row lock (`current`), so a concurrent write to it either committed
 * before (and is what it reads) or waits until this statement commits; the change is decided
 * from it, as updatedRecord would: a name or an e-mail not given stays, updated_at becomes
 * max(now, previous + 1 ms), and nothing is written if `ifUpdatedAt` no longer matches. The
 * statement answers the record as it was and, when written, as it is now.
 */
const UPDATE_WITH_EVENT = `with current as (
    select id, name, email, email_key, name_key, created_at, updated_at
    from users where id = $1 for update),
  changed as (
    update users u set
      name = coalesce($2::text, c.name),
      name_key = case when $2::text is null then c.name_key else $3::text end,
      email = case when $4::boolean then $5::text else c.email end,
      email_key = case when $4::boolean then $6::text else c.email_key end,
      updated_at = greatest($7::timestamptz, c.updated_at + interval '1 millisecond')
    from current c
    where u.id = c.id and ($8::timestamptz is null or c.updated_at = $8::timestamptz)
    returning u.id, u.name, u.email, u.created_at, u.updated_at),
  recorded as (
    insert into outbox_events (id, type, user_id, occurred_at, payload, trace_parent)
    select $9, ${type('user.updated')}, n.id, n.updated_at,
      json_build_object('before', ${userJson('c')}, 'after', ${userJson('n')})::text, $10
    from current c join changed n on n.id = c.id)
  select c.id, c.name, c.email, c.created_at, c.updated_at, n.id is not null as written,
    n.name as new_name, n.email as new_email, n.updated_at as new_updated_at
  from current c left join changed n on true`;

/** As UPDATE_WITH_EVENT, for a delete: the event's time is the caller's. */
const DELETE_WITH_EVENT = `with current as (
    select id, name, email, created_at, updated_at from users where id = $1 for update),
  changed as (
    delete from users u using current c
    where u.id = c.id and ($2::timestamptz is null or c.updated_at = $2::timestamptz)
    returning u.id),
  recorded as (
    insert into outbox_events (id, type, user_id, occurred_at, payload, trace_parent)
    select $3, ${type('user.deleted')}, c.id, $4::timestamptz,
      json_build_object('before', ${userJson('c')}, 'after', null)::text, $5
    from current c join changed d on d.id = c.id)
  select c.id, c.name, c.email, c.created_at, c.updated_at, d.id is not null as written
  from current c left join changed d on true`;

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

/** A create's row values in the order CREATE_WITH_EVENT binds them, then its event's. */
function createValues(user: User): unknown[] {
  const event = eventRow(createdEvent(user));
  return [
    user.id,
    user.name,
    user.email ?? null,
    user.email === undefined ? null : emailKey(user.email),
    nameKey(user.name),
    user.createdAt,
    user.updatedAt,
    event.id,
    event.type,
    event.occurred_at,
    event.payload,
    event.trace_parent,
  ];
}

interface PendingCreate {
  values: unknown[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Most creates one statement takes; the rest go in the next. */
const MAX_BATCH = 128;

/**
 * Engines with data-modifying CTEs (PostgreSQL): each write is one statement that writes the row
 * and its event, atomic by itself, run outside any transaction (prepared by name where the
 * engine can): one round trip where BEGIN, the statements and COMMIT took four or five, holding
 * a pooled connection throughout. Creates that arrive in the same turn of the event loop share
 * one statement. An update or a delete locks the record, decides and writes in the same
 * statement (see UPDATE_WITH_EVENT), so a stale If-Match is still answered 412 and a concurrent
 * change is never overwritten unseen.
 */
export class StatementWrites implements RecordWrites {
  readonly #run: (query: CompiledQuery) => Promise<unknown[]>;
  readonly #isUnavailable: (error: unknown) => boolean;
  #creates: PendingCreate[] = [];
  readonly #flush = nextTurn(() => {
    void this.#createMany(this.#creates.splice(0, MAX_BATCH));
    return this.#creates.length > 0;
  });

  constructor(
    run: (query: CompiledQuery) => Promise<unknown[]>,
    isUnavailable: (error: unknown) => boolean,
  ) {
    this.#run = run;
    this.#isUnavailable = isUnavailable;
  }

  create(user: User): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#creates.push({ values: createValues(user), resolve, reject });
      this.#flush();
    });
  }

  async createIn(trx: Transaction<SqlDatabase>, user: User): Promise<void> {
    await trx.executeQuery(CompiledQuery.raw(CREATE_WITH_EVENT, createValues(user)));
  }

  async #createOne(create: PendingCreate): Promise<void> {
    await this.#run(CompiledQuery.raw(CREATE_WITH_EVENT, create.values)).then(
      () => create.resolve(),
      create.reject,
    );
  }

  async #createMany(batch: PendingCreate[]): Promise<void> {
    if (batch.length === 1) return this.#createOne(batch[0]!);
    // Column by column, as unnest takes them: user columns 0–6, then the event's id (7),
    // payload (10) and traceparent (11); its type and time are the statement's own.
    const column = (index: number) => batch.map((create) => create.values[index]);
    let written: Set<unknown>;
    try {
      const rows = (await this.#run(
        CompiledQuery.raw(CREATE_MANY_WITH_EVENTS, [0, 1, 2, 3, 4, 5, 6, 7, 10, 11].map(column)),
      )) as { user_id: string }[];
      written = new Set(rows.map((row) => row.user_id));
    } catch (error) {
      // A store that is not there fails every create alike; anything else may be one row's
      // doing, so each runs alone and gets its own answer.
      if (this.#isUnavailable(error)) for (const create of batch) create.reject(error);
      else await Promise.all(batch.map((create) => this.#createOne(create)));
      return;
    }
    // A row not written was skipped for its e-mail.
    for (const create of batch) {
      if (written.has(create.values[0])) create.resolve();
      else create.reject(emailTaken());
    }
  }

  async update(
    id: string,
    changes: UserChanges,
    options: UpdateOptions,
  ): Promise<User | undefined> {
    const name = changes.name;
    const email = changes.email;
    const [row] = (await this.#run(
      CompiledQuery.raw(UPDATE_WITH_EVENT, [
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
      ]),
    )) as WrittenRow[];
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
    const [row] = (await this.#run(
      CompiledQuery.raw(DELETE_WITH_EVENT, [
        id,
        expected(options.ifUpdatedAt),
        newEventId(),
        options.now ?? new Date().toISOString(),
        currentTraceparent(),
      ]),
    )) as WrittenRow[];
    if (!row) return undefined;
    if (!row.written) throw preconditionFailed();
    return toUser(row);
  }
}
