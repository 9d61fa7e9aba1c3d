import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { HEAP_GROWING_PERCENT, limitHeapGrowth } from '../../src/processes/heap-growth.ts';

const MODULE = new URL('../../src/processes/heap-growth.ts', import.meta.url).href;

/**
 * Runs limitHeapGrowth in a fresh node given `flags`, then a full collection, and returns what
 * it answered and the growing factors V8 printed (`--trace-gc-verbose`) when it set the next
 * limit after that collection.
 */
function afterCollection(flags: string[]): { set: boolean; factors: string[] } {
  const script = `import { limitHeapGrowth } from ${JSON.stringify(MODULE)};
    const keep = Array.from({ length: 100000 }, (_, i) => ({ i }));
    console.log('set=' + limitHeapGrowth());
    globalThis.gc();
    console.log('kept=' + keep.length);`;
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--trace-gc-verbose', ...flags, '--input-type=module', '-e', script],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
  );
  const after = out.slice(out.indexOf('set='));
  return {
    set: /set=true/.test(after),
    factors: [...after.matchAll(/\[HeapController\] factor (\d+\.\d)/g)].map((m) => m[1]!),
  };
}

describe('limitHeapGrowth', () => {
  test('when node was given no heap growth, then V8 grows the old generation by a quarter from the next full collection on', () => {
    assert.equal(HEAP_GROWING_PERCENT, 25);
    const { set, factors } = afterCollection([]);
    assert.equal(set, true);
    assert.ok(factors.length > 0, 'V8 set a limit after the collection');
    // printf("%.1f", 1.25)
    for (const factor of factors) assert.equal(factor, '1.2');
  });

  test('when node was given its own --heap-growing-percent, then it is left as given', () => {
    const { set, factors } = afterCollection(['--heap-growing-percent=90']);
    assert.equal(set, false);
    assert.ok(factors.length > 0, 'V8 set a limit after the collection');
    for (const factor of factors) assert.equal(factor, '1.9');
  });

  test('the flag is recognised in NODE_OPTIONS and with underscores too, and then not set here', () => {
    assert.equal(limitHeapGrowth([], '--heap-growing-percent=50'), false);
    assert.equal(limitHeapGrowth(['--heap_growing_percent=10'], ''), false);
    assert.equal(limitHeapGrowth(['--max-semi-space-size=8', '--heap-growing-percent'], ''), false);
  });
});
