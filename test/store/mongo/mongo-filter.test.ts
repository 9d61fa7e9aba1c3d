import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ObjectId } from 'mongodb';
import { matchRegex, mongoFilter, mongoSort } from '../../../src/store/mongo/mongo-filter.ts';
import { parseListQuery } from '../../../src/users/query.ts';

const where = (criteria: unknown) =>
  mongoFilter(parseListQuery({ where: JSON.stringify(criteria) }).where);
const ID = '000000000000000000000001';

// These run without a server: the MongoDB contract suite needs MONGO_URL, the translation does not.
test('mongo-filter — when criteria compare values, then each value sits under an explicit operator in its BSON type', () => {
  assert.deepEqual(where({ name: '$where' }), { name: { $eq: '$where' } });
  assert.deepEqual(where({ email: null }), { email: { $eq: null } });
  assert.deepEqual(where({ email: { '!': null } }), { email: { $ne: null } });
  assert.deepEqual(where({ createdAt: { '>': '2024-01-01T00:00:00Z' } }), {
    createdAt: { $gt: new Date('2024-01-01T00:00:00.000Z') },
  });
  assert.deepEqual(where({ id: { '<=': ID } }), {
    _id: { $lte: ObjectId.createFromHexString(ID) },
  });
  assert.deepEqual(where({ name: { '!': ['a', 'b'] } }), { name: { $nin: ['a', 'b'] } });
  assert.deepEqual(where({ or: [{ name: 'a' }, { and: [{ name: 'b' }, { email: null }] }] }), {
    $or: [{ name: { $eq: 'a' } }, { $and: [{ name: { $eq: 'b' } }, { email: { $eq: null } }] }],
  });
});

test('mongo-filter — when match values hold regex syntax, then the pattern matches them literally', () => {
  const matches = (mode: Parameters<typeof matchRegex>[0], value: string, text: string) => {
    const { pattern, options } = matchRegex(mode, value);
    // JavaScript and PCRE agree on these escapes and on the i and s flags.
    return new RegExp(pattern, options).test(text);
  };
  assert.equal(matches('contains', '.*', '.*'), true);
  assert.equal(matches('contains', '.*', 'anything'), false);
  assert.equal(matches('contains', 'a+b(c)[d]{2}|$^?\\-', 'xA+B(C)[D]{2}|$^?\\-y'), true);
  assert.equal(matches('startsWith', 'AL', 'alice'), true);
  assert.equal(matches('startsWith', 'li', 'alice'), false);
  assert.equal(matches('endsWith', 'CE', 'alice'), true);
  assert.equal(matches('like', 'a%e', 'Al\nice'), true);
  assert.equal(matches('like', 'a_ice', 'alice'), false);
  assert.equal(matches('like', 'a_ice', 'a_ice'), true);
  assert.equal(matches('like', '100%', '100% sure'), true);
  assert.equal(matches('like', 'under', 'underscore'), false);
});

test('mongo-filter — when sorting, then keys keep their order and id maps to _id', () => {
  const { sort } = parseListQuery({ sort: 'email DESC, name' });
  assert.deepEqual(mongoSort(sort), [
    ['email', -1],
    ['name', 1],
    ['_id', 1],
  ]);
});

test('mongo-filter — when where is {} or a group is empty, then no empty $and/$or reaches MongoDB', () => {
  // MongoDB answers `{$and: []}` with BadValue "$and/$or/$nor must be a nonempty array".
  assert.deepEqual(where({}), {});
  assert.deepEqual(mongoFilter({ kind: 'and', conditions: [] }), {});
  assert.deepEqual(mongoFilter({ kind: 'or', conditions: [] }), { $expr: false });
  assert.deepEqual(where({ or: [{ name: 'a' }] }), { name: { $eq: 'a' } });
});

test("mongo-filter — when Sails 0.12's named operators are used, then they become the same MongoDB operators as the symbols", () => {
  assert.deepEqual(
    where({
      createdAt: { greaterThanOrEqual: '2024-01-01T00:00:00Z', lessThan: '2025-01-01T00:00:00Z' },
    }),
    {
      $and: [
        { createdAt: { $gte: new Date('2024-01-01T00:00:00.000Z') } },
        { createdAt: { $lt: new Date('2025-01-01T00:00:00.000Z') } },
      ],
    },
  );
  assert.deepEqual(where({ id: { greaterThan: ID } }), {
    _id: { $gt: ObjectId.createFromHexString(ID) },
  });
  assert.deepEqual(where({ name: { lessThanOrEqual: 'm' } }), { name: { $lte: 'm' } });
  assert.deepEqual(where({ name: { not: 'bingo' } }), { name: { $ne: 'bingo' } });
  assert.deepEqual(where({ email: { not: ['a@x.io'] } }), { email: { $nin: ['a@x.io'] } });
});
