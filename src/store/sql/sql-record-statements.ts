import type { CompiledQuery, Kysely, Transaction } from 'kysely';
import { emailKey, nameKey, type User } from '../../users/user.ts';
import type { UserChange } from '../../users/user-events.ts';
import { orderedUser } from '../user-records.ts';
import { eventRow } from './sql-outbox-rows.ts';
import { USER_COLUMNS, type SqlDatabase } from './sql-schema.ts';

interface Row {
  id: string;
  name: string;
  email: string | null;
  created_at: string | Date;
  updated_at: string | Date;
}

/**
 * Timestamps as this store wrote them: SQLite's TEXT is already toISOString's form (every write
 * goes through userRecord or nextUpdatedAt); PostgreSQL's timestamptz comes back as that string
 * from the engine's reads and as a Date from other statements.
 */
const storedIso = (value: string | Date) =>
  typeof value === 'string' ? value : value.toISOString();

export function toUser(row: Row): User {
  return orderedUser({
    id: row.id,
    name: row.name,
    email: row.email,
    createdAt: storedIso(row.created_at),
    updatedAt: storedIso(row.updated_at),
  });
}

/** A new user's row: id, name, email, email_key, name_key, created_at, updated_at. */
export const userRowValues = (user: User): unknown[] => [
  user.id,
  user.name,
  user.email ?? null,
  user.email === undefined ? null : emailKey(user.email),
  nameKey(user.name),
  user.createdAt,
  user.updatedAt,
];

/** A statement compiled once for its engine; each run binds its values in the compiled order. */
class Prepared<R> {
  readonly #query: CompiledQuery<R>;

  constructor(query: { compile(): CompiledQuery<R> }, values: number) {
    this.#query = query.compile();
    if (this.#query.parameters.length !== values)
      throw new Error(`${this.#query.sql}: binds ${this.#query.parameters.length}, not ${values}`);
  }

  async run(trx: Transaction<SqlDatabase>, values: readonly unknown[]): Promise<R[]> {
    const query: CompiledQuery<R> = { ...this.#query, parameters: values };
    return (await trx.executeQuery(query)).rows;
  }
}

/**
 * The statements that one record's create, update or delete makes, compiled once per store.
 * Kysely otherwise builds, freezes and compiles each statement's tree on every call: two for a
 * create, three for an update or a delete; on SQLite that was a fifth of a create's CPU.
 */
export class SqlRecordStatements {
  readonly #lockedUser: Prepared<Row>;
  readonly #insertUser: Prepared<unknown>;
  readonly #updateUser: Prepared<unknown>;
  readonly #deleteUser: Prepared<unknown>;
  readonly #insertEvent: Prepared<unknown>;

  constructor(db: Kysely<SqlDatabase>, options: { rowLocks?: boolean | undefined }) {
    const select = db.selectFrom('users').select(USER_COLUMNS).where('id', '=', '');
    this.#lockedUser = new Prepared(options.rowLocks ? select.forUpdate() : select, 1);
    this.#insertUser = new Prepared(
      db.insertInto('users').values({
        id: '',
        name: '',
        email: null,
        email_key: null,
        name_key: null,
        created_at: '',
        updated_at: '',
      }),
      7,
    );
    this.#updateUser = new Prepared(
      db
        .updateTable('users')
        .set({ name: '', email: null, email_key: null, name_key: null, updated_at: '' })
        .where('id', '=', ''),
      6,
    );
    this.#deleteUser = new Prepared(db.deleteFrom('users').where('id', '=', ''), 1);
    this.#insertEvent = new Prepared(
      db.insertInto('outbox_events').values({
        id: '',
        type: '',
        user_id: '',
        occurred_at: '',
        payload: '',
        fanned_out_at: null,
        trace_parent: null,
      }),
      7,
    );
  }

  /** The user as it is, locked for the rest of the transaction where the engine has row locks. */
  async lockedUser(trx: Transaction<SqlDatabase>, id: string): Promise<User | undefined> {
    const [row] = await this.#lockedUser.run(trx, [id]);
    return row && toUser(row);
  }

  /** A new user's row, inside the caller's transaction (its event is RecordWrites'). */
  async insertUser(trx: Transaction<SqlDatabase>, user: User): Promise<void> {
    await this.#insertUser.run(trx, userRowValues(user));
  }

  /** Writes every attribute a user may change as `user` has it. */
  async updateUser(trx: Transaction<SqlDatabase>, user: User): Promise<void> {
    await this.#updateUser.run(trx, [
      user.name,
      user.email ?? null,
      user.email === undefined ? null : emailKey(user.email),
      nameKey(user.name),
      user.updatedAt,
      user.id,
    ]);
  }

  async deleteUser(trx: Transaction<SqlDatabase>, id: string): Promise<void> {
    await this.#deleteUser.run(trx, [id]);
  }

  /** Writes a change's event; called inside the transaction that makes the change. */
  async recordEvent(trx: Transaction<SqlDatabase>, change: UserChange): Promise<void> {
    const row = eventRow(change);
    await this.#insertEvent.run(trx, [
      row.id,
      row.type,
      row.user_id,
      row.occurred_at,
      row.payload,
      row.fanned_out_at,
      row.trace_parent,
    ]);
  }
}
