import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConnectionString } from 'mongodb-connection-string-url';
import { loadConfig } from '../../src/config/index.ts';
import { environmentOf, loadCompose } from './support/compose.ts';

const COMPOSE = fileURLToPath(new URL('../../compose.yaml', import.meta.url));
const compose = loadCompose(COMPOSE);
const mongo = compose.services.mongo;

describe('compose mongo profile', () => {
  test('mongo service when started, then it runs as a replica set, so writes and their events share a transaction', () => {
    const command = mongo.command as string[];
    const setName = command[command.indexOf('--replSet') + 1];
    assert.equal(setName, 'rs0');
    const probe = (mongo.healthcheck.test as string[]).join(' ');
    // Initiated once, by the healthcheck, and healthy only once this member is the primary.
    assert.match(probe, /rs\.initiate\(\{ _id: 'rs0'/);
    assert.match(probe, /isWritablePrimary \|\| quit\(1\)/);
  });

  test('mongo service when the set is initiated, then its member is named as the app services reach it', () => {
    const member = /host: '([^']+)'/.exec((mongo.healthcheck.test as string[]).join(' '))?.[1];
    for (const name of ['release-mongo', 'web-mongo']) {
      const url = new ConnectionString(loadConfig(environmentOf(compose.services[name])).store.url);
      const [host] = url.hosts;
      assert.equal(member, host!.includes(':') ? host : `${host}:27017`, name);
      // One seed and no directConnection: the driver discovers the set instead of talking to
      // that one server as a standalone.
      assert.equal(url.searchParams.get('directConnection'), null, name);
    }
  });
});
