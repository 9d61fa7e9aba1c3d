import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Outbox } from '../../src/users/outbox.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import { at, id, newUser, rejectsWith, type Contract } from './contract-support.ts';

const A = 'http://127.0.0.1:1/a';
const B = 'http://127.0.0.1:1/b';
const T0 = '2025-01-01T00:00:00.000Z';
const later = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();
const LEASE = 30_000;

const events = async (store: UserStore) =>
  (await store.outbox.list({ limit: 100 })).map((listing) => listing.event);

const claimed = async (
  outbox: Outbox,
  options: { endpoint?: string; owner?: string; now?: string } = {},
) =>
  (
    await outbox.claim({
      endpoint: options.endpoint ?? A,
      owner: options.owner ?? 'w1',
      limit: 10,
      now: options.now ?? T0,
      leaseMs: LEASE,
    })
  ).map((d) => `${d.event.userId.slice(-1)}:${d.event.type}`);

/** User 1 created, renamed and deleted; user 2 created: four events, fanned out to A and B. */
async function fourEvents(store: UserStore): Promise<number[]> {
  await store.create(newUser(1));
  await store.update(id(1), { name: 'renamed' }, { now: at(50) });
  await store.create(newUser(2));
  await store.remove(id(1), { now: at(60) });
  assert.equal(await store.outbox.fanOut({ endpoints: [A, B], now: T0, limit: 100 }), 4);
  return (await events(store)).map((e) => e.sequence);
}

export function outboxContract({ name, open }: Contract): void {
  test(`${name} outbox — when a user is created, updated and deleted, then each change has its event with the records before and after`, async (t) => {
    const store = await open(t);
    const created = await store.create(newUser(1, { email: 'a@example.com' }));
    const updated = await store.update(id(1), { name: 'renamed' }, { now: at(50) });
    const removed = await store.remove(id(1), { now: at(60) });
    const [c, u, d] = await events(store);
    assert.deepEqual(
      [c, u, d].map((e) => e?.type),
      ['user.created', 'user.updated', 'user.deleted'],
    );
    assert.deepEqual([c?.before, c?.after], [null, created]);
    assert.deepEqual([u?.before, u?.after], [created, updated]);
    assert.deepEqual([d?.before, d?.after], [removed, null]);
    assert.deepEqual(
      [c?.occurredAt, u?.occurredAt, d?.occurredAt],
      [created.createdAt, updated?.updatedAt, at(60)],
    );
    assert.ok(c && u && d && c.sequence < u.sequence && u.sequence < d.sequence);
    for (const event of [c, u, d]) {
      assert.match(event?.id ?? '', /^[0-9a-f]{24}$/);
      assert.equal(event?.userId, id(1));
    }
    assert.equal(new Set([c?.id, u?.id, d?.id]).size, 3);
  });

  test(`${name} outbox — when an update clears the e-mail, then its event carries both records in the API's key order, the address only before`, async (t) => {
    const store = await open(t);
    const created = await store.create(newUser(1, { email: 'a@example.com' }));
    const cleared = await store.update(id(1), { email: null }, { now: at(50) });
    const removed = await store.remove(id(1), { now: at(60) });
    const [, u, d] = await events(store);
    assert.deepEqual([u?.before, u?.after, d?.before], [created, cleared, removed]);
    assert.deepEqual(Object.keys(u?.before ?? {}), [
      'name',
      'email',
      'createdAt',
      'updatedAt',
      'id',
    ]);
    assert.deepEqual(Object.keys(u?.after ?? {}), ['name', 'createdAt', 'updatedAt', 'id']);
    assert.deepEqual(Object.keys(d?.before ?? {}), ['name', 'createdAt', 'updatedAt', 'id']);
  });

  test(`${name} outbox — when creates arrive together and two take one address, then each written user has one event and the other is EMAIL_TAKEN with none`, async (t) => {
    const store = await open(t);
    const outcomes = await Promise.allSettled([
      store.create(newUser(1)),
      store.create(newUser(2, { email: 'same@example.com' })),
      store.create(newUser(3)),
      store.create(newUser(4, { email: 'SAME@example.com' })),
      store.create(newUser(5, { email: 'other@example.com' })),
    ]);
    const written = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [id(i + 1)] : []));
    const refused = outcomes.flatMap((o) =>
      o.status === 'rejected' ? [(o.reason as { code?: string }).code] : [],
    );
    assert.deepEqual(refused, ['EMAIL_TAKEN']);
    assert.equal(written.length, 4);
    const created = (await events(store)).filter((e) => e.type === 'user.created');
    assert.deepEqual(created.map((e) => e.userId).sort(), written.sort());
    for (const userId of written) assert.ok(await store.get(userId));
  });

  test(`${name} outbox — when a change fails, then it leaves no event`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1, { email: 'taken@example.com' }));
    await rejectsWith(store.create(newUser(2, { email: 'TAKEN@example.com' })), 'EMAIL_TAKEN');
    await store.create(newUser(3));
    await rejectsWith(
      store.update(id(3), { email: 'taken@example.com' }, { now: at(9) }),
      'EMAIL_TAKEN',
    );
    await rejectsWith(
      store.update(id(3), { name: 'x' }, { now: at(9), ifUpdatedAt: at(1) }),
      'PRECONDITION_FAILED',
    );
    await rejectsWith(store.remove(id(3), { ifUpdatedAt: at(1) }), 'PRECONDITION_FAILED');
    assert.equal(await store.update(id(404), { name: 'x' }, { now: at(9) }), undefined);
    assert.equal(await store.remove(id(404)), undefined);
    assert.deepEqual(
      (await events(store)).map((e) => [e.type, e.userId]),
      [
        ['user.created', id(1)],
        ['user.created', id(3)],
      ],
    );
  });

  test(`${name} outbox — when users are imported, then created and replaced records have events and a dry run has none`, async (t) => {
    const store = await open(t);
    await store.create(newUser(1));
    await store.importMany([newUser(2)], { mode: 'newer', dryRun: true });
    assert.equal((await events(store)).length, 1);
    const newer = { ...newUser(1, { name: 'imported' }), updatedAt: at(99) };
    await store.importMany([newer, newUser(2)], { mode: 'newer' });
    const [, replaced, created] = await events(store);
    assert.equal(replaced?.type, 'user.updated');
    assert.equal(replaced?.after?.name, 'imported');
    assert.equal(replaced?.before?.name, 'user 1');
    assert.equal(created?.type, 'user.created');
    assert.equal(created?.userId, id(2));
  });

  test(`${name} outbox — when events are fanned out, then each endpoint gets one pending delivery per event, once`, async (t) => {
    const store = await open(t);
    await fourEvents(store);
    assert.equal(await store.outbox.fanOut({ endpoints: [A, B], now: T0, limit: 100 }), 0);
    const stats = await store.outbox.stats();
    assert.deepEqual(
      { ...stats, oldestWaitingAt: undefined },
      { unfannedEvents: 0, pendingDeliveries: 8, deadLetters: 0, oldestWaitingAt: undefined },
    );
    assert.equal(stats.oldestWaitingAt, at(1));
    for (const listing of await store.outbox.list({ limit: 10 })) {
      assert.deepEqual(
        listing.deliveries.map((d) => [d.endpoint, d.status, d.attempts]),
        [
          [A, 'pending', 0],
          [B, 'pending', 0],
        ],
      );
    }
  });

  test(`${name} outbox — when deliveries are claimed, then a user's next event waits until the earlier one is delivered`, async (t) => {
    const store = await open(t);
    const [first] = await fourEvents(store);
    assert.deepEqual(await claimed(store.outbox), ['1:user.created', '2:user.created']);
    assert.deepEqual(await claimed(store.outbox, { owner: 'w2' }), [], 'leased and ordered');
    assert.deepEqual(await claimed(store.outbox, { endpoint: B }), [
      '1:user.created',
      '2:user.created',
    ]);
    assert.ok(
      await store.outbox.complete({ endpoint: A, sequence: first! }, { owner: 'w1', now: T0 }),
    );
    assert.deepEqual(await claimed(store.outbox, { owner: 'w2' }), ['1:user.updated']);
  });

  test(`${name} outbox — when a lease expires, then another worker claims the delivery and the first can no longer settle it`, async (t) => {
    const store = await open(t);
    const [first] = await fourEvents(store);
    await claimed(store.outbox);
    assert.deepEqual(await claimed(store.outbox, { owner: 'w2', now: later(LEASE - 1) }), []);
    const [again] = await store.outbox.claim({
      endpoint: A,
      owner: 'w2',
      limit: 1,
      now: later(LEASE),
      leaseMs: LEASE,
    });
    assert.equal(again?.event.sequence, first);
    assert.equal(again?.attempts, 2);
    const key = { endpoint: A, sequence: first! };
    assert.equal(await store.outbox.complete(key, { owner: 'w1', now: later(LEASE) }), false);
    assert.equal(
      await store.outbox.fail(key, { owner: 'w1', error: 'late', retryAt: undefined }),
      false,
    );
    assert.ok(await store.outbox.complete(key, { owner: 'w2', now: later(LEASE) }));
  });

  test(`${name} outbox — when an attempt fails, then the delivery is due again at retryAt, and a dead letter no longer holds the user back`, async (t) => {
    const store = await open(t);
    const [first] = await fourEvents(store);
    await claimed(store.outbox);
    const key = { endpoint: A, sequence: first! };
    assert.ok(
      await store.outbox.fail(key, { owner: 'w1', error: 'HTTP 500', retryAt: later(5000) }),
    );
    assert.deepEqual(await claimed(store.outbox, { now: later(4999) }), []);
    assert.deepEqual(await claimed(store.outbox, { now: later(5000) }), ['1:user.created']);
    assert.ok(await store.outbox.fail(key, { owner: 'w1', error: 'HTTP 500', retryAt: undefined }));
    const dead = await store.outbox.list({ status: 'dead', limit: 10 });
    assert.deepEqual(
      dead.map((l) => l.event.sequence),
      [first],
    );
    assert.deepEqual(
      dead[0]?.deliveries.map((d) => [d.endpoint, d.status, d.attempts, d.lastError]),
      [
        [A, 'dead', 2, 'HTTP 500'],
        [B, 'pending', 0, undefined],
      ],
    );
    assert.equal((await store.outbox.stats()).deadLetters, 1);
    assert.deepEqual(await claimed(store.outbox, { now: later(6000) }), ['1:user.updated']);
  });

  test(`${name} outbox — when dead letters are redelivered, then they are pending again with a fresh budget`, async (t) => {
    const store = await open(t);
    const [first, second] = await fourEvents(store);
    for (const sequence of [first!, second!]) {
      await store.outbox.claim({ endpoint: A, owner: 'w1', limit: 1, now: T0, leaseMs: LEASE });
      await store.outbox.fail(
        { endpoint: A, sequence },
        { owner: 'w1', error: 'x', retryAt: undefined },
      );
    }
    assert.equal(await store.outbox.redeliver({ endpoint: B, now: later(1) }), 0);
    assert.equal(await store.outbox.redeliver({ sequence: first, now: later(1) }), 1);
    const [listing] = await store.outbox.list({ endpoint: A, limit: 1 });
    assert.deepEqual(
      listing?.deliveries.map((d) => [d.status, d.attempts, d.pendingSince]),
      [['pending', 0, later(1)]],
    );
    assert.equal(await store.outbox.redeliver({ now: later(2) }), 1);
    assert.equal((await store.outbox.stats()).deadLetters, 0);
  });

  test(`${name} outbox — when events are listed with filters, then only matching events and deliveries return`, async (t) => {
    const store = await open(t);
    const [first] = await fourEvents(store);
    const types = async (filter: Parameters<Outbox['list']>[0]) =>
      (await store.outbox.list(filter)).map((l) => `${l.event.userId.slice(-1)}:${l.event.type}`);
    assert.deepEqual(await types({ type: 'user.created', limit: 10 }), [
      '1:user.created',
      '2:user.created',
    ]);
    assert.deepEqual(await types({ userId: id(2), limit: 10 }), ['2:user.created']);
    assert.deepEqual(await types({ afterSequence: first, limit: 1 }), ['1:user.updated']);
    assert.deepEqual(await types({ status: 'delivered', limit: 10 }), []);
    const [one] = await store.outbox.list({ endpoint: B, limit: 1 });
    assert.deepEqual(
      one?.deliveries.map((d) => d.endpoint),
      [B],
    );
  });

  test(`${name} outbox — when the outbox is purged, then only old events settled for every endpoint in use go`, async (t) => {
    const store = await open(t);
    const [first, second, third] = await fourEvents(store);
    for (const endpoint of [A, B]) {
      for (const sequence of [first!, second!]) {
        await store.outbox.claim({ endpoint, owner: 'w1', limit: 1, now: T0, leaseMs: LEASE });
        await store.outbox.complete({ endpoint, sequence }, { owner: 'w1', now: T0 });
      }
    }
    for (const endpoint of [A, B])
      await store.outbox.claim({ endpoint, owner: 'w1', limit: 10, now: T0, leaseMs: LEASE });
    await store.outbox.fail(
      { endpoint: A, sequence: third! },
      { owner: 'w1', error: 'x', retryAt: undefined },
    );
    await store.outbox.complete({ endpoint: B, sequence: third! }, { owner: 'w1', now: T0 });
    await store.create(newUser(5));
    const purge = (before: string, endpoints: string[]) =>
      store.outbox.purge({ before, endpoints, batchSize: 1 });
    assert.equal(await purge(at(2), [A, B]), 1, 'only the first is older than at(2)');
    assert.equal(await purge(T0, [A, B]), 1, 'the second; dead, pending and unfanned stay');
    assert.deepEqual((await events(store)).length, 3);
    assert.equal(await purge(T0, [B]), 1, 'A no longer in use: its dead letter holds nothing back');
    assert.equal(await purge(T0, []), 2, 'with no endpoint, every old event goes');
    const left = await store.outbox.stats();
    assert.deepEqual(
      [left.pendingDeliveries, left.deadLetters],
      [0, 0],
      'no delivery outlives its event, the dead letter to A included',
    );
  });

  test(`${name} clock ticks — when two clocks claim one tick of a job, then only the first gets it`, async (t) => {
    const store = await open(t);
    const claim = (job: string, tick: string, owner: string) =>
      store.ticks.claim({ job, tick, owner, now: T0 });
    assert.equal(await claim('purge', T0, 'clock-a'), true);
    assert.equal(await claim('purge', T0, 'clock-b'), false);
    assert.equal(await claim('purge', later(60_000), 'clock-b'), true);
    assert.equal(await claim('report', T0, 'clock-b'), true);
    await store.outbox.purge({ before: later(1), endpoints: [], batchSize: 10 });
    assert.equal(await claim('purge', T0, 'clock-a'), false, 'the outbox purge leaves ticks alone');
    await store.ticks.purge(later(1));
    assert.equal(await claim('purge', T0, 'clock-a'), true, 'purged');
  });
}
