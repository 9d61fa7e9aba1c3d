import { ObjectId, type ClientSession, type Collection, type Document } from 'mongodb';
import { preconditionFailed } from '../../users/errors.ts';
import { emailKey, isUserId, type User, type UserChanges } from '../../users/user.ts';
import {
  createdEvent,
  deletedEvent,
  updatedEvent,
  type UserChange,
} from '../../users/user-events.ts';
import type { NewUser, RemoveOptions, UpdateOptions } from '../../users/user-store.ts';
import { nextUpdatedAt, userRecord } from '../user-records.ts';
import type { MongoConnection } from './mongo-connection.ts';
import { recordMongoEvents } from './mongo-outbox-rows.ts';
import { toDocument, toUser } from './mongo-records.ts';
import type { UserDocument } from './mongo-schema.ts';

/*
 * The store's one-record writes on MongoDB, each with its event. The rest of the port is in
 * mongo-user-store.ts, whose guard classifies the errors these throw.
 */

export interface MongoWriteTarget {
  connection: MongoConnection;
  /** A getter, not the collection: a write on an invalid id returns before connecting. */
  users: () => Promise<Collection<UserDocument>>;
}

/**
 * A write and its event: in one transaction where the deployment has them (replica sets,
 * sharded clusters); on a standalone server the event is written right after the change, so a
 * crash between the two loses the event (README, "Events on MongoDB").
 */
export async function writeWithEvent<T>(
  connection: MongoConnection,
  work: (session: ClientSession | undefined) => Promise<{ result: T; change?: UserChange }>,
): Promise<T> {
  const db = await connection.db();
  if (await connection.supportsTransactions()) {
    return connection.withTransaction(async (session) => {
      const { result, change } = await work(session);
      if (change) await recordMongoEvents(db, [change], session);
      return result;
    });
  }
  const { result, change } = await work(undefined);
  if (change) await recordMongoEvents(db, [change], undefined);
  return result;
}

export async function createMongoUser(target: MongoWriteTarget, user: NewUser): Promise<User> {
  const users = await target.users();
  return writeWithEvent(target.connection, async (session) => {
    const doc = toDocument(user);
    await users.insertOne(doc, { session });
    const created = toUser(doc);
    return { result: created, change: createdEvent(created) };
  });
}

export async function updateMongoUser(
  target: MongoWriteTarget,
  id: string,
  changes: UserChanges,
  options: UpdateOptions,
): Promise<User | undefined> {
  if (!isUserId(id)) return undefined;
  const _id = ObjectId.createFromHexString(id);
  // Pipeline values are expressions: client strings go through $literal, or a name like
  // "$email" would copy a field.
  const set: Document = {
    // max(now, previous + 1 ms), computed by the server in the same atomic write.
    updatedAt: { $max: [new Date(options.now), { $add: ['$updatedAt', 1] }] },
  };
  if (changes.name !== undefined) set.name = { $literal: changes.name };
  if (typeof changes.email === 'string') {
    set.email = { $literal: changes.email };
    set.emailKey = { $literal: emailKey(changes.email) };
  }
  const pipeline: Document[] = [{ $set: set }];
  if (changes.email === null) pipeline.push({ $unset: ['email', 'emailKey'] });
  const users = await target.users();
  const updated = await writeWithEvent(target.connection, async (session) => {
    // The document before; the one after follows from it by the same rule the server applied.
    const doc = await users.findOneAndUpdate(writeFilter(_id, options.ifUpdatedAt), pipeline, {
      returnDocument: 'before',
      session,
    });
    if (!doc) return { result: undefined };
    const before = toUser(doc);
    const after = userRecord({
      ...before,
      name: changes.name ?? before.name,
      email: changes.email === undefined ? before.email : changes.email,
      updatedAt: nextUpdatedAt(options.now, before.updatedAt),
    });
    return { result: after, change: updatedEvent(before, after) };
  });
  return updated ?? missingOrStale(target, _id, options.ifUpdatedAt);
}

export async function removeMongoUser(
  target: MongoWriteTarget,
  id: string,
  options: RemoveOptions,
): Promise<User | undefined> {
  if (!isUserId(id)) return undefined;
  const _id = ObjectId.createFromHexString(id);
  const users = await target.users();
  const removed = await writeWithEvent(target.connection, async (session) => {
    const doc = await users.findOneAndDelete(writeFilter(_id, options.ifUpdatedAt), {
      session,
    });
    if (!doc) return { result: undefined };
    const before = toUser(doc);
    return {
      result: before,
      change: deletedEvent(before, options.now ?? new Date().toISOString()),
    };
  });
  return removed ?? missingOrStale(target, _id, options.ifUpdatedAt);
}

function writeFilter(_id: ObjectId, ifUpdatedAt: string | undefined): Document {
  if (ifUpdatedAt === undefined) return { _id };
  const time = Date.parse(ifUpdatedAt);
  // An unreadable time can equal no record's updatedAt: match nothing, then report stale.
  return Number.isNaN(time) ? { _id, $expr: false } : { _id, updatedAt: { $eq: new Date(time) } };
}

/** A conditional write matched nothing: either the record is gone or it changed. */
async function missingOrStale(
  target: MongoWriteTarget,
  _id: ObjectId,
  ifUpdatedAt: string | undefined,
): Promise<undefined> {
  if (
    ifUpdatedAt !== undefined &&
    (await (await target.users()).countDocuments({ _id }, { limit: 1 })) > 0
  ) {
    throw preconditionFailed();
  }
  return undefined;
}
