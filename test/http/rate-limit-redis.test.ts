import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { buildTestApp } from '../support/app.ts';
import { TEST_REDIS_URL, redisAvailable, redisNamespace } from '../support/redis.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { startWeb } from '../support/web-process.ts';
import { closedPort } from '../support/free-port.ts';
import { connectRedis } from '../../src/processes/redis.ts';
import { createLogger } from '../../src/log/logger.ts';

const FALLBACK = 'rate limits count per process: Redis does not answer; retrying every second';
const BACK = 'rate limits shared through Redis again';

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`never: ${what}`);
}

const redisUp = await redisAvailable();

describe('rate limiter and Redis', () => {
  test('with REDIS_URL on a closed port the web process limits per process, says so once in the log and in /metrics', async (t) => {
    const closed = await closedPort();
    t.after(() => closed.release());
    const web = await startWeb({
      DATABASE_URL: 'sqlite::memory:',
      REDIS_URL: `redis://127.0.0.1:${closed.port}`,
      RATE_LIMIT_MAX: '3',
    });
    t.after(() => web.kill());
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await fetch(`http://127.0.0.1:${web.port}/user`)).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    await web.waitForLine((l) => l.msg === FALLBACK);
    assert.equal(web.lines.filter((l) => l.msg === FALLBACK).length, 1, 'said once');
    const metrics = await (await fetch(`http://127.0.0.1:${web.port}/metrics`)).text();
    assert.match(metrics, /^rate_limit_per_process 1$/m);
    assert.equal(web.child.exitCode, null);
  });

  if (redisUp) {
    test('when Redis hangs, requests are limited per process, and when it answers again the limiter returns to it', async (t) => {
      const target = new URL(TEST_REDIS_URL);
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
      t.after(() => proxy.close());
      const logger = createLogger({ level: 'silent', pretty: false });
      const redis = await connectRedis(`redis://127.0.0.1:${proxy.port}`, {
        logger,
        // Long enough that a busy test machine never trips it by accident (the first request
        // must be counted in Redis), and that five requests are answered well within it; a
        // stalled Redis trips any timeout.
        commandTimeoutMs: 3000,
      });
      const direct = new Redis(TEST_REDIS_URL);
      const namespace = redisNamespace();
      t.after(async () => {
        redis.disconnect();
        await namespace.clean(direct);
        direct.disconnect();
      });
      await until(() => redis.status === 'ready', 'redis ready');
      const built = await buildTestApp({
        limits: { rateLimit: { max: 3, windowMs: 60_000 }, redis, namespace: namespace.prefix },
      });
      t.after(() => built.close());
      const { app, logs } = built;
      const get = async () => (await app.inject({ method: 'GET', url: '/user' })).statusCode;
      const metric = async () =>
        /^rate_limit_per_process (\d)$/m.exec(
          (await app.inject({ method: 'GET', url: '/metrics' })).body,
        )?.[1];

      assert.equal(await get(), 200);
      assert.equal((await direct.keys(`${namespace.prefix}*`)).length, 1, 'counted in Redis');
      assert.equal(await metric(), '0');

      proxy.stall();
      const during = [];
      for (let i = 0; i < 5; i++) during.push(await get());
      // None of them waited for the hung Redis to time out: each was answered from this
      // process's own count before a command's timeout told the limiter Redis was away.
      assert.equal(logs.filter((l) => l.msg === FALLBACK).length, 0, 'not yet timed out');
      // This process counted the first request too: its own count carries on from 1.
      assert.deepEqual(during, [200, 200, 429, 429, 429], 'limited by this process alone');
      await until(
        () => logs.some((l) => l.msg === FALLBACK),
        'per process once a command timed out',
      );
      assert.equal(logs.filter((l) => l.msg === FALLBACK).length, 1, 'said once');
      assert.equal(await metric(), '1');

      proxy.resume();
      await until(() => logs.some((l) => l.msg === BACK), 'back on Redis');
      assert.equal(await metric(), '0');
      const before = Number(await direct.get((await direct.keys(`${namespace.prefix}*`))[0]!));
      await get();
      const after = Number(await direct.get((await direct.keys(`${namespace.prefix}*`))[0]!));
      assert.equal(after, before + 1, 'the next request is counted in Redis again');
    });
  }
});
