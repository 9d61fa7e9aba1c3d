import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebhookReceiver, outOfOrder } from '../support/webhook-receiver.ts';
import {
  counts,
  eventIds,
  eventStores,
  makeChanges,
  startWorker,
  workerEnv,
} from './worker-support.ts';

async function receiver(t: { after: (fn: () => Promise<void>) => void }) {
  const started = await new WebhookReceiver().start();
  t.after(async () => {
    started.release();
    await started.stop();
  });
  return started;
}

const metric = async (port: number, pattern: RegExp) => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
};

for (const [kind, open] of await eventStores()) {
  test(`worker (${kind}) — when 1,000 changes meet two workers, then every URL gets every event exactly once, signed, in order per user`, async (t) => {
    const { store, users, url } = await open(t);
    const hooks = await receiver(t);
    const urls = [hooks.url('/a'), hooks.url('/b')];
    // Nobody dies here, so neither a lease nor an attempt may lapse, however loaded the machine
    // (a timed-out attempt the receiver did answer is a legitimate duplicate).
    const env = workerEnv(url, urls, { WORKER_LEASE_MS: '60000', WEBHOOK_TIMEOUT_MS: '20000' });
    const workers = [await startWorker(t, env), await startWorker(t, env)];
    const started = performance.now();
    assert.equal(await makeChanges(users, 250), 1000);
    const unique = (path: string) => new Set(hooks.accepted(path).map((r) => r.id)).size;
    await hooks.waitFor(() => unique('/a') === 1000 && unique('/b') === 1000, 60_000);
    const seconds = (performance.now() - started) / 1000;
    const ids = await eventIds(store);
    assert.equal(ids.size, 1000);
    for (const path of ['/a', '/b']) {
      const accepted = hooks.accepted(path);
      const seen = counts(accepted.map((r) => r.id));
      assert.deepEqual([...seen.keys()].sort(), [...ids].sort(), `${path}: none lost`);
      assert.deepEqual(
        [...seen.values()].filter((n) => n > 1),
        [],
        `${path}: no duplicate`,
      );
      assert.deepEqual(outOfOrder(accepted), [], `${path}: per-user order`);
    }
    hooks.verifyAll();
    const perWorker = await Promise.all(
      workers.map((w) =>
        metric(w.opsPort, /webhook_deliveries_total\{[^}]*outcome="delivered"\} (\d+)/g),
      ),
    );
    assert.equal(perWorker[0]! + perWorker[1]!, 2000);
    assert.ok(
      perWorker.every((n) => n > 0),
      `both workers delivered: ${perWorker.join(', ')}`,
    );
    t.diagnostic(`${kind}: 2,000 deliveries in ${seconds.toFixed(1)} s with two workers`);
    for (const w of workers) w.child.kill('SIGTERM');
    for (const w of workers) assert.deepEqual(await w.exited, { code: 0, signal: null });
  });

  test(`worker (${kind}) — when the receiver is down for a while, then everything arrives once it is back, in order per user`, async (t) => {
    const { store, users, url } = await open(t);
    const hooks = await receiver(t);
    await hooks.stop();
    await startWorker(t, workerEnv(url, [hooks.url()]));
    await makeChanges(users, 25);
    // Long enough for several refused attempts per head-of-line event.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const waiting = (await store.outbox.list({ status: 'pending', limit: 200 })).flatMap(
      (l) => l.deliveries,
    );
    // The refused connection is the stored reason: what an operator reads in `admin events list`.
    assert.ok(waiting.some((d) => d.attempts > 1 && /ECONNREFUSED/.test(d.lastError ?? '')));
    await hooks.start();
    await hooks.waitFor(() => new Set(hooks.accepted().map((r) => r.id)).size === 100, 30_000);
    assert.deepEqual(outOfOrder(hooks.accepted()), []);
    const stats = await store.outbox.stats();
    assert.equal(stats.deadLetters, 0);
  });

  test(`worker (${kind}) — when a worker is SIGKILLed mid-delivery, then another delivers its events after the lease, repeating only those`, async (t) => {
    const { users, url } = await open(t);
    const hooks = await receiver(t);
    let killed = false;
    hooks.behaviour = () => (killed ? 204 : 'hold');
    const env = workerEnv(url, [hooks.url()], { WORKER_CONCURRENCY: '4' });
    const doomed = await startWorker(t, env);
    // No event exists before this instant, so none was claimed before it: each lease of the
    // killed worker ends 2 s (WORKER_LEASE_MS) after it at the earliest. Timing the lease from
    // the kill instead failed on a loaded machine, where the claims came well before the kill.
    const beforeEvents = Date.now();
    for (let i = 0; i < 20; i++) await users.create({ name: `user ${i}` });
    await hooks.waitFor(() => hooks.receipts.length === 4, 10_000);
    const inFlight = new Set(hooks.receipts.map((r) => r.id));
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    killed = true;
    const leasesEndNoEarlier = beforeEvents + 2000;
    await startWorker(t, env);
    await hooks.waitFor(() => new Set(hooks.accepted().map((r) => r.id)).size === 20, 20_000);
    const repeated = [...counts(hooks.receipts.map((r) => r.id))]
      .filter(([, n]) => n > 1)
      .map(([id]) => id);
    assert.deepEqual(
      repeated.sort(),
      [...inFlight].sort(),
      'only the killed worker’s events repeat',
    );
    for (const id of inFlight) {
      const retry = hooks.accepted().find((r) => r.id === id);
      assert.ok(retry && retry.receivedAt >= leasesEndNoEarlier, 'repeated after the lease ended');
    }
    hooks.verifyAll();
  });

  test(`worker (${kind}) — when SIGTERM arrives mid-delivery, then the webhook in flight completes and the worker exits 0`, async (t) => {
    const { store, users, url } = await open(t);
    const hooks = await receiver(t);
    hooks.behaviour = () => 'hold';
    const worker = await startWorker(t, workerEnv(url, [hooks.url()], { WORKER_CONCURRENCY: '1' }));
    const user = await users.create({ name: 'in flight' });
    await users.update(user.id, { name: 'not yet claimed' });
    await hooks.waitFor(() => hooks.receipts.length === 1, 10_000);
    // The update may commit after the first webhook left: wait until the worker has fanned it
    // out, so the signal finds one delivery in flight and one held back behind it.
    for (let tries = 0; tries < 200; tries++) {
      const listed = await store.outbox.list({ limit: 10 });
      if (listed.length === 2 && listed[1]!.deliveries.length === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    worker.child.kill('SIGTERM');
    await worker.waitForLine((l) => l.msg === 'shutdown started');
    setTimeout(() => hooks.release(200), 200);
    assert.deepEqual(await worker.exited, { code: 0, signal: null });
    assert.equal(hooks.receipts.length, 1);
    const deliveries = (await store.outbox.list({ limit: 10 })).map((l) => l.deliveries[0]?.status);
    assert.deepEqual(deliveries, ['delivered', 'pending']);
  });
}
