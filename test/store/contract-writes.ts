import assert from 'node:assert/strict';
import { test } from 'node:test';
import { at, id, newUser, rejectsWith, type Contract } from './contract-support.ts';

export function writeContract({ name, open }: Contract): void {
  test(`${name} — when a user is created, then it reads back whole in Sails' key order`, async (t) => {
    const store = await open(t);
    const created = await store.create(newUser(1, { name: 'bingo', email: 'bingo@example.com' }));
    const expected = {
      name: 'bingo',
      email: 'bingo@example.com',
      createdAt: at(1),
      updatedAt: at(1),
      id: id(1),
    };
    assert.deepEqual(created, expected);
    assert.deepEqual(Object.keys(created), ['name', 'email', 'createdAt', 'updatedAt', 'id']);
    const read = await store.get(id(1));
    assert.deepEqual(read, expected);
    assert.deepEqual(Object.keys(read ?? {}), ['name', 'email', 'createdAt', 'updatedAt', 'id']);
  });

  test(`${name} — when a user has no e-mail, then the record has no email key at all`, async (t) => {
    const store = await open(t);
    const created = await store.create(newUser(1, { name: 'bingo' }));
    assert.deepEqual(Object.keys(created), ['name', 'createdAt', 'updatedAt', 'id']);
    assert.deepEqual(Object.keys((await store.get(id(1))) ?? {}), [
      'name',
      'createdAt',
      'updatedAt',
      'id',
    ]);
  });

  test(`${name} — when an id is unknown, then get, update and remove answer undefined`, async (t) => {
    const store = await open(t);
    assert.equal(await store.get(id(404)), undefined);
    assert.equal(await store.update(id(404), { name: 'x' }, { now: at(9) }), undefined);
    assert.equal(
      await store.update(id(404), { name: 'x' }, { now: at(9), ifUpdatedAt: at(1) }),
      undefined,
    );
    assert.equal(await store.remove(id(404)), undefined);
    assert.equal(await store.remove(id(404), { ifUpdatedAt: at(1) }), undefined);
  });

  test(`${name} — when an e-mail differs from another only in case, then create fails with EMAIL_TAKEN and writes nothing`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1, { email: 'Bingo@Example.com' }));
    await rejectsWith(store.create(newUser(2, { email: 'bINGO@example.COM' })), 'EMAIL_TAKEN');
    await store.create(newUser(3, { email: 'élodie@example.com' }));
    await rejectsWith(store.create(newUser(4, { email: 'ÉLODIE@example.com' })), 'EMAIL_TAKEN');
    assert.equal(await store.get(id(2)), undefined);
    assert.equal(await store.get(id(4)), undefined);
    assert.equal(
      (
        await store.list({
          where: undefined,
          sort: [{ field: 'id', direction: 'asc' }],
          limit: 10,
          skip: 0,
        })
      ).total,
      2,
    );
  });

  test(`${name} — when users have no e-mail, then any number of them coexist`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1));
    await store.create(newUser(2));
    assert.ok(await store.get(id(2)));
  });

  test(`${name} — when a user is updated, then the whole record returns with only the given fields changed`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1, { name: 'bingo', email: 'bingo@example.com' }));
    const updated = await store.update(id(1), { name: 'bingohuang' }, { now: at(5) });
    const expected = {
      name: 'bingohuang',
      email: 'bingo@example.com',
      createdAt: at(1),
      updatedAt: at(5),
      id: id(1),
    };
    assert.deepEqual(updated, expected);
    assert.deepEqual(Object.keys(updated ?? {}), ['name', 'email', 'createdAt', 'updatedAt', 'id']);
    assert.deepEqual(await store.get(id(1)), expected);
  });

  test(`${name} — when an update takes another user's e-mail in another case, then it fails with EMAIL_TAKEN and changes nothing`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1, { email: 'one@example.com' }));
    const two = await store.create(newUser(2, { name: 'two', email: 'two@example.com' }));
    await rejectsWith(
      store.update(id(2), { name: 'renamed', email: 'ONE@example.com' }, { now: at(9) }),
      'EMAIL_TAKEN',
    );
    assert.deepEqual(await store.get(id(2)), two);
  });

  test(`${name} — when a user changes the case of their own e-mail, then it is allowed`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1, { email: 'one@example.com' }));
    assert.equal(
      (await store.update(id(1), { email: 'ONE@example.com' }, { now: at(9) }))?.email,
      'ONE@example.com',
    );
  });

  test(`${name} — when the e-mail is updated to null, then it is cleared and free for another user`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1, { email: 'one@example.com' }));
    const cleared = await store.update(id(1), { email: null }, { now: at(9) });
    assert.deepEqual(Object.keys(cleared ?? {}), ['name', 'createdAt', 'updatedAt', 'id']);
    assert.deepEqual(await store.get(id(1)), cleared);
    await store.create(newUser(2, { email: 'One@example.com' }));
  });

  test(`${name} — when two updates share a millisecond or the clock steps back, then updatedAt still increases`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1));
    const first = await store.update(id(1), { name: 'a' }, { now: at(5) });
    const second = await store.update(id(1), { name: 'b' }, { now: at(5) });
    const third = await store.update(id(1), { name: 'c' }, { now: at(2) });
    assert.equal(first?.updatedAt, at(5));
    assert.equal(second?.updatedAt, at(5, 1));
    assert.equal(third?.updatedAt, at(5, 2));
    assert.equal((await store.get(id(1)))?.updatedAt, at(5, 2));
  });

  test(`${name} — when ifUpdatedAt matches, then update applies; when stale, then PRECONDITION_FAILED and nothing changes`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1, { name: 'bingo' }));
    const updated = await store.update(
      id(1),
      { name: 'fresh' },
      { now: at(5), ifUpdatedAt: at(1) },
    );
    assert.equal(updated?.name, 'fresh');
    await rejectsWith(
      store.update(id(1), { name: 'stale' }, { now: at(6), ifUpdatedAt: at(1) }),
      'PRECONDITION_FAILED',
    );
    assert.deepEqual(await store.get(id(1)), updated);
  });

  test(`${name} — when a user is removed, then it returns as it was and is gone`, async (t) => {
    const store = await open(t);
    const created = await store.create(newUser(1, { name: 'bingo', email: 'bingo@example.com' }));
    const removed = await store.remove(id(1));
    assert.deepEqual(removed, created);
    assert.deepEqual(Object.keys(removed ?? {}), ['name', 'email', 'createdAt', 'updatedAt', 'id']);
    assert.equal(await store.get(id(1)), undefined);
    assert.equal(await store.remove(id(1)), undefined);
    await store.create(newUser(2, { email: 'BINGO@example.com' }));
  });

  test(`${name} — when remove has a stale ifUpdatedAt, then PRECONDITION_FAILED and the user stays; a fresh one removes it`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1));
    const updated = await store.update(id(1), { name: 'changed' }, { now: at(5) });
    await rejectsWith(store.remove(id(1), { ifUpdatedAt: at(1) }), 'PRECONDITION_FAILED');
    assert.deepEqual(await store.get(id(1)), updated);
    assert.deepEqual(await store.remove(id(1), { ifUpdatedAt: at(5) }), updated);
    assert.equal(await store.get(id(1)), undefined);
  });

  test(`${name} — when values hold SQL or regex syntax, then they are stored and read back literally`, async (t) => {
    const store = await open(t);
    const name = "'; DROP TABLE users; -- $where .* %_\\";
    await store.create(newUser(1, { name }));
    assert.equal((await store.update(id(1), { name: '$name' }, { now: at(5) }))?.name, '$name');
    assert.equal((await store.get(id(1)))?.name, '$name');
    await store.update(id(1), { name }, { now: at(6) });
    assert.equal((await store.get(id(1)))?.name, name);
  });
}
