import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LineBatch, type BatchedDestination } from '../../src/log/line-batch.ts';

/** A destination that records each write it gets (decoded) and each flush asked of it. */
function recorder() {
  const writes: string[] = [];
  const bytes: Buffer[] = [];
  const flushes: string[] = [];
  const destination: BatchedDestination = {
    write: (chunk: Buffer) => {
      bytes.push(chunk);
      writes.push(chunk.toString('utf8'));
    },
    flush: (callback) => {
      flushes.push('flush');
      callback?.();
    },
    flushSync: () => void flushes.push('flushSync'),
  };
  return { destination, writes, bytes, flushes };
}

test('line batch — when lines are written in one turn, then they reach the destination as one write, in order, at the end of the turn', async () => {
  const { destination, writes } = recorder();
  const batch = new LineBatch(destination);
  batch.write('{"n":1}\n');
  batch.write('{"n":2}\n');
  batch.write('{"n":3}\n');
  assert.deepEqual(writes, [], 'nothing is written before the turn ends');
  await nextTurn();
  assert.deepEqual(writes, ['{"n":1}\n{"n":2}\n{"n":3}\n']);
});

test('line batch — when lines hold non-ASCII text, then the destination gets their UTF-8 bytes', async () => {
  const { destination, bytes } = recorder();
  const batch = new LineBatch(destination);
  batch.write('{"name":"Zoë 张伟 🚀"}\n');
  await nextTurn();
  assert.equal(bytes.length, 1);
  assert.ok(Buffer.isBuffer(bytes[0]));
  assert.deepEqual(bytes[0], Buffer.from('{"name":"Zoë 张伟 🚀"}\n', 'utf8'));
});

test('line batch — when lines are written in two turns, then each turn is its own write', async () => {
  const { destination, writes } = recorder();
  const batch = new LineBatch(destination);
  batch.write('a\n');
  await nextTurn();
  batch.write('b\n');
  batch.write('c\n');
  await nextTurn();
  await nextTurn();
  assert.deepEqual(writes, ['a\n', 'b\nc\n']);
});

test('line batch — when a turn logs more than 16 KiB, then it is handed over as it fills, not held to the end of the turn', async () => {
  const { destination, writes } = recorder();
  const batch = new LineBatch(destination);
  const line = `${'x'.repeat(1023)}\n`;
  for (let i = 0; i < 40; i++) batch.write(line);
  assert.deepEqual(
    writes.map((text) => text.length),
    [16 * 1024, 16 * 1024],
    'two full batches before the turn ends',
  );
  await nextTurn();
  assert.equal(writes.join(''), line.repeat(40), 'every line once, in order');
});

test('line batch — when flushed, then pending lines are handed over before the destination flushes', async () => {
  const { destination, writes, flushes } = recorder();
  const batch = new LineBatch(destination);
  batch.write('a\n');
  await new Promise<void>((resolve) => batch.flush(() => resolve()));
  assert.deepEqual(writes, ['a\n']);
  assert.deepEqual(flushes, ['flush']);
  batch.write('b\n');
  batch.flushSync();
  assert.deepEqual(writes, ['a\n', 'b\n']);
  assert.deepEqual(flushes, ['flush', 'flushSync']);
  await nextTurn();
  assert.deepEqual(writes, ['a\n', 'b\n'], 'the scheduled hand-over finds nothing left to write');
});

test('line batch — when the process exits in the turn a line was logged, then the line is on stdout', () => {
  // The web process's own stdout logger: a line logged just before process.exit() must not be
  // lost in the batch, whose hand-over would have run in the next turn.
  const script = `
    import { createLogger } from './src/log/logger.ts';
    const logger = createLogger({ level: 'info', pretty: false });
    for (let i = 0; i < 3; i++) logger.info({ i }, 'last words');
    process.exit(0);
  `;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('../..', import.meta.url),
    encoding: 'utf8',
  });
  const lines = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { i: number; msg: string });
  assert.deepEqual(
    lines.map(({ i, msg }) => [i, msg]),
    [
      [0, 'last words'],
      [1, 'last words'],
      [2, 'last words'],
    ],
  );
});
