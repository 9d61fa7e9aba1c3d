import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FingerprintSet, fingerprint } from '../../src/admin/fingerprints.ts';
import { Progress } from '../../src/admin/progress.ts';
import { createLineParser } from '../../src/admin/user-lines.ts';
import { createLogger } from '../../src/log/logger.ts';
import { Writable } from 'node:stream';

const parse = createLineParser();
const valid = {
  name: 'Ada',
  email: 'ada@example.com',
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
  id: '65920082fe853595a1000000',
};
const errorsOf = (record: unknown) => {
  const result = parse(JSON.stringify(record));
  return 'errors' in result ? result.errors : [];
};

describe('admin import lines and progress', () => {
  test('when a line is a whole record, then it parses to a NewUser; null or missing e-mail means none', () => {
    assert.deepEqual(parse(JSON.stringify(valid)), { user: { ...valid } });
    const withoutEmail = {
      name: valid.name,
      createdAt: valid.createdAt,
      updatedAt: valid.updatedAt,
      id: valid.id,
    };
    for (const record of [withoutEmail, { ...valid, email: null }]) {
      assert.deepEqual(parse(JSON.stringify(record)), {
        user: { ...withoutEmail, email: undefined },
      });
    }
    assert.deepEqual(parse(JSON.stringify({ ...valid, name: '  Ada  ' })), { user: { ...valid } });
  });

  test('when a line breaks the API rules, then each field is named once with the reason', () => {
    assert.deepEqual(errorsOf({ ...valid, name: '   ' }), [
      { field: 'name', message: 'must NOT have fewer than 1 characters' },
    ]);
    assert.deepEqual(errorsOf({ ...valid, name: 'a\u0000b' })[0]?.field, 'name');
    assert.deepEqual(errorsOf({ ...valid, email: 42 }), [
      { field: 'email', message: 'must be string' },
    ]);
    assert.deepEqual(errorsOf({ ...valid, id: '65920082FE853595A1000000' })[0]?.field, 'id');
    assert.deepEqual(
      errorsOf({ ...valid, updatedAt: '2024-02-30T00:00:00.000Z' })[0]?.field,
      'updatedAt',
    );
    assert.deepEqual(errorsOf({ ...valid, createdAt: '2024-01-01T01:00:00.000+01:00' })[0], {
      field: 'createdAt',
      message: 'must be UTC with milliseconds, e.g. 2024-01-01T00:00:00.000Z',
    });
    assert.deepEqual(
      errorsOf({ id: valid.id, extra: 1 })
        .map((e) => e.field)
        .sort(),
      ['createdAt', 'extra', 'name', 'updatedAt'],
    );
    assert.deepEqual(errorsOf('a string'), [{ field: 'line', message: 'must be object' }]);
    assert.deepEqual(parse('{'), { errors: [{ field: 'line', message: 'is not valid JSON' }] });
  });

  test('when fingerprints are added, then a repeat is reported and the set grows past its first size', () => {
    const set = new FingerprintSet();
    for (let i = 0; i < 50_000; i++) assert.equal(set.add(fingerprint(`id:${i}`)), true);
    for (let i = 0; i < 50_000; i += 997) assert.equal(set.add(fingerprint(`id:${i}`)), false);
    assert.notEqual(fingerprint('a'), fingerprint('b'));
    assert.ok(Number.isSafeInteger(fingerprint('x'.repeat(1000))) && fingerprint('') > 0);
  });

  function progressOn(tty: boolean) {
    let drawn = '';
    const logs: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'info',
      pretty: false,
      destination: new Writable({
        write(chunk, _e, done) {
          logs.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    });
    let now = 0;
    const progress = new Progress({
      label: 'import',
      total: 1000,
      stream: { write: (text: string) => (drawn += text), isTTY: tty },
      logger,
      intervalMs: 1000,
      now: () => now,
    });
    const step = (ms: number, items: number) => {
      now += ms;
      progress.advance(items);
    };
    return { progress, step, drawn: () => drawn, logs };
  }

  test('when stderr is a terminal, then progress is one redrawn bar with rate and ETA, cleared at the end', () => {
    const { progress, step, drawn, logs } = progressOn(true);
    step(50, 100);
    assert.equal(drawn(), '', 'at most every 100 ms');
    step(450, 400);
    assert.equal(
      drawn(),
      '\rimport [############------------] 50% 500/1,000  1,000/s  ETA 0:01\u001b[K',
    );
    progress.finish();
    assert.ok(drawn().endsWith('\r\u001b[K'));
    assert.deepEqual(logs, []);
  });

  test('when stderr is not a terminal, then progress is a log line per interval and no control characters', () => {
    const { progress, step, drawn, logs } = progressOn(false);
    step(500, 300);
    step(600, 300);
    step(200, 100);
    progress.finish();
    assert.equal(drawn(), '');
    assert.equal(logs.length, 1);
    assert.deepEqual(
      { msg: logs[0]?.msg, command: logs[0]?.command, done: logs[0]?.done, total: logs[0]?.total },
      { msg: 'progress', command: 'import', done: 600, total: 1000 },
    );
  });
});
