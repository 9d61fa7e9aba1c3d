import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Document } from 'mongodb';
import { claimPipeline, leaseFilter } from '../../../src/store/mongo/mongo-outbox-claim.ts';

const now = new Date('2026-01-01T00:00:00.000Z');
const stageIndex = (pipeline: Document[], test: (stage: Document) => boolean) =>
  pipeline.findIndex(test);

// The claim's documents, checked without a server; the outbox contract suite runs them on one.
describe('mongo-outbox-claim', () => {
  test('claimPipeline when a blocked user holds the first due deliveries, then the blocked ones are dropped before the limit', () => {
    const pipeline = claimPipeline({ endpoint: 'https://hook.example/a', now, limit: 5 });
    const limit = stageIndex(pipeline, (s) => '$limit' in s);
    const pending = stageIndex(pipeline, (s) => s.$lookup?.as === 'pendingEarlier');
    const pendingDropped = stageIndex(pipeline, (s) => s.$match?.pendingEarlier?.$size === 0);
    const unfanned = stageIndex(pipeline, (s) => s.$lookup?.as === 'unfannedEarlier');
    const unfannedDropped = stageIndex(pipeline, (s) => s.$match?.unfannedEarlier?.$size === 0);
    assert.deepEqual(pipeline[limit], { $limit: 5 });
    for (const [name, index] of Object.entries({
      pending,
      pendingDropped,
      unfanned,
      unfannedDropped,
    })) {
      assert.ok(index >= 0 && index < limit, `${name} comes before $limit`);
    }
    assert.ok(pending < pendingDropped && unfanned < unfannedDropped);
    assert.deepEqual(pipeline[1], { $sort: { sequence: 1 } });
  });

  test('claimPipeline when it looks for earlier work of a user, then it asks for anything still pending, due or not', () => {
    const pipeline = claimPipeline({ endpoint: 'https://hook.example/a', now, limit: 1 });
    const lookup = pipeline.find((s) => s.$lookup?.as === 'pendingEarlier')!.$lookup;
    assert.equal(lookup.from, 'outbox_deliveries');
    const match = lookup.pipeline[0].$match;
    // No nextAttemptAt and no lease condition: a delivery waiting to retry blocks its user.
    assert.deepEqual(Object.keys(match).sort(), ['$expr', 'endpoint', 'status']);
    assert.equal(match.endpoint, 'https://hook.example/a');
    assert.equal(match.status, 'pending');
    assert.deepEqual(match.$expr, {
      $and: [{ $eq: ['$userId', '$$userId'] }, { $lt: ['$sequence', '$$sequence'] }],
    });
    const events = pipeline.find((s) => s.$lookup?.as === 'unfannedEarlier')!.$lookup;
    assert.equal(events.from, 'outbox_events');
    assert.deepEqual(events.pipeline[0].$match, {
      fannedOutAt: null,
      $expr: { $and: [{ $eq: ['$userId', '$$userId'] }, { $lt: ['$_id', '$$sequence'] }] },
    });
  });

  test('claimPipeline when it picks candidates, then only due and unleased deliveries of the endpoint qualify', () => {
    const [first] = claimPipeline({ endpoint: 'e', now, limit: 1 });
    assert.deepEqual(first, {
      $match: {
        endpoint: 'e',
        status: 'pending',
        nextAttemptAt: { $lte: now },
        $or: [{ leaseUntil: null }, { leaseUntil: { $lte: now } }],
      },
    });
  });

  test('leaseFilter when a candidate is leased, then it must still be pending, due and unleased', () => {
    assert.deepEqual(leaseFilter('7 e', now), {
      _id: '7 e',
      status: 'pending',
      nextAttemptAt: { $lte: now },
      $or: [{ leaseUntil: null }, { leaseUntil: { $lte: now } }],
    });
  });
});
