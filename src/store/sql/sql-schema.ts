import type { ColumnType } from 'kysely';
import type { Field } from '../../users/user.ts';
import type { UniqueIndex } from './sql-engine.ts';

/** Written as ISO strings; read back as TEXT (SQLite) or Date (PostgreSQL timestamptz). */
type Timestamp = ColumnType<string | Date, string, string>;

export interface UsersTable {
  id: string;
  name: string;
  email: string | null;
  email_key: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SqlDatabase {
  users: UsersTable;
}

export const COLUMNS = {
  name: 'name',
  email: 'email',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  id: 'id',
} as const satisfies Record<Field, keyof UsersTable>;

export const USER_COLUMNS = ['id', 'name', 'email', 'created_at', 'updated_at'] as const;

/** Fields that may hold NULL; comparisons on them must say where NULL goes. */
export const NULLABLE_FIELDS: ReadonlySet<Field> = new Set(['email']);

export const EMAIL_KEY_INDEX: UniqueIndex = {
  table: 'users',
  column: 'email_key',
  name: 'users_email_key_unique',
};
