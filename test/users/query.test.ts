import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListQuery, QUERY_BUDGET } from '../../src/users/query.ts';
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

/** The budget error's fields and messages; fails unless the query is QUERY_TOO_COMPLEX. */
function overBudget(params: Record<string, string>): { field: string; message: string }[] {
  try {
    parseListQuery(params);
  } catch (error) {
    assert.ok(isDomainError(error, 'QUERY_TOO_COMPLEX'), String(error));
    assert.equal(error.errors?.length, 1, 'one error: the first limit passed');
    return error.errors ?? [];
  }
  assert.fail('expected QUERY_TOO_COMPLEX');
}

test('parseListQuery — when criteria pass a budget limit, then QUERY_TOO_COMPLEX names that limit', () => {
  let deep: unknown = { name: 'x' };
  for (let i = 0; i < 12; i++) deep = { or: [deep] };
  assert.match(overBudget({ where: JSON.stringify(deep) })[0]!.message, /deeper than 8 levels/);
  const wide = { or: Array.from({ length: 200 }, (_, i) => ({ name: `n${i}` })) };
  assert.match(overBudget({ where: JSON.stringify(wide) })[0]!.message, /more than 100 terms/);
  const empties = { or: Array.from({ length: 101 }, () => ({})) };
  assert.match(overBudget({ where: JSON.stringify(empties) })[0]!.message, /more than 100 terms/);
  const manyOps = {
    name: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`op${i}`, 1])),
  };
  assert.match(overBudget({ where: JSON.stringify(manyOps) })[0]!.message, /more than 100 terms/);
  const matches = {
    or: Array.from({ length: QUERY_BUDGET.matchTerms + 1 }, () => ({ name: { contains: 'a' } })),
  };
  assert.match(
    overBudget({ where: JSON.stringify(matches) })[0]!.message,
    /more than 10 text-matching terms/,
  );
  const long = {
    or: [{ name: { contains: 'a'.repeat(300) } }, { email: { like: 'b'.repeat(201) } }],
  };
  assert.match(overBudget({ where: JSON.stringify(long) })[0]!.message, /500 characters/);
  const lists = { or: [{ name: Array(600).fill('a') }, { email: { '!': Array(401).fill('b') } }] };
  assert.match(overBudget({ where: JSON.stringify(lists) })[0]!.message, /1000 list values/);
  assert.match(overBudget({ sort: Array(11).fill('name').join(',') })[0]!.message, /10 keys/);
  assert.match(
    overBudget({
      sort: JSON.stringify(Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 1]))),
    })[0]!.message,
    /10 keys/,
  );
});

test('parseListQuery — when criteria sit exactly at the budget, then they are accepted', () => {
  const matches = {
    or: Array.from({ length: QUERY_BUDGET.matchTerms }, (_, i) => ({
      name: {
        contains: String(i % 10).repeat(QUERY_BUDGET.patternChars / QUERY_BUDGET.matchTerms),
      },
    })),
  };
  assert.equal(parseListQuery({ where: JSON.stringify(matches) }).where?.kind, 'or');
  let deep: unknown = { name: 'x' };
  for (let i = 0; i < QUERY_BUDGET.depth; i++) deep = { or: [deep] };
  assert.ok(parseListQuery({ where: JSON.stringify(deep) }).where);
});

test('parseListQuery — when an operator is named after an Object.prototype member, then it is a 400, not an operator', () => {
  for (const name of Object.getOwnPropertyNames(Object.prototype)) {
    assert.deepEqual(
      fieldsOf(() => parseListQuery({ where: JSON.stringify({ name: { [name]: 'x' } }) })),
      [`where.name.${name}`],
      name,
    );
    assert.deepEqual(
      fieldsOf(() => parseListQuery({ where: `{"email":{${JSON.stringify(name)}:["x"]}}` })),
      [`where.email.${name}`],
      name,
    );
  }
});

test("parseListQuery — when Sails 0.12's named operators are used, then they mean <, <=, >, >= and !", () => {
  const named = parseListQuery({
    where: JSON.stringify({
      createdAt: {
        lessThan: '2020-01-01T00:00:00Z',
        lessThanOrEqual: '2020-01-01T00:00:00Z',
        greaterThan: '2019-01-01T00:00:00Z',
        greaterThanOrEqual: '2019-01-01T00:00:00Z',
      },
      name: { not: 'bingo' },
      email: { not: ['a@x.io'] },
    }),
  });
  const symbolic = parseListQuery({
    where: JSON.stringify({
      createdAt: {
        '<': '2020-01-01T00:00:00Z',
        '<=': '2020-01-01T00:00:00Z',
        '>': '2019-01-01T00:00:00Z',
        '>=': '2019-01-01T00:00:00Z',
      },
      name: { '!': 'bingo' },
      email: { '!': ['a@x.io'] },
    }),
  });
  assert.deepEqual(named, symbolic);
});

test('parseListQuery — when __proto__ appears in where, then it is an unknown attribute, not a prototype', () => {
  assert.deepEqual(
    fieldsOf(() => parseListQuery({ where: '{"__proto__":{"x":1}}' })),
    ['where.__proto__'],
  );
});

test('parseListQuery — when limit is 0, then it is a 400 naming the allowed range (Sails would mean "no limit")', () => {
  try {
    parseListQuery({ limit: '0' });
    assert.fail('expected a validation error');
  } catch (error) {
    assert.ok(isDomainError(error, 'VALIDATION_FAILED'), String(error));
    assert.deepEqual(error.errors, [
      { field: 'limit', message: 'must be an integer from 1 to 1000' },
    ]);
  }
  assert.equal(parseListQuery({ limit: '1' }).limit, 1);
});
