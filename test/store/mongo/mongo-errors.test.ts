import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MongoServerError, ObjectId } from 'mongodb';
import {
  duplicatesPipeline,
  indexBuildDuplicate,
} from '../../../src/store/mongo/mongo-duplicates.ts';
import { isDuplicateKey, isMongoUnavailable } from '../../../src/store/mongo/mongo-errors.ts';
import { EMAIL_KEY_INDEX } from '../../../src/store/mongo/mongo-schema.ts';
import { isDomainError, migrationFoundDuplicates } from '../../../src/users/errors.ts';

// Errors as the driver builds them from a server's reply document (shapes from the manual's
// error codes and a 7.0 server's createIndexes answer).
const serverError = (reply: Record<string, unknown>) => new MongoServerError(reply as never);

const indexBuildFailure = serverError({
  ok: 0,
  code: 11000,
  codeName: 'DuplicateKey',
  errmsg:
    'Index build failed: 6f1c…: Collection app.users ( 1a2b… ) :: caused by :: E11000 duplicate key error collection: app.users index: users_email_key_unique dup key: { emailKey: "ann@example.com" }',
  keyPattern: { emailKey: 1 },
  keyValue: { emailKey: 'ann@example.com' },
});

describe('mongo-errors', () => {
  test('isMongoUnavailable when a transaction stays transient after the driver’s retries, then the store counts as unavailable (503)', () => {
    const conflict = serverError({
      ok: 0,
      code: 112,
      codeName: 'WriteConflict',
      errmsg: 'Write conflict during plan execution and yielding is disabled.',
      errorLabels: ['TransientTransactionError'],
    });
    assert.equal(isMongoUnavailable(conflict), true);
    assert.equal(isMongoUnavailable(new Error('wrapped', { cause: conflict })), true);
  });

  test('isMongoUnavailable when the server answers ExceededTimeLimit or MaxTimeMSExpired, then the store counts as unavailable (503)', () => {
    for (const [code, codeName] of [
      [262, 'ExceededTimeLimit'],
      [50, 'MaxTimeMSExpired'],
    ] as const) {
      assert.equal(isMongoUnavailable(serverError({ ok: 0, code, codeName, errmsg: 'x' })), true);
    }
  });

  test('isMongoUnavailable when the request itself is wrong, then it is not the store’s availability', () => {
    const badValue = serverError({
      ok: 0,
      code: 2,
      codeName: 'BadValue',
      errmsg: '$and/$or/$nor must be a nonempty array',
    });
    assert.equal(isMongoUnavailable(badValue), false);
    assert.equal(isMongoUnavailable(indexBuildFailure), false);
  });

  test('indexBuildDuplicate when createIndexes fails on existing duplicates, then it names the collection, the fields and the first value', () => {
    assert.deepEqual(indexBuildDuplicate(indexBuildFailure), {
      collection: 'users',
      fields: ['emailKey'],
      partialFilter: { emailKey: { $type: 'string' } },
      first: { emailKey: 'ann@example.com' },
    });
    const insertConflict = serverError({
      ok: 0,
      code: 11000,
      errmsg: 'E11000 duplicate key error',
    });
    assert.equal(indexBuildDuplicate(insertConflict), undefined);
    assert.equal(indexBuildDuplicate(new Error('x')), undefined);
    assert.equal(
      isDuplicateKey(indexBuildFailure, { name: 'users_email_key_unique', field: 'emailKey' }),
      true,
    );
  });

  test('duplicatesPipeline when it groups the index’s fields, then records without the field are left out and the answer is bounded', () => {
    const pipeline = duplicatesPipeline(['emailKey']);
    assert.deepEqual(pipeline[0], { $match: { emailKey: { $exists: true, $ne: null } } });
    // A partial index: exactly the documents its filter selects, as the index does.
    const partial = duplicatesPipeline(['emailKey'], EMAIL_KEY_INDEX.partialFilterExpression);
    assert.deepEqual(partial[0], { $match: { emailKey: { $type: 'string' } } });
    assert.deepEqual(pipeline[1]!.$group._id, { emailKey: '$emailKey' });
    assert.deepEqual(pipeline[2], { $match: { count: { $gt: 1 } } });
    assert.ok(pipeline.some((stage) => stage.$limit === 10));
    assert.deepEqual(pipeline.at(-1)!.$project.ids, { $slice: ['$ids', 5] });
  });

  test('migrationFoundDuplicates when a migration meets duplicates, then it says so and which, as bad data, never EMAIL_TAKEN', () => {
    const id = new ObjectId('65a000000000000000000001').toHexString();
    const error = migrationFoundDuplicates('0001-create-indexes', [
      { key: { emailKey: 'ann@example.com' }, count: 7, ids: [id, 'b', 'c', 'd', 'e'] },
      { key: { emailKey: 'bob@example.com' }, count: 0, ids: [] },
    ]);
    assert.equal(isDomainError(error, 'VALIDATION_FAILED'), true);
    assert.match(error.message, /^Migration 0001-create-indexes found records sharing a value/);
    assert.match(
      error.message,
      new RegExp(`emailKey "ann@example.com" is held by 7 records \\(${id}, b, c, d, e, …\\)`),
    );
    assert.match(
      error.message,
      /"bob@example.com" is held by more than one record;|"bob@example.com" is held by more than one record\./,
    );
    assert.match(error.message, /run the migration again/);
  });
});
