import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Redis } from 'ioredis';
import { buildTestApp, type TestAppOptions } from '../support/app.ts';
import { TEST_REDIS_URL, redisAvailable, redisNamespace } from '../support/redis.ts';
import type { UserStore } from '../../src/users/user-store.ts';

async function appWith(t: TestContext, options: TestAppOptions) {
  const app = await buildTestApp(options);
  t.after(() => app.close());
  return app;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('rate limit — when a client goes over the limit, then 429 with Retry-After and RateLimit headers, probes exempt, nothing written', async (t) => {
  const { app } = await appWith(t, { limits: { rateLimit: { max: 3, windowMs: 60_000 } } });
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'GET', url: '/user' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['ratelimit-limit'], '3');
    assert.equal(res.headers['ratelimit-remaining'], String(2 - i));
  }
  const refused = await app.inject({ method: 'POST', url: '/user?name=flood' });
  assert.equal(refused.statusCode, 429);
  assert.equal(refused.json().code, 'RATE_LIMITED');
  assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.ok(
    Number(refused.headers['retry-after']) > 0 && Number(refused.headers['retry-after']) <= 60,
  );
  assert.equal(refused.headers['ratelimit-remaining'], '0');
  for (const url of ['/healthz', '/readyz', '/metrics', '/version']) {
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
  }
  // Another client has its own budget.
  const other = await app.inject({ method: 'GET', url: '/user', remoteAddress: '10.0.0.7' });
  assert.equal(other.statusCode, 200);
  assert.deepEqual(other.json(), [], 'the refused create stored nothing');
});

test('rate limit — when a client scans unknown routes, then those requests count and end in 429', async (t) => {
  const { app } = await appWith(t, { limits: { rateLimit: { max: 3, windowMs: 60_000 } } });
  const statuses = [];
  for (let i = 0; i < 5; i++) {
    statuses.push((await app.inject({ method: 'GET', url: `/scan-${i}` })).statusCode);
  }
  assert.deepEqual(statuses, [404, 404, 404, 429, 429]);
  const refused = await app.inject({ method: 'GET', url: '/user' });
  assert.equal(refused.statusCode, 429, 'the scan spent the same budget as the API');
  assert.equal(refused.json().code, 'RATE_LIMITED');
});

test('rate limit — when TRUST_PROXY lists the proxy, then a client rotating X-Forwarded-For is still limited by the address the proxy appended', async (t) => {
  const { app } = await appWith(t, {
    trustProxy: ['127.0.0.1'],
    limits: { rateLimit: { max: 3, windowMs: 60_000 } },
  });
  const statuses = [];
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({
      method: 'GET',
      url: '/user',
      // The client wrote the first entry; the proxy at 127.0.0.1 appended the address it saw.
      headers: { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.9` },
    });
    statuses.push(res.statusCode);
  }
  assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  const neighbour = await app.inject({
    method: 'GET',
    url: '/user',
    headers: { 'x-forwarded-for': '203.0.113.10' },
  });
  assert.equal(neighbour.statusCode, 200, 'another client behind the proxy has its own budget');
  const direct = await app.inject({
    method: 'GET',
    url: '/user',
    remoteAddress: '192.0.2.50',
    headers: { 'x-forwarded-for': '203.0.113.77' },
  });
  assert.equal(direct.statusCode, 200);
  assert.equal(direct.headers['ratelimit-remaining'], '2', 'a direct client is keyed on its peer');
});

test('rate limit — when TRUST_PROXY is true, then the client-written left-most entry is the key (why the README advises addresses)', async (t) => {
  const { app } = await appWith(t, {
    trustProxy: true,
    limits: { rateLimit: { max: 1, windowMs: 60_000 } },
  });
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({
      method: 'GET',
      url: '/user',
      headers: { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.9` },
    });
    assert.equal(res.statusCode, 200);
  }
});

const redisUp = await redisAvailable();
if (redisUp) {
  test('rate limit — when two processes share Redis, then a client’s budget is shared between them', async (t) => {
    const namespace = redisNamespace();
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    t.after(async () => {
      await namespace.clean(redis);
      redis.disconnect();
    });
    // Until the client is connected the limiter counts per process, by design.
    await redis.ping();
    // Every count from Redis, however busy the machine: past the default 10 ms wait a request
    // would be counted by its own process, and the budget split.
    const limits = {
      rateLimit: { max: 4, windowMs: 60_000 },
      redis,
      namespace: namespace.prefix,
      redisWaitMs: 5000,
    };
    const a = await appWith(t, { limits });
    const b = await appWith(t, { limits });
    const statuses = [];
    for (const app of [a, b, a, b, a, b]) {
      statuses.push((await app.app.inject({ method: 'GET', url: '/user' })).statusCode);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    assert.ok((await redis.keys(`${namespace.prefix}*`)).length > 0, 'the counter lives in Redis');
  });
}

test('rate limit — when Redis is unreachable, then requests are limited per process instead of passing', async (t) => {
  const redis = new Redis('redis://127.0.0.1:1', {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  t.after(() => redis.disconnect());
  const { app } = await appWith(t, { limits: { rateLimit: { max: 1, windowMs: 60_000 }, redis } });
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    statuses.push((await app.inject({ method: 'GET', url: '/user' })).statusCode);
  }
  assert.deepEqual(statuses, [200, 429, 429]);
});

/** The real store, with one operation made slow. */
function slow(operation: 'get' | 'create', delayMs: number) {
  return (store: UserStore): UserStore =>
    new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key !== operation || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          await sleep(delayMs);
          return value.apply(target, args);
        };
      },
    });
}

test('response timeout — when the store is slower than RESPONSE_TIMEOUT_MS, then 503 RESPONSE_TIMEOUT in time, not a hung request', async (t) => {
  const { app, logs } = await appWith(t, { responseTimeoutMs: 300, wrapStore: slow('get', 1500) });
  const created = await app.inject({ method: 'POST', url: '/user?name=slow' });
  assert.equal(created.statusCode, 201);
  const started = performance.now();
  const res = await app.inject({ method: 'GET', url: `/user/${created.json().id}` });
  const elapsed = performance.now() - started;
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'RESPONSE_TIMEOUT');
  assert.equal(res.headers['retry-after'], '5');
  assert.ok(elapsed < 1000, `answered after ${Math.round(elapsed)} ms`);
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  await sleep(1300);
  const complaints = logs.filter((l) => l.level === 'error' && l.msg !== 'request completed');
  assert.deepEqual(complaints, [], 'the late answer is dropped quietly');
});

test('response timeout — when a request with a body waits on a slow store, then it too is answered 503 RESPONSE_TIMEOUT in time', async (t) => {
  // Over a real connection: Node emits a request's 'close' once its body has been read, which a
  // per-request timer cancelled on, as if the client were gone.
  const { app } = await appWith(t, { responseTimeoutMs: 300, wrapStore: slow('create', 1500) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/user`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'slow write' }),
  });
  const elapsed = performance.now() - started;
  assert.equal(res.status, 503);
  assert.equal(((await res.json()) as { code: string }).code, 'RESPONSE_TIMEOUT');
  assert.ok(elapsed < 1000, `answered after ${Math.round(elapsed)} ms`);
});

test('requests in flight — when answers finish or their clients drop, then the gauge counts only those still being answered', async (t) => {
  const { app } = await appWith(t, { wrapStore: slow('get', 400) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  const inFlight = async () =>
    Number(
      /^http_requests_in_flight (\d+)/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1],
    );
  const read = (id: string) => http.get(`${base}/user/${id}`, { agent: false });
  const answered = new Promise<number>((resolve) =>
    read('ffffffffffffffffffffffff').on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    }),
  );
  const dropped = read('eeeeeeeeeeeeeeeeeeeeeeee').on('error', () => undefined);
  await sleep(150);
  assert.equal(await inFlight(), 3, 'both reads, and the scrape itself');
  dropped.destroy();
  assert.equal(await answered, 404);
  await sleep(500);
  assert.equal(await inFlight(), 1, 'only the scrape');
});

/** What @fastify/under-pressure decorates the app with. */
type Pressure = { memoryUsage(): { eventLoopDelay: number } };

test('load shedding — when the event loop lags, then user routes answer 503 OVERLOADED and probes still 200', async (t) => {
  const { app } = await appWith(t, {
    limits: { maxEventLoopDelayMs: 50, sampleIntervalMs: 200 },
  });
  // Not shedding once settled. The first samples may still hold the lag of building the app, and
  // on a busy machine a sample may catch another process's stall: ask until answered, bounded.
  const answersOnceSettled = async () => {
    let status = 0;
    for (const deadline = Date.now() + 10_000; status !== 200 && Date.now() < deadline;) {
      await sleep(250);
      status = (await app.inject({ method: 'GET', url: '/user' })).statusCode;
    }
    return status;
  };
  assert.equal(await answersOnceSettled(), 200, 'answered once the event loop settled');
  // A CPU-bound stall, as a runaway request would cause. The plugin sheds on the mean of a
  // sample's timer delays (10 ms apart, less 10 ms): a 200 ms sample holds up to 20 on-time ticks
  // beside the stall, so the stall must be long enough to lift the mean past 50 ms wherever it
  // falls in the sample: (1500 + 20 × 10) / 21 − 10 ≈ 71 ms. A 600 ms stall shed only when it
  // began early in a sample.
  const until = Date.now() + 1500;
  while (Date.now() < until);
  // The lag shows in the first or the second sample after the stall (whichever timer fires
  // first), and lasts one sample: ask until a request is shed rather than at a fixed instant.
  let shed;
  const seen: number[] = []; // the plugin's lag figures, for the message if none was shed
  for (const deadline = Date.now() + 1000; !shed && Date.now() < deadline; await sleep(2)) {
    const res = await app.inject({ method: 'GET', url: '/user' });
    if (res.statusCode === 503) shed = res;
    const lag = Math.round((app as unknown as Pressure).memoryUsage().eventLoopDelay);
    if (seen.at(-1) !== lag) seen.push(lag);
  }
  assert.ok(
    shed,
    `a user request was shed while the event loop lagged; lags seen: ${seen.join(', ')} ms`,
  );
  assert.equal(shed.json().code, 'OVERLOADED');
  assert.equal(shed.headers['retry-after'], '5');
  const [health, ready, user] = await Promise.all(
    ['/healthz', '/readyz', '/user'].map((url) => app.inject({ method: 'GET', url })),
  );
  assert.equal(user!.statusCode, 503, 'still shedding, so the probes below were asked under it');
  assert.equal(health!.statusCode, 200);
  assert.equal(ready!.statusCode, 200);
  assert.equal(await answersOnceSettled(), 200, 'recovered');
});
