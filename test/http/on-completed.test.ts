import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { onCompleted, onReceived } from '../../src/http/plugins/on-completed.ts';

test('received and completed listeners run once per request, in the order they were added', async () => {
  const app = Fastify();
  const seen: string[] = [];
  onCompleted(app, (request, reply) => void seen.push(`completed 1 ${reply.statusCode}`));
  onReceived(app, (_request, reply) => {
    seen.push('received 1');
    reply.header('x-first', '1');
  });
  onReceived(app, () => void seen.push('received 2'));
  onCompleted(app, () => void seen.push('completed 2'));
  app.get('/', async () => {
    seen.push('handler');
    return { ok: true };
  });
  const response = await app.inject({ method: 'GET', url: '/' });
  assert.equal(response.statusCode, 200);
  assert.equal(response.headers['x-first'], '1');
  assert.deepEqual(seen, ['received 1', 'received 2', 'handler', 'completed 1 200', 'completed 2']);
  await app.close();
});

test('each instance keeps its own listeners', async () => {
  const one = Fastify();
  const two = Fastify();
  const seen: string[] = [];
  onReceived(one, () => void seen.push('one'));
  onReceived(two, () => void seen.push('two'));
  for (const app of [one, two]) app.get('/', async () => ({}));
  await one.inject({ method: 'GET', url: '/' });
  assert.deepEqual(seen, ['one']);
  await Promise.all([one.close(), two.close()]);
});
