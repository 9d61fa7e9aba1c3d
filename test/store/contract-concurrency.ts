import assert from 'node:assert/strict';
import { test } from 'node:test';
import { at, id, newUser, rejectsWith, type Contract } from './contract-support.ts';

/**
 * Reads and writes issued together, as a busy web process issues them. SQL stores batch reads
 * by id into one query (ReadBatch) and, on SQLite, writes into one commit (CommitGroup), so
 * these cases pin down that sharing never mixes up their outcomes.
 */
export function concurrencyContract({ name, open }: Contract): void {
  test(`${name} — when many reads by id arrive at once, then each gets its own record, and an unknown id none`, async (t) => {
    const store = await open(t);
    const users = await Promise.all(
      Array.from({ length: 30 }, (_, n) => store.create(newUser(n + 1))),
    );
    // The same id twice and an unknown id in one batch must not confuse the answers.
    const wanted = [...users.map((user) => user.id), id(4), id(999_999)];
    const read = await Promise.all(wanted.map((userId) => store.get(userId)));
    assert.deepEqual(read.slice(0, 30), users);
    assert.deepEqual(read[30], users[3]);
    assert.equal(read[31], undefined);
  });

  test(`${name} — when a read arrives while writes to the same record are committing, then it sees the record before or after them, never half`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1, { name: 'before', email: 'before@example.com' }));
    const update = store.update(
      id(1),
      { name: 'after', email: 'after@example.com' },
      { now: at(5) },
    );
    const reads = await Promise.all([store.get(id(1)), update, store.get(id(1))]);
    for (const user of [reads[0], reads[2]]) {
      assert.ok(user, 'the record exists throughout');
      const pair = `${user.name} ${user.email}`;
      assert.ok(pair === 'before before@example.com' || pair === 'after after@example.com', pair);
    }
    assert.deepEqual(await store.get(id(1)), reads[1], 'a read after the write sees it');
  });

  test(`${name} — when many creates arrive at once and one reuses a taken e-mail, then only that one fails and every other is stored with its event`, async (t) => {
    const store = await open(t);
    // The address is taken before the burst: which of two concurrent creates of one address
    // wins is the engine's to decide, and only the loser is known to fail.
    const taken = store.create(newUser(3, { email: 'user-3@example.com' }));
    await taken;
    const creates = Array.from({ length: 40 }, (_, n) =>
      n === 2
        ? taken
        : store.create(
            newUser(n + 1, {
              email: n === 25 ? 'user-3@example.com' : `user-${n + 1}@example.com`,
            }),
          ),
    );
    const outcomes = await Promise.allSettled(creates);
    outcomes.forEach((outcome, n) => {
      if (n === 25) return;
      assert.equal(outcome.status, 'fulfilled', `create ${n + 1}`);
    });
    await rejectsWith(creates[25]!, 'EMAIL_TAKEN');
    assert.equal(await store.count(), 39);
    assert.equal(await store.get(id(26)), undefined);
    const events = await store.outbox.list({ limit: 100 });
    assert.equal(events.length, 39);
    assert.ok(events.every((listing) => listing.event.userId !== id(26)));
  });

  test(`${name} — when updates, a stale update and a removal of one record arrive at once, then each applies in turn and the stale one alone fails`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1));
    await store.create(newUser(2));
    const renames = Array.from({ length: 10 }, (_, n) =>
      store.update(id(1), { name: `name-${n}` }, { now: at(5) }),
    );
    const stale = store.update(id(2), { name: 'stale' }, { now: at(5), ifUpdatedAt: at(0, 1) });
    const removal = store.remove(id(2), { now: at(6) });
    const [renamed, staleOutcome, removed] = await Promise.all([
      Promise.all(renames),
      stale.then(
        () => 'applied',
        (error: { code?: string }) => error.code,
      ),
      removal,
    ]);
    assert.equal(staleOutcome, 'PRECONDITION_FAILED');
    assert.equal(removed?.id, id(2));
    // Each update saw the one before it (in whatever order they ran): updatedAt moved on by
    // exactly 1 ms every time, and the record holds the last one's name.
    const stamps = renamed.map((user) => user!.updatedAt);
    assert.deepEqual(
      [...stamps].sort(),
      Array.from({ length: 10 }, (_, n) => at(5, n)),
    );
    const last = renamed.find((user) => user!.updatedAt === at(5, 9))!;
    assert.deepEqual(await store.get(id(1)), last);
    assert.equal(await store.get(id(2)), undefined);
    const listed = await store.outbox.list({ limit: 100 });
    const types = listed.map((listing) => listing.event.type);
    assert.equal(types.filter((type) => type === 'user.updated').length, 10);
    // No write overwrote another unseen: in sequence order, each update's event starts from the
    // record the one before it left.
    const chain = listed
      .map((listing) => listing.event)
      .filter((event) => event.userId === id(1))
      .sort((a, b) => a.sequence - b.sequence);
    for (let i = 1; i < chain.length; i++) assert.deepEqual(chain[i]!.before, chain[i - 1]!.after);
    assert.equal(types.filter((type) => type === 'user.deleted').length, 1);
  });
}
