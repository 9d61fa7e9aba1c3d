import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromSailsDocument, isMongoDocument } from '../../src/admin/sails-records.ts';
import { createLineParser } from '../../src/admin/user-lines.ts';

const parse = (text: string) => fromSailsDocument(JSON.parse(text));

describe('sails-records', () => {
  test('fromSailsDocument when dates are relaxed, canonical or legacy, then each becomes the API’s timestamp', () => {
    const result = parse(
      '{"_id":{"$oid":"58A41D952F53291200B9E065"},"name":"n","createdAt":{"$date":{"$numberLong":"1486966433791"}},"updatedAt":{"$date":"2017-02-13T07:00:00.5+01:00"}}',
    );
    assert.deepEqual(result, {
      record: {
        name: 'n',
        id: '58a41d952f53291200b9e065',
        createdAt: '2017-02-13T06:13:53.791Z',
        updatedAt: '2017-02-13T06:00:00.500Z',
      },
      dropped: [],
    });
    const legacy = parse(
      '{"_id":{"$oid":"58a41d952f53291200b9e065"},"name":"n","createdAt":{"$date":1486966433791},"updatedAt":"2017-02-13T06:13:53.791Z"}',
    );
    assert.equal('record' in legacy && legacy.record.createdAt, '2017-02-13T06:13:53.791Z');
    assert.equal('record' in legacy && legacy.record.updatedAt, '2017-02-13T06:13:53.791Z');
  });

  test('fromSailsDocument when a date is a string, then it is passed on for the schema to judge, and a line with "1" or a local time is refused', () => {
    const doc = (createdAt: string) =>
      JSON.stringify({
        _id: { $oid: '58a41d952f53291200b9e065' },
        name: 'n',
        createdAt,
        updatedAt: '2017-02-13T06:13:53.791Z',
      });
    const passed = parse(doc('1'));
    assert.equal('record' in passed && passed.record.createdAt, '1');
    const parseLine = createLineParser();
    for (const createdAt of ['1', '2017-02-13 06:13:53', '2017-02-13T06:13:53']) {
      const line = parseLine(doc(createdAt));
      assert.ok('errors' in line, `${createdAt} is refused`);
      assert.deepEqual(
        line.errors.map((e) => e.field),
        ['createdAt'],
      );
    }
    const zoned = parseLine(doc('2017-02-13T06:13:53.791Z'));
    assert.ok('user' in zoned && zoned.user.createdAt === '2017-02-13T06:13:53.791Z');
  });

  test('fromSailsDocument when the document has attributes a user cannot keep, then they are named', () => {
    const result = parse(
      '{"_id":{"$oid":"58a41d952f53291200b9e065"},"name":"n","email":"a@b.c","age":{"$numberInt":"3"},"tags":["x"],"createdAt":{"$date":"2017-02-13T06:13:53Z"},"updatedAt":{"$date":"2017-02-13T06:13:53Z"}}',
    );
    assert.ok('record' in result);
    assert.deepEqual(result.dropped, ['age', 'tags']);
    assert.equal(result.record.email, 'a@b.c');
  });

  test('fromSailsDocument when the Extended JSON is malformed, then the line is refused with the reason', () => {
    assert.deepEqual(parse('{"_id":{"$oid":"xyz"},"name":"n"}'), {
      errors: [
        {
          field: 'line',
          message:
            'is not valid Extended JSON (input must be a 24 character hex string, 12 byte Uint8Array, or an integer)',
        },
      ],
    });
    assert.deepEqual(parse('{"_id":7,"name":"n"}'), {
      errors: [{ field: '_id', message: 'must be an ObjectId ({"$oid": "…"})' }],
    });
  });

  test('isMongoDocument when a line has _id and no id, then it is a MongoDB document', () => {
    assert.equal(isMongoDocument({ _id: 1 }), true);
    assert.equal(isMongoDocument({ id: 'x' }), false);
    assert.equal(isMongoDocument({ id: 'x', _id: 1 }), false);
  });
});
