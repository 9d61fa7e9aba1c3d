import { ObjectId, type Collection, type Db } from 'mongodb';
import type { MigrationStatus } from '../../users/user-store.ts';
import { migrationFoundDuplicates } from '../../users/errors.ts';
import { findDuplicates, indexBuildDuplicate } from './mongo-duplicates.ts';
import { isDuplicateKey } from './mongo-errors.ts';
import { MIGRATIONS } from './mongo-schema.ts';

export interface MongoMigration {
  name: string;
  /** Must be idempotent: a crash between `up` and its record reruns it. */
  up(db: Db): Promise<void>;
  /** Undoes `up`; idempotent for the same reason. */
  down(db: Db): Promise<void>;
}

/** One document per applied migration, plus the lock document. */
interface MigrationDocument {
  _id: string;
  appliedAt?: Date;
  owner?: string;
  lockedUntil?: Date;
}

const LOCK_ID = 'lock';

export interface MongoMigratorOptions {
  /** A lock older than this is taken over: its holder is presumed dead. */
  lockTtlMs?: number;
  /** How long to wait for another run's lock before giving up. */
  lockWaitMs?: number;
  pollMs?: number;
}

/**
 * Applies migrations in order, recording each in the `migrations` collection. A lock document
 * (taken by an upsert that only matches when it is free or expired, so a held lock makes the
 * upsert collide on `_id`) keeps two runs from interleaving; the second finds nothing pending.
 */
export class MongoMigrator {
  private readonly db: Db;
  private readonly migrations: readonly MongoMigration[];
  private readonly collection: Collection<MigrationDocument>;
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;
  private readonly pollMs: number;

  constructor(db: Db, migrations: readonly MongoMigration[], options: MongoMigratorOptions = {}) {
    this.db = db;
    this.migrations = migrations;
    this.collection = db.collection<MigrationDocument>(MIGRATIONS);
    this.lockTtlMs = options.lockTtlMs ?? 10 * 60_000;
    this.lockWaitMs = options.lockWaitMs ?? 10 * 60_000;
    this.pollMs = options.pollMs ?? 100;
  }

  async status(): Promise<MigrationStatus> {
    const applied = new Set(
      (
        await this.collection
          .find({ appliedAt: { $exists: true } }, { projection: { _id: 1 } })
          .toArray()
      ).map((doc) => doc._id),
    );
    return {
      applied: this.migrations.filter((m) => applied.has(m.name)).map((m) => m.name),
      pending: this.migrations.filter((m) => !applied.has(m.name)).map((m) => m.name),
    };
  }

  async migrate(): Promise<MigrationStatus> {
    const owner = await this.lock();
    try {
      const { pending } = await this.status();
      for (const migration of this.migrations.filter((m) => pending.includes(m.name))) {
        await this.up(migration);
        await this.collection.insertOne({ _id: migration.name, appliedAt: new Date() });
      }
    } finally {
      await this.collection.deleteOne({ _id: LOCK_ID, owner });
    }
    return this.status();
  }

  /** Reverts the last applied migration; its record goes first, so a crash leaves it pending. */
  async rollback(): Promise<MigrationStatus> {
    const owner = await this.lock();
    try {
      const last = (await this.status()).applied.at(-1);
      const migration = this.migrations.find((m) => m.name === last);
      if (migration) {
        await this.collection.deleteOne({ _id: migration.name });
        await migration.down(this.db);
      }
    } finally {
      await this.collection.deleteOne({ _id: LOCK_ID, owner });
    }
    return this.status();
  }

  /**
   * Runs one migration. A unique index that existing data violates fails its build with E11000,
   * which would read as a conflict of some request; it is reported as what it is, with the
   * values at fault, found by a second query (the server names only the first).
   */
  private async up(migration: MongoMigration): Promise<void> {
    try {
      await migration.up(this.db);
    } catch (error) {
      const failure = indexBuildDuplicate(error);
      if (failure === undefined) throw error;
      const found = await findDuplicates(
        this.db,
        failure.collection,
        failure.fields,
        failure.partialFilter,
      ).catch(() => []);
      const duplicates =
        found.length > 0 || failure.first === undefined
          ? found
          : [{ key: failure.first, count: 0, ids: [] }];
      throw migrationFoundDuplicates(migration.name, duplicates);
    }
  }

  private async lock(): Promise<string> {
    const owner = new ObjectId().toHexString();
    const deadline = Date.now() + this.lockWaitMs;
    for (;;) {
      const now = new Date();
      try {
        await this.collection.updateOne(
          {
            _id: LOCK_ID,
            $or: [{ lockedUntil: { $exists: false } }, { lockedUntil: { $lte: now } }],
          },
          { $set: { owner, lockedUntil: new Date(now.getTime() + this.lockTtlMs) } },
          { upsert: true },
        );
        return owner;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      if (Date.now() >= deadline) {
        throw new Error(`Another migration has held the lock for over ${this.lockWaitMs} ms.`);
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }
}
