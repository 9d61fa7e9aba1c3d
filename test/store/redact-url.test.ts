import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactUrl } from '../../src/store/index.ts';

test('redactUrl — when a URL has a password, then only the password becomes ***', () => {
  assert.equal(redactUrl('postgres://app:s3cret@db:5432/app'), 'postgres://app:***@db:5432/app');
  assert.equal(
    redactUrl('mongodb+srv://app:s3cret@cluster.example.net/app?w=1'),
    'mongodb+srv://app:***@cluster.example.net/app?w=1',
  );
  assert.equal(
    redactUrl('mongodb://app:s3cret@a:1,b:2/app?replicaSet=rs'),
    'mongodb://app:***@a:1,b:2/app?replicaSet=rs',
  );
  assert.equal(redactUrl('redis://:s3cret@cache:6379'), 'redis://:***@cache:6379');
});

test('redactUrl — when the password holds @, / or ?, then none of it leaks', () => {
  for (const url of [
    'postgres://app:p@ss@db/app',
    'postgres://app:p/ss@db/app',
    'postgres://app:p?ss@db/app',
  ]) {
    const redacted = redactUrl(url);
    assert.equal(redacted, 'postgres://app:***@db/app', url);
  }
});

test('redactUrl — when a password is a query parameter, then it is redacted too', () => {
  assert.equal(
    redactUrl('postgres://db/app?user=app&password=s3cret&sslmode=require'),
    'postgres://db/app?user=app&password=***&sslmode=require',
  );
});

test('redactUrl — when a URL has no password, then it is unchanged', () => {
  for (const url of [
    'sqlite:./data/app.db',
    'sqlite::memory:',
    'postgres://postgres@127.0.0.1:5432/postgres',
    'mongodb://localhost/app',
  ]) {
    assert.equal(redactUrl(url), url);
  }
});
