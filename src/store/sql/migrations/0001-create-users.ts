import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { SqlColumnTypes } from '../sql-engine.ts';
import { EMAIL_KEY_INDEX } from '../sql-schema.ts';

export function createUsers(types: SqlColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        // NOT NULL spelled out: SQLite lets a non-INTEGER primary key hold NULL.
        .addColumn('id', types.id, (column) => column.primaryKey().notNull())
        .addColumn('name', types.text, (column) => column.notNull())
        .addColumn('email', types.text)
        .addColumn('email_key', types.text)
        .addColumn('created_at', types.timestamp, (column) => column.notNull())
        .addColumn('updated_at', types.timestamp, (column) => column.notNull())
        .execute();
      await db.schema
        .createIndex(EMAIL_KEY_INDEX.name)
        .on(EMAIL_KEY_INDEX.table)
        .column(EMAIL_KEY_INDEX.column)
        .unique()
        .execute();
      // One index per sort key, each ending with id like every list query's ORDER BY.
      for (const column of ['name', 'created_at', 'updated_at']) {
        await db.schema
          .createIndex(`users_${column}_id`)
          .on('users')
          .columns([column, 'id'])
          .execute();
      }
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('users').execute();
    },
  };
}
