import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PROBLEMS, classify, problem } from '../../src/http/problems.ts';
import { DomainErrorCode, userNotFound } from '../../src/users/errors.ts';

test('catalogue — when compared with the README, then every code is documented with its status', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const rows = new Map(
    [...readme.matchAll(/^\| `([A-Z_]+)` +\| (\d{3}) +\|/gm)].map((m) => [m[1], Number(m[2])]),
  );
  assert.deepEqual([...rows.keys()].sort(), Object.keys(PROBLEMS).sort());
  for (const [code, { status }] of Object.entries(PROBLEMS))
    assert.equal(rows.get(code), status, code);
});

test('catalogue — when the domain adds a code, then HTTP maps it', () => {
  for (const code of Object.values(DomainErrorCode)) assert.ok(code in PROBLEMS, code);
});

test('classify — when an unknown error is thrown, then 500 without its message', () => {
  const result = classify(new Error('connect ECONNREFUSED /var/run/secret.sock'));
  assert.equal(result.code, 'INTERNAL_ERROR');
  assert.doesNotMatch(result.detail, /ECONNREFUSED|secret/);
});

test('problem — when built, then it carries the RFC 9457 members and the stable code', () => {
  const { code, detail } = classify(userNotFound('x'));
  const doc = problem(code, detail, { instance: '/user/x', requestId: 'r1' });
  assert.deepEqual(Object.keys(doc), [
    'type',
    'title',
    'status',
    'detail',
    'instance',
    'code',
    'requestId',
  ]);
  assert.equal(doc.status, 404);
  assert.match(doc.type, /^tag:12factor-app,2026:problem:user-not-found$/);
});
