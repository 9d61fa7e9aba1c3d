import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ObjectId } from 'mongodb';
import { emailHoldersFilter } from '../../../src/store/mongo/mongo-import.ts';
import { EMAIL_KEY_INDEX } from '../../../src/store/mongo/mongo-schema.ts';
import { createIndexes } from '../../../src/store/mongo/migrations/0001-create-indexes.ts';

const user = (id: string, email?: string) => ({
  id,
  name: 'n',
  ...(email === undefined ? {} : { email }),
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
});
const A = '00000000000000000000000a';
const B = '00000000000000000000000b';

describe('mongo-import', () => {
  test('emailHoldersFilter when a batch has addresses, then the query carries the partial index filter expression', () => {
    const filter = emailHoldersFilter([user(A, 'Ann@Example.com'), user(B)]);
    assert.deepEqual(filter, {
      $and: [
        { emailKey: { $type: 'string' } },
        { emailKey: { $in: ['ann@example.com'] } },
        { _id: { $nin: [ObjectId.createFromHexString(A), ObjectId.createFromHexString(B)] } },
      ],
    });
  });

  test('emailHoldersFilter when a batch has no address, then no query is needed', () => {
    assert.equal(emailHoldersFilter([user(A), user(B)]), undefined);
  });

  test('emailHoldersFilter when compared with the migration, then it repeats the index’s own filter expression', async () => {
    const created: unknown[] = [];
    const db = {
      collection: () => ({
        createIndexes: (specs: unknown[]) => created.push(...specs),
      }),
    };
    await createIndexes.up(db as never);
    const unique = created.find(
      (spec) => (spec as { name: string }).name === EMAIL_KEY_INDEX.name,
    ) as { partialFilterExpression: unknown; unique: boolean };
    assert.equal(unique.unique, true);
    const filter = emailHoldersFilter([user(A, 'a@example.com')]);
    assert.deepEqual(filter?.$and?.[0], unique.partialFilterExpression);
  });
});
