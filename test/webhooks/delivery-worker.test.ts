import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { Registry } from 'prom-client';
import { DeliveryWorker } from '../../src/webhooks/delivery-worker.ts';
import { DeliveryMetrics, OutboxGauges } from '../../src/webhooks/outbox-metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { createStore } from '../../src/store/index.ts';
import { UserService } from '../../src/users/user-service.ts';
import type { Outbox } from '../../src/users/outbox.ts';
import type { UserStore } from '../../src/users/user-store.ts';
import { TEST_WEBHOOK_SECRET, WebhookReceiver, outOfOrder } from '../support/webhook-receiver.ts';

interface Setup {
  store: UserStore;
  users: UserService;
  receiver: WebhookReceiver;
  registry: Registry;
  logs: Record<string, unknown>[];
  worker: (overrides?: WorkerOverrides) => DeliveryWorker;
}

interface WorkerOverrides {
  maxAttempts?: number;
  concurrency?: number;
  leaseMs?: number;
  pollMs?: number;
  now?: () => Date;
  outbox?: Outbox;
  urls?: string[];
  ping?: () => Promise<void>;
}

async function setup(t: TestContext): Promise<Setup> {
  const store = await createStore({
    url: 'sqlite::memory:',
    poolMax: 1,
    connectTimeoutMs: 1000,
    statementTimeoutMs: 5000,
  });
  await store.migrate();
  const receiver = await new WebhookReceiver().start();
  const registry = new Registry();
  const metrics = new DeliveryMetrics(registry);
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    pretty: false,
    destination: new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
        done();
      },
    }),
  });
  const workers: DeliveryWorker[] = [];
  t.after(async () => {
    receiver.release();
    await Promise.all(workers.map((w) => w.stop()));
    await receiver.stop();
    await store.close();
  });
  return {
    store,
    users: new UserService({ store }),
    receiver,
    registry,
    logs,
    worker(overrides = {}) {
      const worker = new DeliveryWorker({
        outbox: overrides.outbox ?? store.outbox,
        ping: overrides.ping ?? (() => store.ping()),
        webhooks: {
          urls: overrides.urls ?? [receiver.url('/a'), receiver.url('/b')],
          secrets: [TEST_WEBHOOK_SECRET],
          timeoutMs: 2000,
          maxAttempts: overrides.maxAttempts ?? 10,
          maxAgeMs: 60_000,
          retryBaseMs: 10,
          retryMaxMs: 50,
        },
        worker: {
          port: 0,
          concurrency: overrides.concurrency ?? 4,
          leaseMs: overrides.leaseMs ?? 5000,
          pollMs: overrides.pollMs ?? 20,
        },
        logger,
        metrics,
        ...(overrides.now && { now: overrides.now }),
      });
      workers.push(worker);
      worker.start();
      return worker;
    },
  };
}

test('delivery worker — when users change, then every URL receives each event once, signed, in order per user', async (t) => {
  const { users, receiver, worker } = await setup(t);
  worker();
  for (let i = 0; i < 10; i++) {
    const user = await users.create({ name: `user ${i}` });
    await users.update(user.id, { name: `renamed ${i}` });
    if (i % 2 === 0) await users.remove(user.id);
  }
  await receiver.waitFor(() => receiver.accepted().length === 50, 10_000);
  for (const path of ['/a', '/b']) {
    const accepted = receiver.accepted(path);
    assert.equal(new Set(accepted.map((r) => r.id)).size, 25);
    assert.deepEqual(outOfOrder(accepted), []);
  }
  receiver.verifyAll();
});

test('delivery worker — when a URL fails for a while, then its events are retried until accepted, and the other URL is not held back', async (t) => {
  const { users, receiver, worker, store } = await setup(t);
  let failures = 6;
  receiver.behaviour = (r) => (r.path === '/a' && failures-- > 0 ? 503 : 200);
  worker();
  const user = await users.create({ name: 'retried' });
  await users.update(user.id, { name: 'twice' });
  await receiver.waitFor(() => receiver.accepted().length === 4, 10_000);
  const a = receiver.accepted('/a');
  assert.deepEqual(
    a.map((r) => r.type),
    ['user.created', 'user.updated'],
  );
  const [listing] = await store.outbox.list({ limit: 1 });
  const attempts = Object.fromEntries(
    listing!.deliveries.map((d) => [d.endpoint.slice(-2), d.attempts]),
  );
  assert.deepEqual(attempts, { '/a': 7, '/b': 1 });
  assert.equal(listing!.deliveries[0]?.status, 'delivered');
});

test('delivery worker — when a URL keeps failing past the attempt limit, then the event is a dead letter and the user’s next event still goes', async (t) => {
  const { users, receiver, worker, store, registry } = await setup(t);
  receiver.behaviour = (r) => (r.path === '/a' && r.type === 'user.created' ? 500 : 204);
  worker({ maxAttempts: 3 });
  const user = await users.create({ name: 'doomed' });
  await users.update(user.id, { name: 'next' });
  await receiver.waitFor(() => receiver.accepted('/a').length === 1, 10_000);
  assert.equal(receiver.accepted('/a')[0]?.type, 'user.updated');
  const dead = await store.outbox.list({ status: 'dead', limit: 10 });
  assert.equal(dead.length, 1);
  assert.match(dead[0]?.deliveries[0]?.lastError ?? '', /^HTTP 500/);
  new OutboxGauges(registry, { source: () => store.outbox.stats() });
  const text = await registry.metrics();
  assert.match(text, /outbox_dead_letters 1/);
  assert.match(
    text,
    /webhook_deliveries_total\{endpoint="http:\/\/127\.0\.0\.1:\d+\/a",outcome="dead"\} 1/,
  );
  assert.match(
    text,
    /webhook_deliveries_total\{endpoint="http:\/\/127\.0\.0\.1:\d+\/a",outcome="retry"\} 2/,
  );
});

test('delivery worker — when outcomes wait for the store, then the next users’ webhooks go meanwhile, up to twice the concurrency unrecorded, and a user’s next event waits for its last', async (t) => {
  const { store, users, receiver, worker } = await setup(t);
  // Recording an outcome waits until the test lets it, as it waits for a busy store's lock.
  let gate!: () => void;
  let opened = new Promise<void>((resolve) => (gate = resolve));
  let recording = 0;
  const slow: Outbox = Object.assign(Object.create(store.outbox) as Outbox, {
    complete: async (...args: Parameters<Outbox['complete']>) => {
      recording++;
      await opened;
      return store.outbox.complete(...args);
    },
  });
  const first = await users.create({ name: 'first' });
  await users.update(first.id, { name: 'first, renamed' });
  await users.create({ name: 'second' });
  await users.create({ name: 'third' });
  worker({ concurrency: 1, outbox: slow, urls: [receiver.url('/a')] });
  try {
    // One webhook in flight at a time, but not held back by the outcome before it: two users'.
    await receiver.waitFor(() => receiver.accepted().length === 2, 5000);
    await sleep(300);
    assert.equal(recording, 2, 'two outcomes waiting to be recorded');
    assert.deepEqual(
      receiver.accepted().map((r) => r.type),
      ['user.created', 'user.created'],
      'nothing more claimed while two outcomes wait, nor the first user’s next event',
    );
  } finally {
    // Recording resumes, whatever the assertions found: the worker must stop.
    opened = Promise.resolve();
    gate();
  }
  await receiver.waitFor(() => receiver.accepted().length === 4, 5000);
  assert.deepEqual(outOfOrder(receiver.accepted()), []);
  const statuses = async () =>
    (await store.outbox.list({ limit: 10 })).flatMap((l) => l.deliveries.map((d) => d.status));
  for (let i = 0; i < 100 && (await statuses()).some((s) => s !== 'delivered'); i++)
    await sleep(20);
  assert.deepEqual(await statuses(), ['delivered', 'delivered', 'delivered', 'delivered']);
});

/** Deliveries of one URL as `status attempts`, in event order. */
async function deliveryStates(store: UserStore): Promise<string[]> {
  const listed = await store.outbox.list({ limit: 100 });
  return listed
    .sort((a, b) => a.event.sequence - b.event.sequence)
    .flatMap((l) => l.deliveries.map((d) => `${d.status} ${d.attempts}`));
}

test('delivery worker — when every slot is taken and the lease outlasts three timeouts, then a claim takes as many again, which go as slots free, in order per user', async (t) => {
  const { store, users, receiver, worker } = await setup(t);
  receiver.behaviour = () => 'hold';
  const first = await users.create({ name: 'first' });
  await users.update(first.id, { name: 'first, renamed' });
  await users.create({ name: 'second' });
  await users.create({ name: 'third' });
  // Lease 6 s, timeout 2 s: the look-ahead is on.
  worker({ concurrency: 1, leaseMs: 6000, urls: [receiver.url('/a')] });
  await receiver.waitFor(() => receiver.receipts.length === 1, 5000);
  await sleep(200);
  // One in flight, one waiting (the second user's; the first user's next waits for its last),
  // the third user's not claimed.
  assert.deepEqual(await deliveryStates(store), [
    'pending 1',
    'pending 0',
    'pending 1',
    'pending 0',
  ]);
  assert.equal(receiver.receipts.length, 1, 'one webhook in flight');
  receiver.behaviour = () => 204;
  receiver.release();
  await receiver.waitFor(() => receiver.accepted().length === 4, 5000);
  assert.deepEqual(outOfOrder(receiver.accepted()), []);
  for (let i = 0; i < 100 && (await deliveryStates(store)).some((s) => s !== 'delivered 1'); i++)
    await sleep(20);
  assert.deepEqual(await deliveryStates(store), Array(4).fill('delivered 1'));
});

test('delivery worker — when stopped with claimed webhooks waiting for a slot, then it sends them before it exits', async (t) => {
  const { store, users, receiver, worker } = await setup(t);
  receiver.behaviour = () => 'hold';
  await users.create({ name: 'first' });
  await users.create({ name: 'second' });
  await users.create({ name: 'third' });
  const running = worker({ concurrency: 1, leaseMs: 6000, urls: [receiver.url('/a')] });
  await receiver.waitFor(() => receiver.receipts.length === 1, 5000);
  await sleep(200);
  receiver.behaviour = () => 204;
  const stopped = running.stop();
  setTimeout(() => receiver.release(), 100);
  await stopped;
  assert.equal(receiver.accepted().length, 2, 'the one in flight and the one waiting');
  assert.deepEqual(await deliveryStates(store), ['delivered 1', 'delivered 1', 'pending 0']);
});

test('delivery worker — when a claimed webhook waited for a slot until its lease could not outlast an attempt, then it is not sent, and a claim after the lease sends it', async (t) => {
  const { store, users, receiver, worker, logs } = await setup(t);
  receiver.behaviour = () => 'hold';
  let offset = 0;
  await users.create({ name: 'first' });
  await users.create({ name: 'second' });
  worker({
    concurrency: 1,
    leaseMs: 6000,
    urls: [receiver.url('/a')],
    now: () => new Date(Date.now() + offset),
  });
  await receiver.waitFor(() => receiver.receipts.length === 1, 5000);
  await sleep(200);
  // 3 s later the waiting lease has 3 s left: less than an attempt (2 s) and its recording.
  offset = 3000;
  receiver.behaviour = () => 204;
  receiver.release();
  await sleep(300);
  assert.equal(receiver.receipts.length, 1, 'the waiting webhook was not sent');
  assert.ok(logs.some((l) => String(l.msg).includes('waited too long for a slot')));
  assert.deepEqual(await deliveryStates(store), ['delivered 1', 'pending 1']);
  // Once its lease has run out, a claim takes it again.
  offset = 7000;
  await receiver.waitFor(() => receiver.accepted().length === 2, 5000);
  for (let i = 0; i < 100 && (await deliveryStates(store))[1] !== 'delivered 2'; i++)
    await sleep(20);
  assert.deepEqual(await deliveryStates(store), ['delivered 1', 'delivered 2']);
});

test('delivery worker — when stopped mid-delivery, then it finishes the webhook in flight and claims nothing more', async (t) => {
  const { users, receiver, worker, store } = await setup(t);
  receiver.behaviour = () => 'hold';
  const running = worker({ concurrency: 1 });
  await users.create({ name: 'first' });
  await users.create({ name: 'second' });
  await receiver.waitFor(() => receiver.receipts.length === 2, 5000);
  // The second event may be written after the first webhooks left: wait until it is fanned out,
  // so the stop finds one delivery in flight per URL and one held back behind each.
  for (let tries = 0; tries < 100; tries++) {
    const listed = await store.outbox.list({ limit: 10 });
    if (listed.flatMap((l) => l.deliveries).length === 4) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const stopped = running.stop();
  setTimeout(() => receiver.release(200), 100);
  await stopped;
  const settled = (await store.outbox.list({ limit: 10 })).flatMap((l) => l.deliveries);
  assert.deepEqual(settled.map((d) => d.status).sort(), [
    'delivered',
    'delivered',
    'pending',
    'pending',
  ]);
  assert.equal(receiver.receipts.length, 2, 'nothing claimed after stop');
});

test('delivery worker — when the outbox signals new events, then an idle worker delivers them without waiting for its poll', async (t) => {
  const { store, users, receiver, worker } = await setup(t);
  let wake: (() => void) | undefined;
  const watched: Outbox = Object.assign(Object.create(store.outbox) as Outbox, {
    watch: async (onEvents: () => void) => {
      wake = onEvents;
      return async () => undefined;
    },
  });
  // A poll far longer than the wait below: only the signal can bring the events in time.
  const running = worker({ pollMs: 60_000, outbox: watched });
  while (!running.ready) await new Promise((resolve) => setTimeout(resolve, 10));
  await users.create({ name: 'signalled' });
  assert.ok(wake, 'the worker watches the outbox');
  wake();
  await receiver.waitFor(() => receiver.accepted().length === 2, 5000);
});

test('delivery worker — when no URL is configured, then it is ready while the store answers and keeps every event in the outbox', async (t) => {
  const { users, store, worker } = await setup(t);
  let storeUp = true;
  const running = worker({
    urls: [],
    ping: () => (storeUp ? store.ping() : Promise.reject(new Error('store down'))),
  });
  const until = async (ready: boolean) => {
    for (let i = 0; i < 200 && running.ready !== ready; i++) await sleep(10);
    return running.ready;
  };
  assert.equal(await until(true), true, 'ready with nothing to deliver');
  await users.create({ name: 'kept' });
  storeUp = false;
  assert.equal(await until(false), false, 'not ready once the store stops answering');
  storeUp = true;
  assert.equal(await until(true), true, 'ready again');
  const [listing] = await store.outbox.list({ limit: 10 });
  assert.deepEqual(listing?.deliveries, [], 'not fanned out to anyone');
  assert.equal((await store.outbox.stats()).unfannedEvents, 1);
});

test('delivery worker — when an outbox that cannot signal just had events, then the next ones are looked for soon, and an idle worker is back to its poll', async (t) => {
  const { store, users, receiver, worker } = await setup(t);
  let turns = 0;
  const counted: Outbox = Object.assign(Object.create(store.outbox) as Outbox, {
    fanOut: (options: Parameters<Outbox['fanOut']>[0]) => {
      turns++;
      return store.outbox.fanOut(options);
    },
  });
  await users.create({ name: 'first' });
  // A poll far longer than the waits below: the first change is found by the first turn, the
  // second only because a worker that just found work looks again soon.
  worker({ pollMs: 60_000, outbox: counted, urls: [receiver.url('/a')] });
  await receiver.waitFor(() => receiver.accepted().length === 1, 5000);
  // Recorded delivered, and the loop back to waiting: nothing in flight will wake it.
  const delivered = async () =>
    (await store.outbox.list({ limit: 10 }))[0]?.deliveries[0]?.status === 'delivered';
  while (!(await delivered())) await sleep(10);
  await sleep(100);
  await users.create({ name: 'second' });
  await receiver.waitFor(() => receiver.accepted().length === 2, 5000);
  // Quiet from here on: the waits double towards the poll, so turns soon all but stop.
  await sleep(1500);
  const before = turns;
  await sleep(1500);
  assert.ok(turns - before <= 3, `${turns - before} turns in 1.5 s of quiet`);
});
