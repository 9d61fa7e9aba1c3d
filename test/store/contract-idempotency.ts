import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IdempotencyKey } from '../../src/users/user-store.ts';
import { id, newUser, rejectsWith, type Contract } from './contract-support.ts';

/**
 * Key times lie in the future: MongoDB's TTL monitor deletes keys whose `expiresAt` has passed
 * in real time, which would race a test using the record dates of `at`.
 */
const later = (second: number) => new Date(Date.UTC(2100, 0, 1, 0, 0, second)).toISOString();

/** A key used at second 10, live until second 100, unless the test says otherwise. */
const keyed = (fields: Partial<IdempotencyKey> = {}): IdempotencyKey => ({
  scope: 'token#1',
  key: 'create-bingo',
  fingerprint: 'fp-1',
  now: later(10),
  expiresAt: later(100),
  ...fields,
});

export function idempotencyContract({ name, open }: Contract): void {
  test(`${name} — when createOnce runs twice with one key, then one user is created and the second replays it`, async (t) => {
    const store = await open(t);
    const first = await store.createOnce(newUser(1, { email: 'b@example.com' }), keyed());
    assert.deepEqual(first, { user: await store.get(id(1)), replayed: false });
    const second = await store.createOnce(
      newUser(2, { email: 'b@example.com' }),
      keyed({ now: later(20) }),
    );
    assert.deepEqual(second, { user: first.user, replayed: true });
    assert.deepEqual(Object.keys(second.user), ['name', 'email', 'createdAt', 'updatedAt', 'id']);
    assert.equal(await store.count(), 1);
    const events = await store.outbox.list({ limit: 10 });
    assert.deepEqual(
      events.map((e) => e.event.type),
      ['user.created'],
    );
  });

  test(`${name} — when a key is reused with another fingerprint, then IDEMPOTENCY_KEY_REUSED and nothing is created`, async (t) => {
    const store = await open(t);
    await store.createOnce(newUser(1), keyed());
    await rejectsWith(
      store.createOnce(newUser(2), keyed({ fingerprint: 'fp-2' })),
      'IDEMPOTENCY_KEY_REUSED',
    );
    assert.equal(await store.count(), 1);
  });

  test(`${name} — when a key has expired, then createOnce creates a new user under it`, async (t) => {
    const store = await open(t);
    await store.createOnce(newUser(1), keyed({ expiresAt: later(15) }));
    const again = await store.createOnce(
      newUser(2),
      keyed({ now: later(15), fingerprint: 'fp-2' }),
    );
    assert.deepEqual(again, { user: await store.get(id(2)), replayed: false });
    // The key now belongs to the second create.
    const replay = await store.createOnce(
      newUser(3),
      keyed({ now: later(16), fingerprint: 'fp-2' }),
    );
    assert.equal(replay.user.id, id(2));
    assert.equal(await store.count(), 2);
  });

  test(`${name} — when two scopes use the same key, then each gets its own user`, async (t) => {
    const store = await open(t);
    const a = await store.createOnce(newUser(1), keyed({ scope: 'token#1' }));
    const b = await store.createOnce(newUser(2), keyed({ scope: 'token#2' }));
    assert.deepEqual([a.replayed, b.replayed], [false, false]);
    assert.equal(await store.count(), 2);
  });

  test(`${name} — when many creates race under one key, then exactly one user exists and all answer it`, async (t) => {
    const store = await open(t);
    // One address for all of them: a loser must replay, not fail on the e-mail.
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.createOnce(newUser(i + 1, { email: 'race@example.com' }), keyed()),
      ),
    );
    assert.equal(await store.count(), 1);
    assert.equal(new Set(results.map((r) => r.user.id)).size, 1);
    assert.equal(results.filter((r) => !r.replayed).length, 1);
  });

  test(`${name} — when the user was removed, then a replay answers the record as first created`, async (t) => {
    const store = await open(t);
    const { user } = await store.createOnce(newUser(1, { name: 'bingo' }), keyed());
    await store.update(id(1), { name: 'renamed' }, { now: later(12) });
    assert.equal((await store.createOnce(newUser(2), keyed())).user.name, 'renamed');
    await store.remove(id(1));
    assert.deepEqual(await store.createOnce(newUser(3), keyed()), { user, replayed: true });
    assert.equal(await store.count(), 0);
  });

  test(`${name} — when a keyed create fails with EMAIL_TAKEN, then no key is kept and a retry creates`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1, { email: 'taken@example.com' }));
    await rejectsWith(
      store.createOnce(newUser(2, { email: 'taken@example.com' }), keyed()),
      'EMAIL_TAKEN',
    );
    await store.remove(id(1));
    const retry = await store.createOnce(newUser(3, { email: 'taken@example.com' }), keyed());
    assert.deepEqual([retry.user.id, retry.replayed], [id(3), false]);
  });

  test(`${name} — when expired keys are purged, then only they go and live keys still replay`, async (t) => {
    const store = await open(t);
    await store.createOnce(newUser(1), keyed({ key: 'old', expiresAt: later(20) }));
    await store.createOnce(newUser(2), keyed({ key: 'also-old', expiresAt: later(30) }));
    await store.createOnce(newUser(3), keyed({ key: 'live', expiresAt: later(90) }));
    assert.equal(await store.purgeIdempotencyKeys({ now: later(30), batchSize: 1 }), 2);
    assert.equal(await store.purgeIdempotencyKeys({ now: later(30), batchSize: 1 }), 0);
    const live = await store.createOnce(newUser(4), keyed({ key: 'live', now: later(40) }));
    assert.deepEqual([live.user.id, live.replayed], [id(3), true]);
    // A purged key is free again.
    const old = await store.createOnce(newUser(5), keyed({ key: 'old', now: later(40) }));
    assert.deepEqual([old.user.id, old.replayed], [id(5), false]);
  });
}
