import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { isDomainError, type DomainErrorCode } from '../../src/users/errors.ts';
import type { NewUser, UserStore } from '../../src/users/user-store.ts';

/** A store to test, and whatever must go with it (a temp file, a database) once it is closed. */
export interface StoreFixture {
  store: UserStore;
  cleanup?: () => Promise<void>;
}
export type StoreFactory = () => Promise<StoreFixture>;

export interface Contract {
  name: string;
  /** A fresh store for this test, closed and cleaned up after it; migrated unless told not to. */
  open(t: TestContext, options?: { migrate?: boolean }): Promise<UserStore>;
}

export const id = (n: number) => n.toString(16).padStart(24, '0');
export const at = (second: number, ms = 0) =>
  new Date(Date.UTC(2024, 0, 1, 0, 0, second, ms)).toISOString();

export function newUser(
  n: number,
  fields: { name?: string; email?: string; createdAt?: string } = {},
): NewUser {
  const createdAt = fields.createdAt ?? at(n);
  return {
    id: id(n),
    name: fields.name ?? `user ${n}`,
    email: fields.email,
    createdAt,
    updatedAt: createdAt,
  };
}

export async function rejectsWith(promise: Promise<unknown>, code: DomainErrorCode): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(isDomainError(error, code), `expected ${code}, got ${String(error)}`);
    return true;
  });
}
