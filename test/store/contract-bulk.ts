import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { User } from '../../src/users/user.ts';
import type { NewUser, UserStore } from '../../src/users/user-store.ts';
import { at, id, newUser, rejectsWith, type Contract } from './contract-support.ts';

async function all(store: UserStore, pageSize?: number): Promise<User[]> {
  const users: User[] = [];
  for await (const user of store.stream({ pageSize })) users.push(user);
  return users;
}

const renamed = (user: NewUser, name: string, updatedAt: string): NewUser => ({
  ...user,
  name,
  updatedAt,
});

/** What the admin commands need: stream, count, importMany (modes, atomicity) and rollback. */
export function bulkContract({ name, open }: Contract): void {
  test(`${name} — when streaming in small pages, then every user comes once, whole, in id order`, async (t) => {
    const store = await open(t);
    assert.deepEqual(await all(store), []);
    const numbers = [17, 3, 250, 1, 99, 42, 7, 18, 64, 5, 11, 300, 2, 8, 77];
    for (const n of numbers) await store.create(newUser(n, { email: `u${n}@example.com` }));
    const expected = [...numbers].sort((a, b) => a - b).map((n) => id(n));
    for (const pageSize of [1, 4, 5, 15, 1000]) {
      const users = await all(store, pageSize);
      assert.deepEqual(
        users.map((u) => u.id),
        expected,
        `pageSize ${pageSize}`,
      );
      assert.deepEqual(users[0], await store.get(id(1)));
      assert.deepEqual(Object.keys(users[0] ?? {}), [
        'name',
        'email',
        'createdAt',
        'updatedAt',
        'id',
      ]);
    }
    assert.equal(await store.count(), numbers.length);
  });

  test(`${name} — when a batch is imported, then ids and timestamps are kept and a second import changes nothing`, async (t) => {
    const store = await open(t);
    const batch = [
      newUser(1, { name: 'Ada', email: 'ada@example.com' }),
      { ...newUser(2, { name: 'Grace' }), updatedAt: at(50, 123) },
    ];
    assert.deepEqual(await store.importMany(batch, { mode: 'newer' }), {
      created: 2,
      updated: 0,
      unchanged: 0,
      skipped: 0,
    });
    const first = await all(store);
    assert.deepEqual(first[1], {
      name: 'Grace',
      createdAt: at(2),
      updatedAt: at(50, 123),
      id: id(2),
    });
    for (const mode of ['newer', 'skip', 'overwrite'] as const) {
      assert.deepEqual(await store.importMany(batch, { mode }), {
        created: 0,
        updated: 0,
        unchanged: 2,
        skipped: 0,
      });
    }
    assert.deepEqual(await all(store), first);
  });

  test(`${name} — when an id exists with other content, then the mode decides: newer, skip or overwrite`, async (t) => {
    const store = await open(t);
    const base = newUser(1, { name: 'stored' });
    await store.create({ ...base, updatedAt: at(10) });
    const older = renamed(base, 'older', at(5));
    const newer = renamed(base, 'newer', at(20));
    const counts = (updated: number, skipped: number) => ({
      created: 0,
      updated,
      unchanged: 0,
      skipped,
    });

    assert.deepEqual(await store.importMany([older], { mode: 'newer' }), counts(0, 1));
    assert.equal((await store.get(id(1)))?.name, 'stored');
    assert.deepEqual(await store.importMany([newer], { mode: 'skip' }), counts(0, 1));
    assert.equal((await store.get(id(1)))?.name, 'stored');
    assert.deepEqual(await store.importMany([newer], { mode: 'newer' }), counts(1, 0));
    assert.deepEqual(await store.get(id(1)), {
      name: 'newer',
      createdAt: at(1),
      updatedAt: at(20),
      id: id(1),
    });
    assert.deepEqual(await store.importMany([older], { mode: 'overwrite' }), counts(1, 0));
    assert.deepEqual(await store.get(id(1)), {
      name: 'older',
      createdAt: at(1),
      updatedAt: at(5),
      id: id(1),
    });
  });

  test(`${name} — when a batch takes an address another user holds, then EMAIL_TAKEN and none of the batch is written`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1, { name: 'holder', email: 'Taken@Example.com' }));
    await store.create(newUser(2, { name: 'before' }));
    const batch = [
      renamed(newUser(2), 'after', at(30)),
      newUser(3, { email: 'free@example.com' }),
      newUser(4, { email: 'taken@example.COM' }),
      newUser(5),
    ];
    for (const dryRun of [true, false]) {
      await rejectsWith(store.importMany(batch, { mode: 'newer', dryRun }), 'EMAIL_TAKEN');
    }
    assert.deepEqual(
      (await all(store)).map((u) => [u.id, u.name]),
      [
        [id(1), 'holder'],
        [id(2), 'before'],
      ],
    );
    assert.equal(await store.count(), 2);
  });

  test(`${name} — when an address moves from a replaced user to a new one in one batch, then both are written`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1, { name: 'old holder', email: 'moving@example.com' }));
    const batch = [
      newUser(2, { name: 'new holder', email: 'Moving@example.com' }),
      { ...newUser(1, { name: 'old holder', email: 'elsewhere@example.com' }), updatedAt: at(60) },
    ];
    assert.deepEqual(await store.importMany(batch, { mode: 'newer' }), {
      created: 1,
      updated: 1,
      unchanged: 0,
      skipped: 0,
    });
    assert.equal((await store.get(id(1)))?.email, 'elsewhere@example.com');
    assert.equal((await store.get(id(2)))?.email, 'Moving@example.com');
  });

  test(`${name} — when one batch names an id or an address twice, then VALIDATION_FAILED and nothing is written`, async (t) => {
    const store = await open(t);
    await rejectsWith(
      store.importMany([newUser(1), newUser(2), newUser(1)], { mode: 'newer' }),
      'VALIDATION_FAILED',
    );
    await rejectsWith(
      store.importMany(
        [newUser(1, { email: 'a@example.com' }), newUser(2, { email: 'A@example.com' })],
        { mode: 'newer' },
      ),
      'VALIDATION_FAILED',
    );
    assert.equal(await store.count(), 0);
  });

  test(`${name} — when an import is a dry run, then it reports what it would do and writes nothing`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1, { name: 'stored' }));
    const batch = [renamed(newUser(1), 'newer', at(40)), newUser(2), newUser(3)];
    assert.deepEqual(await store.importMany(batch, { mode: 'newer', dryRun: true }), {
      created: 2,
      updated: 1,
      unchanged: 0,
      skipped: 0,
    });
    assert.equal(await store.count(), 1);
    assert.equal((await store.get(id(1)))?.name, 'stored');
    assert.deepEqual(await store.importMany([], { mode: 'newer' }), {
      created: 0,
      updated: 0,
      unchanged: 0,
      skipped: 0,
    });
  });

  test(`${name} — when an import asks for no events, then the users are written and the outbox stays empty`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1));
    const before = (await store.outbox.list({ limit: 100 })).length;
    const batch = [renamed(newUser(1), 'moved', at(40)), newUser(2), newUser(3)];
    assert.deepEqual(await store.importMany(batch, { mode: 'newer', events: false }), {
      created: 2,
      updated: 1,
      unchanged: 0,
      skipped: 0,
    });
    assert.equal(await store.count(), 3);
    assert.equal((await store.outbox.list({ limit: 100 })).length, before);
  });

  test(`${name} — when the last migration is rolled back, then it is pending again and migrate restores a working store`, async (t) => {
    const store = await open(t, { migrate: false });
    const untouched = await store.rollback();
    assert.deepEqual(untouched.applied, []);
    const migrated = await store.migrate();
    const last = migrated.applied.at(-1);
    const rolledBack = await store.rollback();
    assert.deepEqual(rolledBack.applied, migrated.applied.slice(0, -1));
    assert.deepEqual(rolledBack.pending, [last]);
    assert.deepEqual(await store.migrate(), migrated);
    await store.create(newUser(1, { email: 'a@example.com' }));
    await rejectsWith(store.create(newUser(2, { email: 'A@example.com' })), 'EMAIL_TAKEN');
  });
}
