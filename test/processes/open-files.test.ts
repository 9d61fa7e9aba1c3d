import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectionCap, openFilesLimit } from '../../src/processes/open-files.ts';

describe('connectionCap', () => {
  test('MAX_CONNECTIONS=0 derives a cap below the open-files limit, at most 10,000', () => {
    assert.deepEqual(connectionCap(0, 1024), { cap: 889, clamped: false });
    assert.deepEqual(connectionCap(0, 1_048_576), { cap: 10_000, clamped: false });
    assert.deepEqual(connectionCap(0, undefined), { cap: 10_000, clamped: false });
  });

  test('a MAX_CONNECTIONS above what the limit allows is lowered and says so', () => {
    assert.deepEqual(connectionCap(5000, 1024), { cap: 889, clamped: true });
    assert.deepEqual(connectionCap(500, 1024), { cap: 500, clamped: false });
  });

  test('the limit is read from this Linux process', () => {
    const limit = openFilesLimit();
    assert.ok(limit === undefined || limit > 0);
  });
});
