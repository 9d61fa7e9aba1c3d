import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { needsScan } from '../../src/store/sql/sql-sliced-list.ts';
import { parseListQuery } from '../../src/users/query.ts';

const whereOf = (where: unknown) => parseListQuery({ where: JSON.stringify(where) }).where!;

describe('needsScan', () => {
  test('when an equality or in list on id or name leads the criteria, then an index finds the rows', () => {
    for (const where of [
      { id: '58a41d952f53291200b9e065' },
      { name: 'bingo' },
      { name: ['a', 'b'] },
      { name: 'bingo', email: { contains: 'x' } },
      { and: [{ name: 'bingo' }, { createdAt: { '>': '2020-01-01T00:00:00Z' } }] },
    ])
      assert.equal(needsScan(whereOf(where)), false, JSON.stringify(where));
    // `{}` filters nothing: no condition at all, and an empty conjunction scans for nothing.
    assert.equal(parseListQuery({ where: '{}' }).where, undefined);
    assert.equal(needsScan({ kind: 'and', conditions: [] }), false);
  });

  test('when any row may match, then the list scans (in slices on SQLite)', () => {
    for (const where of [
      { name: { contains: 'x' } },
      { email: 'a@x.io' },
      { email: null },
      { name: { '!': 'bingo' } },
      { name: { not: ['a'] } },
      { createdAt: { greaterThan: '2020-01-01T00:00:00Z' } },
      { or: [{ name: 'a' }, { email: { like: '%x' } }] },
      { or: [{ name: 'a' }, { name: 'b' }] },
      { and: [{}, { email: 'a@x.io' }] },
    ])
      assert.equal(needsScan(whereOf(where)), true, JSON.stringify(where));
  });
});
