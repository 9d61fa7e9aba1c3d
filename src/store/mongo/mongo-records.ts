import { ObjectId } from 'mongodb';
import { emailKey, type User } from '../../users/user.ts';
import type { NewUser } from '../../users/user-store.ts';
import { userRecord } from '../user-records.ts';
import type { UserDocument } from './mongo-schema.ts';

export function toUser(doc: UserDocument): User {
  return userRecord({
    id: doc._id.toHexString(),
    name: doc.name,
    email: doc.email,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  });
}

/** A user as stored: no `email`/`emailKey` keys at all without an address. */
export function toDocument(user: NewUser | User): UserDocument {
  return {
    _id: ObjectId.createFromHexString(user.id),
    name: user.name,
    ...(user.email === undefined ? {} : { email: user.email, emailKey: emailKey(user.email) }),
    createdAt: new Date(user.createdAt),
    updatedAt: new Date(user.updatedAt),
  };
}
