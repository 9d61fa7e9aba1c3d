import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MongoCompatibilityError,
  MongoServerError,
  MongoServerSelectionError,
  type Document,
} from 'mongodb';
import {
  checkBuildInfo,
  helloReply,
  unsupportedFromDriver,
} from '../../../src/store/mongo/mongo-version.ts';
import { unsupportedServer } from '../../../src/store/server-version.ts';

/**
 * What driver 7 reports for a 3.2 server: the handshake refuses it (src/cmap/connect.ts), the
 * monitor marks the server Unknown with that error, and server selection times out with the
 * topology it saw as its reason (and the first server error as its cause).
 */
function selectionTimeoutFor(handshakeMessage: string) {
  const refused = new MongoCompatibilityError(handshakeMessage);
  const topology = {
    type: 'Unknown',
    compatible: true,
    servers: new Map([['old.example:27017', { type: 'Unknown', error: refused }]]),
    error: refused,
  };
  return new MongoServerSelectionError(
    'Server selection timed out after 30000 ms',
    topology as never,
  );
}

describe('mongo-version', () => {
  test('unsupportedFromDriver when the driver refused a 3.2 server in its handshake, then it names the version found and the one required', () => {
    const error = selectionTimeoutFor(
      'Server at old.example:27017 reports maximum wire version 4, but this version of the Node.js Driver requires at least 9 (MongoDB 4.4)',
    );
    const unsupported = unsupportedFromDriver(error);
    assert.ok(unsupported);
    assert.equal(unsupported.found, '3.2');
    assert.equal(unsupported.required, '4.4');
    assert.equal(unsupported.address, 'old.example:27017');
    assert.equal(
      unsupported.message,
      'MongoDB at old.example:27017 is version 3.2; 12factor-app needs MongoDB 4.4 or later',
    );
    assert.equal(unsupported.cause, error);
    assert.equal(unsupportedServer(new Error('wrapped', { cause: unsupported })), unsupported);
  });

  test('unsupportedFromDriver when the topology itself reports the wire version, then 4.2 is named', () => {
    const topology = {
      compatible: false,
      compatibilityError:
        'Server at db:27017 reports wire version 8, but this version of the driver requires at least 9 (MongoDB 4.4).',
      servers: new Map(),
    };
    const error = new MongoServerSelectionError('timed out', topology as never);
    assert.equal(unsupportedFromDriver(error)?.found, '4.2');
  });

  test('unsupportedFromDriver when the server is merely unreachable, then it is no version problem', () => {
    const unreachable = selectionTimeoutFor('connect ECONNREFUSED 127.0.0.1:27017');
    assert.equal(unsupportedFromDriver(unreachable), undefined);
    assert.equal(unsupportedFromDriver(new Error('x')), undefined);
  });

  test('checkBuildInfo when a server the driver accepted reports its version, then below 4.4 is refused and 4.4 on is fine', () => {
    assert.equal(
      checkBuildInfo({ version: '4.2.24', versionArray: [4, 2, 24, 0] })?.found,
      '4.2.24',
    );
    assert.equal(checkBuildInfo({ version: '4.4.0', versionArray: [4, 4, 0, 0] }), undefined);
    assert.equal(checkBuildInfo({ version: '8.0.4', versionArray: [8, 0, 4, 0] }), undefined);
    assert.equal(checkBuildInfo({ version: '10.0.0-rc1' }), undefined);
    assert.equal(checkBuildInfo({}), undefined);
  });

  test('helloReply when the server is 4.4.0 or 4.4.1, which lack hello, then it asks isMaster instead', async () => {
    const asked: string[] = [];
    const early44 = {
      command: async (command: Document) => {
        const name = Object.keys(command)[0]!;
        asked.push(name);
        if (name === 'hello') {
          throw new MongoServerError({
            ok: 0,
            code: 59,
            codeName: 'CommandNotFound',
            errmsg: "no such command: 'hello'",
          });
        }
        return { ismaster: true, setName: 'rs0', ok: 1 };
      },
    };
    assert.deepEqual(await helloReply(early44 as never), { ismaster: true, setName: 'rs0', ok: 1 });
    assert.deepEqual(asked, ['hello', 'isMaster']);
  });

  test('helloReply when hello fails for another reason, then that error is not hidden', async () => {
    const denied = {
      command: async () => {
        throw new MongoServerError({ ok: 0, code: 13, codeName: 'Unauthorized', errmsg: 'no' });
      },
    };
    await assert.rejects(helloReply(denied as never), { code: 13 });
  });
});
