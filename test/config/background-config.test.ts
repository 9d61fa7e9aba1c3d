import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { problems } from './problems.ts';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

test('events config — when nothing is set, then the worker has no URL and the clock its default schedules', () => {
  const config = loadConfig({});
  assert.deepEqual(config.webhooks.urls, []);
  assert.equal(config.worker.port, 9464);
  assert.equal(config.clock.port, 9465);
  assert.equal(config.clock.purgeCron, '0 * * * *');
  assert.ok(Object.isFrozen(config.webhooks));
});

test('events config — when URLs and a secret are set, then both are read as lists', () => {
  const config = loadConfig({
    WEBHOOK_URLS: 'https://a.example/hook, http://127.0.0.1:9/x',
    WEBHOOK_SECRET: `${SECRET},${SECRET.replace('Bw', 'Cw')}`,
  });
  assert.deepEqual(config.webhooks.urls, ['https://a.example/hook', 'http://127.0.0.1:9/x']);
  assert.equal(config.webhooks.secrets.length, 2);
});

test('events config — when the rules between variables are broken, then every problem is named', () => {
  assert.deepEqual(
    problems({
      WEBHOOK_URLS: 'ftp://x/y,https://ok.example,https://ok.example',
      WEBHOOK_TIMEOUT_MS: '10000',
      WORKER_LEASE_MS: '10000',
      WEBHOOK_RETRY_BASE_MS: '5000',
      WEBHOOK_RETRY_MAX_MS: '1000',
      CLOCK_PURGE_CRON: 'every hour',
    }).map((p) => p.split(' ')[0]),
    [
      'WEBHOOK_URLS',
      'WEBHOOK_URLS',
      'WEBHOOK_SECRET',
      'WORKER_LEASE_MS',
      'WEBHOOK_RETRY_MAX_MS',
      'CLOCK_PURGE_CRON',
    ],
  );
});

test('events config — when a secret is not whsec_ with 24 to 64 bytes, then it is refused without echoing it', () => {
  for (const secret of [
    'whsec_c2hvcnQ=',
    'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
    `whsec_${'A'.repeat(100)}`,
  ]) {
    const found = problems({ WEBHOOK_SECRET: secret });
    assert.deepEqual(found, ['WEBHOOK_SECRET must be whsec_ followed by 24 to 64 bytes in base64']);
  }
});
