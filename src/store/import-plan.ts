import { validationFailed } from '../users/errors.ts';
import { emailKey, type User } from '../users/user.ts';
import { createdEvent, updatedEvent, type UserChange } from '../users/user-events.ts';
import type { ImportMode, ImportResult, NewUser } from '../users/user-store.ts';
import { userRecord } from './user-records.ts';

/** What one importMany batch writes: records to insert, records to replace, and the counts. */
export interface ImportPlan {
  create: User[];
  replace: User[];
  result: ImportResult;
}

function sameRecord(a: User, b: User): boolean {
  return (
    a.name === b.name &&
    a.email === b.email &&
    Date.parse(a.createdAt) === Date.parse(b.createdAt) &&
    Date.parse(a.updatedAt) === Date.parse(b.updatedAt)
  );
}

/** A batch that names one id or one address twice cannot be written in any order. */
function assertDistinct(users: readonly NewUser[]): void {
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const user of users) {
    if (ids.has(user.id)) {
      throw validationFailed([{ field: 'id', message: `${user.id} appears twice in one batch` }]);
    }
    ids.add(user.id);
    if (user.email === undefined) continue;
    const key = emailKey(user.email);
    if (keys.has(key)) {
      throw validationFailed([
        { field: 'email', message: `${user.email} appears twice in one batch` },
      ]);
    }
    keys.add(key);
  }
}

/**
 * Decides what importMany does with each incoming record, given the stored records that have
 * the same ids. Every store plans with this one function, so a mode means the same everywhere.
 */
export function planImport(
  users: readonly NewUser[],
  existing: ReadonlyMap<string, User>,
  mode: ImportMode,
): ImportPlan {
  assertDistinct(users);
  const plan: ImportPlan = {
    create: [],
    replace: [],
    result: { created: 0, updated: 0, unchanged: 0, skipped: 0 },
  };
  for (const user of users) {
    const record = userRecord(user);
    const stored = existing.get(record.id);
    if (stored === undefined) {
      plan.create.push(record);
      plan.result.created++;
    } else if (sameRecord(stored, record)) {
      plan.result.unchanged++;
    } else if (
      mode === 'overwrite' ||
      (mode === 'newer' && Date.parse(record.updatedAt) > Date.parse(stored.updatedAt))
    ) {
      plan.replace.push(record);
      plan.result.updated++;
    } else {
      plan.result.skipped++;
    }
  }
  return plan;
}

/**
 * The events an import records, in its transaction like any other write: an import is a change
 * happening now, whatever times the records carry, so the events occur now.
 */
export function importChanges(
  plan: ImportPlan,
  existing: ReadonlyMap<string, User>,
  now: string,
): UserChange[] {
  return [
    ...plan.replace.flatMap((after) => {
      const before = existing.get(after.id);
      return before ? [{ ...updatedEvent(before, after), occurredAt: now }] : [];
    }),
    ...plan.create.map((after) => ({ ...createdEvent(after), occurredAt: now })),
  ];
}

export function addResults(a: ImportResult, b: ImportResult): ImportResult {
  return {
    created: a.created + b.created,
    updated: a.updated + b.updated,
    unchanged: a.unchanged + b.unchanged,
    skipped: a.skipped + b.skipped,
  };
}
