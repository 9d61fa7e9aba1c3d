import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { endpointLabel, webhookBody, webhookHeaders } from '../../src/webhooks/webhook-message.ts';
import type { UserEvent } from '../../src/users/user-events.ts';

const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const NEXT_SECRET = `whsec_${Buffer.alloc(24, 2).toString('base64')}`;
const user = {
  name: 'bingo',
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:05.000Z',
  id: '58a41d952f53291200b9e065',
};
const event: UserEvent = {
  id: '6925484192f7a1c3b8d0e065',
  sequence: 42,
  type: 'user.updated',
  occurredAt: user.updatedAt,
  userId: user.id,
  before: { ...user, name: 'bing', updatedAt: user.createdAt },
  after: user,
};

test('webhook message — when an event is sent, then the body is the documented JSON shape', () => {
  assert.deepEqual(JSON.parse(webhookBody(event)), {
    id: event.id,
    type: 'user.updated',
    timestamp: '2024-01-01T00:00:05.000Z',
    sequence: 42,
    data: { userId: user.id, before: event.before, after: user },
  });
});

test('webhook message — when headers are signed, then the standardwebhooks package verifies them', () => {
  const body = webhookBody(event);
  const headers = webhookHeaders({ id: event.id, body, secrets: [SECRET], at: new Date() });
  assert.equal(headers['webhook-id'], event.id);
  assert.match(headers['webhook-signature'] ?? '', /^v1,[A-Za-z0-9+/]+=*$/);
  assert.deepEqual(new Webhook(SECRET).verify(body, headers), JSON.parse(body));
});

test('webhook message — when the body or timestamp is tampered with, then verification fails', () => {
  const body = webhookBody(event);
  const headers = webhookHeaders({ id: event.id, body, secrets: [SECRET], at: new Date() });
  const webhook = new Webhook(SECRET);
  assert.throws(() => webhook.verify(body.replace('bingo', 'bongo'), headers));
  const old = webhookHeaders({
    id: event.id,
    body,
    secrets: [SECRET],
    at: new Date(Date.now() - 600_000),
  });
  assert.throws(() => webhook.verify(body, old), /too old/i);
  assert.throws(() => new Webhook(NEXT_SECRET).verify(body, headers));
});

test('webhook message — when two secrets are configured, then a receiver holding either one verifies', () => {
  const body = webhookBody(event);
  const headers = webhookHeaders({
    id: event.id,
    body,
    secrets: [SECRET, NEXT_SECRET],
    at: new Date(),
  });
  assert.equal(headers['webhook-signature']?.split(' ').length, 2);
  new Webhook(SECRET).verify(body, headers);
  new Webhook(NEXT_SECRET).verify(body, headers);
});

test('webhook message — when an endpoint is logged, then credentials and the query string are left out', () => {
  assert.equal(
    endpointLabel('https://u:p@hooks.example:8443/in?token=abc'),
    'https://hooks.example:8443/in',
  );
  assert.equal(endpointLabel('not a url'), 'invalid-url');
});
