import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ReadBatch } from '../../src/store/sql/read-batch.ts';

/** A loader over a fixed table that records the keys of every call. */
function loader(table: Record<string, string>) {
  const calls: string[][] = [];
  const load = async (keys: string[]) => {
    calls.push(keys);
    return new Map(keys.filter((key) => key in table).map((key) => [key, table[key]!]));
  };
  return { calls, load };
}

test('read batch — when reads arrive in the same turn, then one load answers each with its own record', async () => {
  const { calls, load } = loader({ a: 'A', b: 'B' });
  const batch = new ReadBatch(load);
  const values = await Promise.all([
    batch.get('a'),
    batch.get('b'),
    batch.get('a'),
    batch.get('x'),
  ]);
  assert.deepEqual(values, ['A', 'B', 'A', undefined]);
  assert.deepEqual(calls, [['a', 'b', 'x']], 'one load, each key once');
});

test('read batch — when a read arrives after a batch left, then it goes in the next one and sees what is stored then', async () => {
  const table: Record<string, string> = { a: 'A1' };
  const { calls, load } = loader(table);
  const batch = new ReadBatch(load);
  assert.equal(await batch.get('a'), 'A1');
  table.a = 'A2';
  await nextTurn();
  assert.equal(await batch.get('a'), 'A2', 'nothing is cached between batches');
  assert.equal(calls.length, 2);
});

test('read batch — when the load fails, then every read of that batch fails with its error and the next batch works', async () => {
  let fail = true;
  const batch = new ReadBatch(async (keys: string[]) => {
    if (fail) throw new Error('store away');
    return new Map(keys.map((key) => [key, key.toUpperCase()]));
  });
  const outcomes = await Promise.allSettled([batch.get('a'), batch.get('b'), batch.get('a')]);
  assert.deepEqual(
    outcomes.map((outcome) => outcome.status === 'rejected' && (outcome.reason as Error).message),
    ['store away', 'store away', 'store away'],
  );
  fail = false;
  assert.equal(await batch.get('c'), 'C');
});

test('read batch — when more than 100 keys arrive together, then they go in batches of at most 100 and all are answered', async () => {
  const keys = Array.from({ length: 250 }, (_, i) => `k${i}`);
  const { calls, load } = loader(Object.fromEntries(keys.map((key) => [key, key])));
  const batch = new ReadBatch(load);
  assert.deepEqual(await Promise.all(keys.map((key) => batch.get(key))), keys);
  assert.deepEqual(
    calls.map((call) => call.length),
    [100, 100, 50],
  );
});
