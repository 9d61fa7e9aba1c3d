import {
  ObjectId,
  type AnyBulkWriteOperation,
  type ClientSession,
  type Collection,
  type Filter,
} from 'mongodb';
import { emailTaken } from '../../users/errors.ts';
import { emailKey, type User } from '../../users/user.ts';
import type { ImportOptions, ImportResult, NewUser } from '../../users/user-store.ts';
import { importChanges, planImport, type ImportPlan } from '../import-plan.ts';
import type { MongoConnection } from './mongo-connection.ts';
import { recordMongoEvents } from './mongo-outbox-rows.ts';
import { toDocument, toUser } from './mongo-records.ts';
import { EMAIL_KEY_INDEX, type UserDocument } from './mongo-schema.ts';

interface Target {
  connection: MongoConnection;
  users: Collection<UserDocument>;
}

const objectId = (id: string) => ObjectId.createFromHexString(id);

/**
 * Records outside the batch that hold one of its addresses. The index's filter expression is
 * part of the query, or the planner may not use the partial unique index and scans the whole
 * collection once per batch.
 */
export function emailHoldersFilter(writes: readonly User[]): Filter<UserDocument> | undefined {
  const keys = writes.flatMap((u) => (u.email === undefined ? [] : [emailKey(u.email)]));
  if (keys.length === 0) return undefined;
  return {
    $and: [
      EMAIL_KEY_INDEX.partialFilterExpression,
      { emailKey: { $in: keys } },
      { _id: { $nin: writes.map((u) => objectId(u.id)) } },
    ],
  };
}

/**
 * Fails before writing anything when an incoming address belongs to a record outside the
 * batch: the unique index would stop the write anyway, but mid-way through it.
 */
async function assertEmailsFree(
  users: Collection<UserDocument>,
  writes: User[],
  session: ClientSession | undefined,
): Promise<void> {
  const filter = emailHoldersFilter(writes);
  if (filter === undefined) return;
  const holder = await users.findOne(filter, { projection: { _id: 1 }, session });
  if (holder) throw emailTaken();
}

function operations(plan: ImportPlan): AnyBulkWriteOperation<UserDocument>[] {
  return [
    // Replacements first, as in the SQL store: an address may move to a new record.
    ...plan.replace.map((user) => ({
      replaceOne: { filter: { _id: objectId(user.id) }, replacement: toDocument(user) },
    })),
    ...plan.create.map((user) => ({ insertOne: { document: toDocument(user) } })),
  ];
}

/**
 * Without transactions (a standalone server), a failed batch is undone by hand: inserted
 * records that are still exactly ours are deleted, replaced ones are put back as they were.
 */
async function undo(
  users: Collection<UserDocument>,
  plan: ImportPlan,
  existing: ReadonlyMap<string, User>,
): Promise<void> {
  const restore: AnyBulkWriteOperation<UserDocument>[] = [
    ...plan.create.map((user) => ({ deleteOne: { filter: { ...toDocument(user) } } })),
    ...plan.replace.flatMap((user) => {
      const before = existing.get(user.id);
      return before
        ? [{ replaceOne: { filter: { _id: objectId(user.id) }, replacement: toDocument(before) } }]
        : [];
    }),
  ];
  if (restore.length > 0) await users.bulkWrite(restore, { ordered: false });
}

/**
 * One importMany batch on MongoDB: read, plan and write in one transaction where the deployment
 * has them; else a pre-check of addresses and a compensating undo, so a failed batch leaves
 * nothing behind.
 */
export async function importMongoBatch(
  { connection, users }: Target,
  batch: readonly NewUser[],
  options: ImportOptions,
): Promise<ImportResult> {
  if (batch.length === 0) return { created: 0, updated: 0, unchanged: 0, skipped: 0 };
  const prepare = async (session?: ClientSession) => {
    const ids = batch.map((u) => objectId(u.id));
    const stored = await users.find({ _id: { $in: ids } }, { session }).toArray();
    const existing = new Map(stored.map((doc) => [doc._id.toHexString(), toUser(doc)]));
    const plan = planImport(batch, existing, options.mode);
    await assertEmailsFree(users, [...plan.replace, ...plan.create], session);
    const ops = options.dryRun ? [] : operations(plan);
    return { plan, existing, ops };
  };
  if (await connection.supportsTransactions()) {
    return connection.withTransaction(async (session) => {
      const { plan, existing, ops } = await prepare(session);
      if (ops.length > 0) {
        await users.bulkWrite(ops, { ordered: true, session });
        if (options.events === false) return plan.result;
        const changes = importChanges(plan, existing, new Date().toISOString());
        await recordMongoEvents(await connection.db(), changes, session);
      }
      return plan.result;
    });
  }
  const { plan, existing, ops } = await prepare();
  if (ops.length === 0) return plan.result;
  try {
    await users.bulkWrite(ops, { ordered: true });
  } catch (error) {
    await undo(users, plan, existing);
    throw error;
  }
  if (options.events === false) return plan.result;
  // Without a transaction the events follow the import: a crash in between loses them.
  const changes = importChanges(plan, existing, new Date().toISOString());
  await recordMongoEvents(await connection.db(), changes, undefined);
  return plan.result;
}
