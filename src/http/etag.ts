import { createHash } from 'node:crypto';
import type { User } from '../users/user.ts';

/**
 * A strong ETag for a record. Stores keep `updatedAt` strictly increasing on every change, so
 * id + updatedAt identifies one version of the representation.
 */
export function etagOf(user: Pick<User, 'id' | 'updatedAt'>): string {
  const digest = createHash('sha256').update(`${user.id}\n${user.updatedAt}`).digest('base64url');
  return `"${digest.slice(0, 27)}"`;
}

/** RFC 9110 §13.1.1: If-Match uses strong comparison; `*` matches any current representation. */
export function ifMatchHolds(header: string, etag: string): boolean {
  const trimmed = header.trim();
  if (trimmed === '*') return true;
  return trimmed.split(',').some((candidate) => candidate.trim() === etag);
}

/** RFC 9110 §13.1.2: If-None-Match uses weak comparison. */
export function ifNoneMatchHolds(header: string, etag: string): boolean {
  const trimmed = header.trim();
  if (trimmed === '*') return false;
  return !trimmed.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}
