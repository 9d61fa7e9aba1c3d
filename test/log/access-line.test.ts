import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { accessLine, type AccessFields } from '../../src/log/access-line.ts';

/** A logger as the web process makes it (createLogger, then a child), writing into `lines`. */
function capture(settings: Partial<Parameters<typeof createLogger>[0]> = {}) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ level: 'info', pretty: false, destination, ...settings })
    .child({ process: 'web' })
    .child({}, { redact: [] });
  return { logger, lines };
}

/** The same line with its time set apart: the two writers may fall in different milliseconds. */
const timeless = (line: string) => line.replace(/"time":"[^"]*"/, '"time":"T"');

const BASE: AccessFields = {
  requestId: '0a3e7939-6180-4174-ae9f-37588a51b72c',
  method: 'GET',
  route: '/user/:id',
  path: '/user/6b1676fa34a9131870eba79f',
  status: 200,
  durationMs: 1.25,
  principal: undefined,
  trace_id: undefined,
  span_id: undefined,
};

const CASES: [string, AccessFields][] = [
  ['a plain read', BASE],
  [
    'a principal and trace ids',
    { ...BASE, principal: 'jwt:alice', trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) },
  ],
  ['quotes, backslashes and control characters in the path', { ...BASE, path: '/x"y\\z\u0001\t' }],
  ['a long path with non-ASCII text', { ...BASE, path: `/${'é'.repeat(60)}"${'ü'.repeat(3)}` }],
  ['a principal with quotes', { ...BASE, principal: 'jwt:"bob"\\' }],
  ['a duration that is not finite', { ...BASE, durationMs: Number.NaN, status: 499 }],
  ['a whole-number duration', { ...BASE, durationMs: 3 }],
];

for (const [name, fields] of CASES) {
  test(`access line — when a request has ${name}, then the line is the one pino writes for the same fields`, () => {
    const { logger, lines } = capture();
    accessLine(logger, 'request completed')('info', fields);
    logger.info({ ...fields }, 'request completed');
    assert.equal(lines.length, 2);
    assert.equal(timeless(lines[0]!), timeless(lines[1]!));
    assert.deepEqual(JSON.parse(lines[0]!).path, fields.path);
  });
}

test('access line — when its level is below the logger level, then nothing is written, and once the level is lowered it is', () => {
  const { logger, lines } = capture({ level: 'warn' });
  const write = accessLine(logger, 'request completed');
  write('info', BASE);
  write('debug', BASE);
  assert.deepEqual(lines, []);
  write('error', BASE);
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]!).level, 'error');
  logger.level = 'debug';
  write('debug', BASE);
  assert.equal(lines.length, 2);
  assert.equal(JSON.parse(lines[1]!).level, 'debug');
});

test('access line — when the logger adds fields of its own to each line (a mixin), then the line goes through pino and has them', () => {
  const { logger, lines } = capture({
    mixin: () => ({ extra: 'mixed' }),
    mixinMergeStrategy: (line, fields) => ({ ...line, ...fields }),
  });
  accessLine(logger as Logger, 'request completed')('info', BASE);
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!);
  assert.equal(line.extra, 'mixed');
  assert.equal(line.requestId, BASE.requestId);
  assert.equal(line.msg, 'request completed');
});

test('access line — when the logger redacts one of its keys, then the line goes through pino and that key is censored', () => {
  const { logger, lines } = capture();
  const redacting = logger.child({}, { redact: { paths: ['path'], censor: '[redacted]' } });
  accessLine(redacting, 'request completed')('info', BASE);
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!);
  assert.equal(line.path, '[redacted]');
  assert.equal(line.requestId, BASE.requestId);
});

test('access line — when the logger has a mixin that leaves the line as it is (the trace ids’ mixin, for a line naming its trace), then the line is made from the template, once, and is the one pino writes', () => {
  let asked = 0;
  const NOTHING = Object.freeze({});
  const { logger, lines } = capture({
    mixin: (line) => {
      asked++;
      return (line as { trace_id?: string }).trace_id ? NOTHING : { extra: 'mixed' };
    },
    mixinMergeStrategy: (line, fields) => (fields === NOTHING ? line : { ...fields, ...line }),
  });
  let viaPino = 0;
  const info = logger.info;
  logger.info = function (this: Logger, ...args: Parameters<Logger['info']>) {
    viaPino++;
    return info.apply(this, args);
  } as Logger['info'];
  const traced = { ...BASE, trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) };
  accessLine(logger as Logger, 'request completed')('info', traced);
  assert.equal(asked, 1, 'the mixin was asked once');
  assert.equal(viaPino, 0, 'pino was not asked to write the line');
  logger.info({ ...traced }, 'request completed');
  assert.equal(lines.length, 2);
  assert.equal(timeless(lines[0]!), timeless(lines[1]!));
  // A line the mixin adds to goes through pino, with the mixin's fields.
  accessLine(logger as Logger, 'request completed')('info', BASE);
  assert.equal(viaPino, 2);
  assert.equal(JSON.parse(lines[2]!).extra, 'mixed');
});
