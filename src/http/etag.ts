import type { User } from '../users/user.ts';

/**
 * A strong ETag for a record. Stores keep `updatedAt` strictly increasing on every change, so
 * it identifies one version of the representation of one id; no hash is needed.
 */
export function etagOf(user: Pick<User, 'updatedAt'>): string {
  return `"${Date.parse(user.updatedAt).toString(36)}"`;
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
