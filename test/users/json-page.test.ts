import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { jsonPage } from '../../src/users/user-store.ts';

const USERS = [
  {
    name: 'bingo',
    email: 'b@example.com',
    createdAt: '2017-02-13T06:13:53.791Z',
    updatedAt: '2017-02-13T06:13:53.791Z',
    id: '58a41d952f53291200b9e065',
  },
  {
    name: 'q"uote',
    createdAt: '2017-02-13T06:13:54.000Z',
    updatedAt: '2017-02-13T06:13:55.000Z',
    id: '58a41d952f53291200b9e066',
  },
];

test('json page — when a page arrives as JSON text, then it reads, compares, spreads and prints as a page of records', () => {
  const json = JSON.stringify(USERS);
  const page = jsonPage(json, 7);
  assert.equal(page.json, json);
  assert.deepEqual(page, { users: USERS, total: 7 });
  assert.equal(page.users, page.users, 'parsed once');
  assert.deepEqual({ ...page }, { users: USERS, total: 7 });
  assert.equal(inspect(page), inspect({ users: USERS, total: 7 }));
  assert.deepEqual(jsonPage('[]', 0), { users: [], total: 0 });
});
