import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bulkContract } from './contract-bulk.ts';
import { concurrencyContract } from './contract-concurrency.ts';
import { idempotencyContract } from './contract-idempotency.ts';
import { listContract } from './contract-list.ts';
import { outboxContract } from './contract-outbox.ts';
import { id, newUser, type Contract, type StoreFactory } from './contract-support.ts';
import { writeContract } from './contract-writes.ts';

export type { StoreFactory, StoreFixture } from './contract-support.ts';

/**
 * THE UserStore contract: every adapter runs it, so a record, a query and an error mean the
 * same on SQLite, PostgreSQL and MongoDB, and data can move between them.
 */
export function runUserStoreContract(name: string, factory: StoreFactory): void {
  const contract: Contract = {
    name,
    async open(t, options = {}) {
      const fixture = await factory();
      t.after(async () => {
        await fixture.store.close();
        await fixture.cleanup?.();
      });
      if (options.migrate !== false) await fixture.store.migrate();
      return fixture.store;
    },
  };
  migrationContract(contract);
  writeContract(contract);
  concurrencyContract(contract);
  idempotencyContract(contract);
  listContract(contract);
  bulkContract(contract);
  outboxContract(contract);
}

function migrationContract({ name, open }: Contract): void {
  test(`${name} — when the store is new, then every migration is pending until migrate() applies it`, async (t) => {
    const store = await open(t, { migrate: false });
    const before = await store.migrationStatus();
    assert.deepEqual(before.applied, []);
    assert.ok(before.pending.length > 0);
    const after = await store.migrate();
    assert.deepEqual(after, { applied: before.pending, pending: [] });
    assert.deepEqual(await store.migrationStatus(), after);
  });

  test(`${name} — when migrate() runs twice, then the second run is a no-op`, async (t) => {
    const store = await open(t, { migrate: false });
    const first = await store.migrate();
    await store.create(newUser(1));
    assert.deepEqual(await store.migrate(), first);
    assert.equal((await store.get(id(1)))?.id, id(1));
  });

  test(`${name} — when two migrate() calls run at once, then both succeed with the schema current`, async (t) => {
    const store = await open(t, { migrate: false });
    const [a, b] = await Promise.all([store.migrate(), store.migrate()]);
    assert.deepEqual(a.pending, []);
    assert.deepEqual(b, a);
    await store.create(newUser(1));
  });

  test(`${name} — when the store is reachable, then ping resolves and the store names itself`, async (t) => {
    const store = await open(t, { migrate: false });
    await store.ping();
    assert.equal(typeof store.kind, 'string');
    assert.equal(typeof store.capabilities.embedded, 'boolean');
  });
}
