import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { isJsonArrayFile, jsonArrayElements } from '../../src/admin/json-array.ts';
import { tempDir } from './support.ts';

async function elementsOf(t: TestContext, text: string) {
  const file = join(tempDir(t), 'in.json');
  writeFileSync(file, text);
  const out = [];
  for await (const element of jsonArrayElements(file)) out.push(element);
  return { out, isArray: await isJsonArrayFile(file) };
}

describe('json-array', () => {
  test('jsonArrayElements when elements hold brackets, commas, quotes and escapes in strings, then each comes out whole', async (t) => {
    const values = [
      { name: 'a],[b', note: 'say \\"hi\\", then }' },
      { nested: [{ x: [1, 2] }, { y: '\\\\' }] },
      'text',
      42,
    ];
    const { out, isArray } = await elementsOf(t, ` \n${JSON.stringify(values)}\n`);
    assert.equal(isArray, true);
    assert.deepEqual(
      out.map((e) => JSON.parse(e.text)),
      values,
    );
    assert.deepEqual(
      out.map((e) => e.number),
      [1, 2, 3, 4],
    );
  });

  test('jsonArrayElements when an element spans read chunks, then it is joined across them', async (t) => {
    // Larger than a read chunk (64 KiB), with a quote escaped right around the boundaries.
    const long = 'x"],'.repeat(40_000);
    const values = [{ a: long }, { b: long, c: '\u00e9\u{1f600}'.repeat(20_000) }, { d: 1 }];
    const { out } = await elementsOf(t, JSON.stringify(values));
    assert.deepEqual(
      out.map((e) => JSON.parse(e.text)),
      values,
    );
  });

  test('jsonArrayElements when the array is pretty-printed over many lines, then elements are the same', async (t) => {
    const values = [{ a: 1 }, { b: [2, 3] }];
    const { out } = await elementsOf(t, JSON.stringify(values, null, '\t'));
    assert.deepEqual(
      out.map((e) => JSON.parse(e.text)),
      values,
    );
  });

  test('jsonArrayElements when the array is empty, then there is nothing', async (t) => {
    assert.deepEqual((await elementsOf(t, '[]\n')).out, []);
  });

  test('jsonArrayElements when the array never closes, then the last element is followed by a problem', async (t) => {
    const { out } = await elementsOf(t, '[{"a":1},{"b":');
    assert.equal(out.length, 3);
    assert.deepEqual(JSON.parse(out[0]!.text), { a: 1 });
    assert.throws(() => JSON.parse(out[1]!.text));
    assert.match(out[2]!.problem ?? '', /never ends/);
  });

  test('jsonArrayElements when text follows the array, then it comes out as an element that does not parse', async (t) => {
    const { out } = await elementsOf(t, '[{"a":1}] trailing {"b":2}\n');
    assert.equal(out.length, 2);
    assert.equal(out[1]!.text.trim(), 'trailing {"b":2}');
  });

  test('isJsonArrayFile when the file is NDJSON, then it is not an array', async (t) => {
    assert.equal((await elementsOf(t, '{"a":1}\n{"a":2}\n')).isArray, false);
    assert.equal((await elementsOf(t, '')).isArray, false);
  });
});
