import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { buildTestApp, type TestApp } from '../support/app.ts';
import type { AccessSettings } from '../../src/http/plugins/auth/index.ts';

const WRITER = 'w'.repeat(8) + '-writer-token-0001';
const READER = 'r'.repeat(8) + '-reader-token-0002';
const TOKENS = [
  { token: WRITER, scope: 'write' as const },
  { token: READER, scope: 'read' as const },
];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function appWith(t: TestContext, access: Partial<AccessSettings>): Promise<TestApp> {
  const app = await buildTestApp({ access });
  t.after(() => app.close());
  return app;
}

test('access — when API_TOKENS is set and a write has no token, then 401 with a Bearer challenge and nothing stored', async (t) => {
  const { app } = await appWith(t, { apiTokens: TOKENS });
  const res = await app.inject({ method: 'POST', url: '/user?name=bingo' });
  assert.equal(res.statusCode, 401);
  assert.equal(res.headers['www-authenticate'], 'Bearer realm="12factor-app"');
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.json().code, 'UNAUTHENTICATED');
  assert.deepEqual((await app.inject({ method: 'GET', url: '/user' })).json(), []);
});

test('access — when the token is wrong, malformed or in another scheme, then 401 invalid_token', async (t) => {
  const { app } = await appWith(t, { apiTokens: TOKENS });
  for (const authorization of [
    `Bearer ${WRITER}x`,
    `Bearer ${WRITER.slice(0, -1)}`,
    `Basic ${Buffer.from(`a:${WRITER}`).toString('base64')}`,
    'Bearer',
    `Bearer ${WRITER} extra`,
    `Bearer "${WRITER}"`,
  ]) {
    const res = await app.inject({
      method: 'DELETE',
      url: '/user/0123456789abcdef01234567',
      headers: { authorization },
    });
    assert.equal(res.statusCode, 401, authorization);
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
  }
});

test('access — when a read-only token writes, then 403 insufficient_scope; a write token creates', async (t) => {
  const { app } = await appWith(t, { apiTokens: TOKENS });
  const refused = await app.inject({
    method: 'POST',
    url: '/user?name=a',
    headers: bearer(READER),
  });
  assert.equal(refused.statusCode, 403);
  assert.equal(refused.json().code, 'FORBIDDEN');
  assert.match(
    String(refused.headers['www-authenticate']),
    /insufficient_scope", scope="user:write"/,
  );
  const created = await app.inject({
    method: 'POST',
    url: '/user?name=a',
    headers: bearer(WRITER),
  });
  assert.equal(created.statusCode, 201);
  // The scheme is case-insensitive (RFC 6750 §2.1 via RFC 9110 §11.1).
  const id = created.json().id;
  const lower = await app.inject({
    method: 'PATCH',
    url: `/user/${id}?name=b`,
    headers: { authorization: `bearer ${WRITER}` },
  });
  assert.equal(lower.statusCode, 200);
});

test('access — when reads are open (the default), then GET needs no token; closed, then 401 without and 200 with a read token', async (t) => {
  const open = await appWith(t, { apiTokens: TOKENS });
  assert.equal((await open.app.inject({ method: 'GET', url: '/user' })).statusCode, 200);
  const closed = await appWith(t, { apiTokens: TOKENS, readsRequireAuth: true });
  assert.equal((await closed.app.inject({ method: 'GET', url: '/user' })).statusCode, 401);
  assert.equal(
    (await closed.app.inject({ method: 'GET', url: '/user/0123456789abcdef01234567' })).statusCode,
    401,
  );
  assert.equal(
    (await closed.app.inject({ method: 'GET', url: '/user', headers: bearer(READER) })).statusCode,
    200,
  );
});

test('access — when auth is on, then health, readiness, version and the docs stay open; metrics only when configured', async (t) => {
  const open = await appWith(t, { apiTokens: TOKENS, readsRequireAuth: true });
  for (const url of ['/healthz', '/readyz', '/version', '/openapi.json', '/metrics']) {
    assert.equal((await open.app.inject({ method: 'GET', url })).statusCode, 200, url);
  }
  assert.notEqual((await open.app.inject({ method: 'GET', url: '/docs/' })).statusCode, 401);
  const closed = await appWith(t, { apiTokens: TOKENS, metricsRequireAuth: true });
  assert.equal((await closed.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
  const scraped = await closed.app.inject({
    method: 'GET',
    url: '/metrics',
    headers: bearer(READER),
  });
  assert.equal(scraped.statusCode, 200);
});

test('access — when tokens are sent, then no log line carries them', async (t) => {
  const { app, logs } = await appWith(t, { apiTokens: TOKENS });
  await app.inject({ method: 'POST', url: '/user?name=a', headers: bearer(WRITER) });
  await app.inject({ method: 'POST', url: '/user?name=a', headers: bearer(`${READER}zz`) });
  const text = JSON.stringify(logs);
  assert.doesNotMatch(text, /writer-token|reader-token/);
  assert.ok(
    logs.some((l) => l.principal === 'token#1'),
    'the subject is logged instead',
  );
});

async function serveJwks(t: TestContext, body: () => string | undefined): Promise<string> {
  const server: Server = createServer((_req, res) => {
    const text = body();
    if (text === undefined) return void res.writeHead(500).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
}

test('access — when JWTs are verified against a JWKS, then only a fresh token for this issuer and audience with user:write may write', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const other = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  let keysUp = true;
  const jwksUrl = await serveJwks(t, () => (keysUp ? JSON.stringify({ keys: [jwk] }) : undefined));
  const { app } = await appWith(t, {
    jwt: { jwksUrl, issuer: 'https://issuer.test', audience: '12factor-app' },
  });
  const sign = (
    claims: Record<string, unknown>,
    options: {
      key?: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
      iss?: string;
      aud?: string;
      exp?: string;
    } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('alice')
      .setIssuer(options.iss ?? 'https://issuer.test')
      .setAudience(options.aud ?? '12factor-app')
      .setIssuedAt()
      .setExpirationTime(options.exp ?? '5m')
      .sign(options.key ?? privateKey);
  const post = async (token: string) =>
    (await app.inject({ method: 'POST', url: '/user?name=j', headers: bearer(token) })).statusCode;

  assert.equal(await post(await sign({ scope: 'user:write' })), 201);
  assert.equal(await post(await sign({ scp: ['user:read', 'user:write'] })), 201);
  assert.equal(await post(await sign({ scope: 'user:read' })), 403);
  assert.equal(await post(await sign({})), 403);
  assert.equal(await post(await sign({ scope: 'user:write' }, { aud: 'another-service' })), 401);
  assert.equal(await post(await sign({ scope: 'user:write' }, { iss: 'https://evil.test' })), 401);
  assert.equal(await post(await sign({ scope: 'user:write' }, { exp: '-2m' })), 401);
  assert.equal(await post(await sign({ scope: 'user:write' }, { key: other.privateKey })), 401);
  // alg:none and HS256 keyed with the public JWK: classic forgeries.
  const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
    JSON.stringify({
      scope: 'user:write',
      iss: 'https://issuer.test',
      aud: '12factor-app',
      exp: 2e9,
    }),
  ).toString('base64url')}.`;
  assert.equal(await post(unsigned), 401);
  const hmac = await new SignJWT({ scope: 'user:write' })
    .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
    .setIssuer('https://issuer.test')
    .setAudience('12factor-app')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(JSON.stringify(jwk)));
  assert.equal(await post(hmac), 401);
  assert.equal(await post('not.a.jwt'), 401);
  // A token naming its own key set (jku) must not make the service fetch it (SSRF, API7).
  let fetchedByAttacker = 0;
  const attackerJwks = await serveJwks(t, () => {
    fetchedByAttacker++;
    return JSON.stringify({ keys: [] });
  });
  const jku = await new SignJWT({ scope: 'user:write' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', jku: attackerJwks })
    .setIssuer('https://issuer.test')
    .setAudience('12factor-app')
    .setExpirationTime('5m')
    .sign(other.privateKey);
  assert.equal(await post(jku), 401);
  assert.equal(fetchedByAttacker, 0);

  // Keys already fetched stay usable while the issuer is down.
  keysUp = false;
  assert.equal(await post(await sign({ scope: 'user:write' })), 201);
});

test('access — when the JWKS cannot be fetched, then 503 AUTH_UNAVAILABLE, not a 401 that would make clients drop a good token', async (t) => {
  const { privateKey } = await generateKeyPair('ES256');
  const jwksUrl = await serveJwks(t, () => undefined);
  const { app } = await appWith(t, {
    jwt: { jwksUrl, issuer: 'https://issuer.test', audience: '12factor-app' },
  });
  const token = await new SignJWT({ scope: 'user:write' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer('https://issuer.test')
    .setAudience('12factor-app')
    .setExpirationTime('5m')
    .sign(privateKey);
  const res = await app.inject({ method: 'POST', url: '/user?name=j', headers: bearer(token) });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'AUTH_UNAVAILABLE');
  assert.equal(res.headers['retry-after'], '5');
});

test('access — when a JWT has no sub, then its Idempotency-Key scope is its client (azp or client_id), and a token naming neither gets a clear 401', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const jwksUrl = await serveJwks(t, () => JSON.stringify({ keys: [jwk] }));
  const { app } = await appWith(t, {
    jwt: { jwksUrl, issuer: 'https://issuer.test', audience: '12factor-app' },
  });
  const clientToken = (claims: Record<string, unknown>) =>
    new SignJWT({ scope: 'user:write', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('https://issuer.test')
      .setAudience('12factor-app')
      .setExpirationTime('5m')
      .sign(privateKey);
  const create = async (token: string) =>
    app.inject({
      method: 'POST',
      url: '/user?name=retried',
      headers: { ...bearer(token), 'idempotency-key': 'same-key-1' },
    });

  const first = await create(await clientToken({ azp: 'client-a' }));
  assert.equal(first.statusCode, 201);
  const other = await create(await clientToken({ client_id: 'client-b' }));
  assert.equal(other.statusCode, 201);
  assert.notEqual(other.json().id, first.json().id, "another client's key is its own");
  assert.equal(other.headers['idempotent-replayed'], undefined);
  const retry = await create(await clientToken({ azp: 'client-a' }));
  assert.equal(retry.statusCode, 201);
  assert.equal(retry.json().id, first.json().id, 'the same client replays its own user');
  assert.equal(retry.headers['idempotent-replayed'], 'true');

  const anonymous = await create(await clientToken({}));
  assert.equal(anonymous.statusCode, 401);
  assert.equal(anonymous.json().code, 'UNAUTHENTICATED');
  assert.match(anonymous.json().detail, /names no subject/);
  assert.match(String(anonymous.headers['www-authenticate']), /error="invalid_token"/);
  const count = (await app.inject({ method: 'GET', url: '/user' })).json().length;
  assert.equal(count, 2, 'the refused token created nothing');
});
