import type { ObjectId } from 'mongodb';

export const USERS = 'users';
export const MIGRATIONS = 'migrations';

/** A user as stored: no `email`/`emailKey` keys at all when the user has no address. */
export interface UserDocument {
  _id: ObjectId;
  name: string;
  email?: string;
  emailKey?: string;
  createdAt: Date;
  updatedAt: Date;
}

export const EMAIL_KEY_INDEX = { name: 'users_email_key_unique', field: 'emailKey' } as const;
