import type { User } from '../users/user.ts';

/** What a keyed create did (UserStore.createOnce): created the user, or found its key live. */
export type KeyedCreate = { created: User } | { replay: { userId: string; record: User } };

/** A record with the key order Sails prints (attributes, createdAt, updatedAt, id). */
export function userRecord(parts: {
  id: string;
  name: string;
  email?: string | null | undefined;
  createdAt: string | Date;
  updatedAt: string | Date;
}): User {
  return orderedUser({
    id: parts.id,
    name: parts.name,
    email: parts.email,
    createdAt: toIso(parts.createdAt),
    updatedAt: toIso(parts.updatedAt),
  });
}

/** As userRecord, for timestamps already in toISOString's form: nothing is parsed again. */
export function orderedUser(parts: {
  id: string;
  name: string;
  email?: string | null | undefined;
  createdAt: string;
  updatedAt: string;
}): User {
  const { id, name, email, createdAt, updatedAt } = parts;
  return email === null || email === undefined
    ? { name, createdAt, updatedAt, id }
    : { name, email, createdAt, updatedAt, id };
}

/** SQLite hands back TEXT, PostgreSQL and MongoDB a Date: one normal form for both. */
export function toIso(value: string | Date): string {
  return new Date(value).toISOString();
}

/**
 * `max(now, previous + 1 ms)`: strictly increasing per record even when two writes share a
 * millisecond or the clock steps back, because the HTTP layer derives the ETag from it.
 */
export function nextUpdatedAt(now: string, previous: string): string {
  return new Date(Math.max(Date.parse(now), Date.parse(previous) + 1)).toISOString();
}

/** A conditional write is stale when the record's updatedAt is no longer the one the client read. */
export function isStale(current: { updatedAt: string }, ifUpdatedAt: string | undefined): boolean {
  return ifUpdatedAt !== undefined && Date.parse(ifUpdatedAt) !== Date.parse(current.updatedAt);
}
