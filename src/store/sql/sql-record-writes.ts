import { CompiledQuery, type Transaction } from 'kysely';
import { emailKey, nameKey, type User } from '../../users/user.ts';
import {
  createdEvent,
  deletedEvent,
  updatedEvent,
  type UserChange,
} from '../../users/user-events.ts';
import { eventRow } from './sql-outbox-rows.ts';
import type { SqlRecordStatements } from './sql-record-statements.ts';
import type { SqlDatabase } from './sql-schema.ts';

/** What an update or a delete makes of the record as it is now; may throw (a stale If-Match). */
export type Decide<T> = (current: User) => T;

/**
 * Every one-record write of the SQL store, each writing the record and its outbox event
 * together: the one place where a change's event is recorded, whatever the engine.
 */
export interface RecordWrites {
  create(user: User): Promise<void>;
  /** As create, inside the caller's transaction (a create under an Idempotency-Key). */
  createIn(trx: Transaction<SqlDatabase>, user: User): Promise<void>;
  update(id: string, decide: Decide<User>): Promise<User | undefined>;
  /** `decide` answers the deletion's time. */
  remove(id: string, decide: Decide<string>): Promise<User | undefined>;
}

/**
 * The event row's values, in the order the statements below bind them: eventRow's, as
 * SqlRecordStatements writes them (the traceparent of the request making the change included).
 */
const eventValues = (change: UserChange) => {
  const row = eventRow(change);
  return [row.id, row.type, row.occurred_at, row.payload, row.trace_parent];
};

const userValues = (user: User) => [
  user.name,
  user.email ?? null,
  user.email === undefined ? null : emailKey(user.email),
  nameKey(user.name),
];

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

  createIn(trx: Transaction<SqlDatabase>, user: User): Promise<void> {
    return this.#records.insertUser(trx, user);
  }

  update(id: string, decide: Decide<User>): Promise<User | undefined> {
    return this.#run(async (trx) => {
      const current = await this.#records.lockedUser(trx, id);
      if (!current) return undefined;
      const after = decide(current);
      await this.#records.updateUser(trx, after);
      await this.#records.recordEvent(trx, updatedEvent(current, after));
      return after;
    });
  }

  remove(id: string, decide: Decide<string>): Promise<User | undefined> {
    return this.#run(async (trx) => {
      const current = await this.#records.lockedUser(trx, id);
      if (!current) return undefined;
      const occurredAt = decide(current);
      await this.#records.deleteUser(trx, id);
      await this.#records.recordEvent(trx, deletedEvent(current, occurredAt));
      return current;
    });
  }
}

/**
 * The event half of every statement below: it inserts the event only when the row was written
 * (`changed` answered it), and answers a row only then.
 */
const EVENT_OF_CHANGED = (first: number) => `
  insert into outbox_events (id, type, user_id, occurred_at, payload, trace_parent)
  select $${first}, $${first + 1}, id, $${first + 2}::timestamptz, $${first + 3}, $${first + 4}
  from changed
  returning sequence`;

const CREATE_WITH_EVENT = `with changed as (
    insert into users (id, name, email, email_key, name_key, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7) returning id)${EVENT_OF_CHANGED(8)}`;

/** Compare-and-set on updated_at: every write makes it strictly greater (nextUpdatedAt). */
const UPDATE_WITH_EVENT = `with changed as (
    update users set name = $1, email = $2, email_key = $3, name_key = $4, updated_at = $5
    where id = $6 and updated_at = $7 returning id)${EVENT_OF_CHANGED(8)}`;

const DELETE_WITH_EVENT = `with changed as (
    delete from users where id = $1 and updated_at = $2 returning id)${EVENT_OF_CHANGED(3)}`;

/**
 * Each lost compare-and-set means another write to the record committed meanwhile, so retries
 * make progress; one that keeps losing against a stream of writes to the same record gives up
 * rather than hold its request without bound.
 */
const MOST_ATTEMPTS = 100;

function lostRace(attempt: number, id: string): void {
  if (attempt >= MOST_ATTEMPTS)
    throw new Error(`user ${id}: changed by other writes ${attempt} times while being written`);
}

/** The create statement's values: the row's seven, then its event's five. */
const createValues = (user: User) => [
  user.id,
  ...userValues(user),
  user.createdAt,
  user.updatedAt,
  ...eventValues(createdEvent(user)),
];

/**
 * Engines with data-modifying CTEs (PostgreSQL): each write is one statement that writes the row
 * and its event, atomic by itself, run outside any transaction (prepared by name where the
 * engine can): one round trip where BEGIN, the statements and COMMIT took four or five, holding
 * a pooled connection throughout. An update or a delete reads the record first (reads by id
 * arriving together are one query), decides, and writes only if the record is still the one it
 * read (same updated_at); if another write came between, it reads and decides again, so a stale
 * If-Match is still answered 412 and a concurrent change is never overwritten unseen.
 */
export class StatementWrites implements RecordWrites {
  readonly #run: (query: CompiledQuery) => Promise<unknown[]>;
  readonly #read: (id: string) => Promise<User | undefined>;

  constructor(
    run: (query: CompiledQuery) => Promise<unknown[]>,
    read: (id: string) => Promise<User | undefined>,
  ) {
    this.#run = run;
    this.#read = read;
  }

  async create(user: User): Promise<void> {
    await this.#run(CompiledQuery.raw(CREATE_WITH_EVENT, createValues(user)));
  }

  async createIn(trx: Transaction<SqlDatabase>, user: User): Promise<void> {
    await trx.executeQuery(CompiledQuery.raw(CREATE_WITH_EVENT, createValues(user)));
  }

  async update(id: string, decide: Decide<User>): Promise<User | undefined> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.#read(id);
      if (!current) return undefined;
      const after = decide(current);
      const written = await this.#run(
        CompiledQuery.raw(UPDATE_WITH_EVENT, [
          ...userValues(after),
          after.updatedAt,
          id,
          current.updatedAt,
          ...eventValues(updatedEvent(current, after)),
        ]),
      );
      if (written.length > 0) return after;
      lostRace(attempt, id);
    }
  }

  async remove(id: string, decide: Decide<string>): Promise<User | undefined> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.#read(id);
      if (!current) return undefined;
      const occurredAt = decide(current);
      const written = await this.#run(
        CompiledQuery.raw(DELETE_WITH_EVENT, [
          id,
          current.updatedAt,
          ...eventValues(deletedEvent(current, occurredAt)),
        ]),
      );
      if (written.length > 0) return current;
      lostRace(attempt, id);
    }
  }
}
