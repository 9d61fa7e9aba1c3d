import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListQuery } from '../../src/users/query.ts';
import { isDomainError } from '../../src/users/errors.ts';

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(isDomainError(error, 'VALIDATION_FAILED'), String(error));
    return (error.errors ?? []).map((e) => e.field);
  }
  assert.fail('expected a validation error');
}

test('parseListQuery — when nothing is given, then 30 records sorted by id from the start', () => {
  assert.deepEqual(parseListQuery({}), {
    where: undefined,
    sort: [{ field: 'id', direction: 'asc' }],
    limit: 30,
    skip: 0,
  });
});

test('parseListQuery — when Sails forms are used, then they become one condition tree', () => {
  const query = parseListQuery({
    where: JSON.stringify({
      name: { contains: 'bin', '!': 'bingo' },
      or: [{ email: null }, { email: ['a@x.io', 'b@x.io'] }],
      createdAt: { '>=': '2017-02-13T06:13:53Z' },
    }),
    sort: 'name DESC, createdAt',
    limit: '5',
    skip: '10',
  });
  assert.deepEqual(query.sort, [
    { field: 'name', direction: 'desc' },
    { field: 'createdAt', direction: 'asc' },
    { field: 'id', direction: 'asc' },
  ]);
  assert.equal(query.limit, 5);
  assert.equal(query.skip, 10);
  assert.deepEqual(query.where, {
    kind: 'and',
    conditions: [
      {
        kind: 'and',
        conditions: [
          { kind: 'match', field: 'name', mode: 'contains', value: 'bin' },
          { kind: 'compare', field: 'name', op: 'ne', value: 'bingo' },
        ],
      },
      {
        kind: 'or',
        conditions: [
          { kind: 'compare', field: 'email', op: 'eq', value: null },
          { kind: 'in', field: 'email', values: ['a@x.io', 'b@x.io'], negate: false },
        ],
      },
      { kind: 'compare', field: 'createdAt', op: 'gte', value: '2017-02-13T06:13:53.000Z' },
    ],
  });
});

test('parseListQuery — when sort is JSON, then 1 and -1 set the direction', () => {
  assert.deepEqual(parseListQuery({ sort: '{"name":-1,"id":1}' }).sort, [
    { field: 'name', direction: 'desc' },
    { field: 'id', direction: 'asc' },
  ]);
});

test('parseListQuery — when an attribute filter is given, then it is an exact match', () => {
  assert.deepEqual(parseListQuery({ name: 'bingo' }).where, {
    kind: 'compare',
    field: 'name',
    op: 'eq',
    value: 'bingo',
  });
});

test('parseListQuery — when parameters are bad, then every one is named (never silently ignored)', () => {
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ where: '{not json' })),
    ['where'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ where: '{"name":{"$ne":"x"}}' })),
    ['where.name.$ne'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ where: '{"$where":"1"}' })),
    ['where.$where'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ where: '{"age":3}' })),
    ['where.age'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ where: '[1]' })),
    ['where'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ where: '{"id":"zz"}' })),
    ['where.id'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ where: '{"createdAt":{"<":"soon"}}' })),
    ['where.createdAt.<'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ where: '{"createdAt":{"contains":"2"}}' })),
    ['where.createdAt.contains'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ limit: '1001', skip: '-1', sort: 'age' })),
    ['sort', 'limit', 'skip'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ limit: 'ten' })),
    ['limit'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ sort: 'name; DROP TABLE users' })),
    ['sort'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ sort: '{"name":"sideways"}' })),
    ['sort.name'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ color: 'red' })),
    ['color'],
  );
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ where: '{"or":[]}' })),
    ['where.or'],
  );
});

test('parseListQuery — when criteria nest too deep or grow too large, then they are refused', () => {
  let deep: unknown = { name: 'x' };
  for (let i = 0; i < 12; i++) deep = { or: [deep] };
  assert.equal(fieldsOf(() => parseListQuery({ where: JSON.stringify(deep) })).length, 1);
  const wide = Object.fromEntries([
    ['or', Array.from({ length: 200 }, (_, i) => ({ name: `n${i}` }))],
  ]);
  assert.ok(fieldsOf(() => parseListQuery({ where: JSON.stringify(wide) })).length >= 1);
});

test('parseListQuery — when __proto__ appears in where, then it is an unknown attribute, not a prototype', () => {
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ where: '{"__proto__":{"x":1}}' })),
    ['where.__proto__'],
  );
});

test('parseListQuery — when limit is 0, then it is accepted (a count-only page)', () => {
  assert.equal(parseListQuery({ limit: '0' }).limit, 0);
});
