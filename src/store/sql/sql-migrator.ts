import { sql, type Kysely } from 'kysely';
import { DEFAULT_MIGRATION_TABLE, Migrator, type MigrationResultSet } from 'kysely/migration';
import type { MigrationStatus } from '../../users/user-store.ts';
import { sqlMigrations } from './migrations/index.ts';
import { columnTypes, sequenceKeyOf, type SqlEngine } from './sql-engine.ts';
import { fillNameKeys, writeKeysByRow } from './sql-name-keys.ts';

async function endSession(db: Kysely<unknown>, statement: string): Promise<void> {
  try {
    await sql.raw(statement).execute(db);
  } catch {
    // Only a broken connection fails here, and the pool discards broken connections; the
    // migration's own outcome is what the caller needs to see.
  }
}

/**
 * Kysely's Migrator over our static migration list. It takes a lock (an advisory lock on
 * PostgreSQL, the write lock of `BEGIN IMMEDIATE` on SQLite) and re-reads what is applied
 * under it, so concurrent runs are safe: the second finds nothing pending.
 */
export class SqlMigrator {
  private readonly db: Kysely<unknown>;
  private readonly engine: SqlEngine;

  constructor(db: Kysely<unknown>, engine: SqlEngine) {
    this.db = db;
    this.engine = engine;
  }

  /**
   * Reads the applied names straight from Kysely's migration table: one query, where Kysely's
   * getMigrations first introspects the whole catalog to learn whether that table exists
   * (10–25 ms of a PostgreSQL start here). Until the table exists, that query fails, and
   * Kysely's own way answers; a store that cannot be reached fails at once, not twice.
   */
  async status(): Promise<MigrationStatus> {
    let rows: readonly { name: string }[];
    try {
      rows = (
        await sql<{ name: string }>`select name from ${sql.table(DEFAULT_MIGRATION_TABLE)}`.execute(
          this.db,
        )
      ).rows;
    } catch (error) {
      if (this.engine.isUnavailable(error)) throw error;
      return this.introspectedStatus();
    }
    const applied = new Set(rows.map(({ name }) => name));
    // Kysely runs migrations in the order of their sorted names.
    const names = Object.keys(await this.provider().getMigrations()).sort();
    return {
      applied: names.filter((name) => applied.has(name)),
      pending: names.filter((name) => !applied.has(name)),
    };
  }

  /**
   * Migrates only when something is pending: most starts find nothing to do, and no lock.
   * Then, every time, the settle step (see settle).
   */
  async migrate(): Promise<MigrationStatus> {
    const status = await this.status();
    if (status.pending.length === 0) {
      await this.session((db) => this.settle(db));
      return status;
    }
    return this.run((migrator) => migrator.migrateToLatest(), { settle: true });
  }

  /**
   * The work that must not run in a migration's transaction, where it would hold the table's
   * lock throughout: folding the names whose key is unset (rows older than the column, or
   * written since by a release that predates it: fillNameKeys) in committed batches, and
   * building the match indexes without blocking writes. Idempotent; quick when done.
   */
  private async settle(db: Kysely<unknown>): Promise<void> {
    const write = this.engine.writeNameKeys ?? writeKeysByRow;
    const fill = () => fillNameKeys(db, write);
    if (this.engine.matchIndexes) await this.engine.matchIndexes.build(db, fill);
    else await fill();
  }

  private async introspectedStatus(): Promise<MigrationStatus> {
    const migrations = await this.migrator(this.db).getMigrations();
    return {
      applied: migrations.filter((m) => m.executedAt !== undefined).map((m) => m.name),
      pending: migrations.filter((m) => m.executedAt === undefined).map((m) => m.name),
    };
  }

  /** Kysely's migrateDown: reverts the last applied migration, under the same lock. */
  rollback(): Promise<MigrationStatus> {
    return this.run((migrator) => migrator.migrateDown());
  }

  private async run(
    step: (migrator: Migrator) => Promise<MigrationResultSet>,
    options: { settle?: boolean } = {},
  ): Promise<MigrationStatus> {
    await this.session(async (db) => {
      const { error } = await step(this.migrator(db));
      if (error !== undefined) throw error;
      if (options.settle) await this.settle(db);
    });
    return this.status();
  }

  /** Runs `work` on one connection, inside the engine's migration session statements. */
  private async session(work: (db: Kysely<unknown>) => Promise<void>): Promise<void> {
    const session = this.engine.migrationSession;
    await this.db.connection().execute(async (db) => {
      if (session) await sql.raw(session.before).execute(db);
      try {
        await work(db);
      } finally {
        if (session) await endSession(db, session.after);
      }
    });
  }

  private migrator(db: Kysely<unknown>): Migrator {
    return new Migrator({ db, provider: this.provider() });
  }

  private provider() {
    return sqlMigrations({
      types: columnTypes(this.engine),
      sequenceKey: sequenceKeyOf(this.engine),
      matchIndexes: this.engine.matchIndexes,
      nameKeyGuard: this.engine.nameKeyGuard,
      outboxDeliveriesTuning: this.engine.outboxDeliveriesTuning,
    });
  }
}
