import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig, ConfigError, VARIABLES } from '../../src/config/index.ts';

test('loadConfig — when the environment is empty, then every default applies', () => {
  const config = loadConfig({});
  assert.equal(config.port, 1337);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.store.url, 'sqlite:./data/12factor-app.db');
  assert.equal(config.shutdownTimeoutMs, 25000);
  assert.equal(config.trustProxy, false);
  assert.ok(Object.isFrozen(config));
});

test('loadConfig — when several variables are bad, then one error names every one', () => {
  assert.throws(
    () =>
      loadConfig({
        PORT: 'eighty',
        LOG_LEVEL: 'loud',
        DATABASE_URL: 'mysql://x',
        DATABASE_POOL_MAX: '0',
        TRUST_PROXY: 'maybe',
      }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      const names = error.problems.map((p) => p.variable).sort();
      assert.deepEqual(names, [
        'DATABASE_POOL_MAX',
        'DATABASE_URL',
        'LOG_LEVEL',
        'PORT',
        'TRUST_PROXY',
      ]);
      for (const name of names) assert.match(error.message, new RegExp(name));
      return true;
    },
  );
});

test('loadConfig — when MONGO_URL is set, then it chooses the store (the tutorial’s variable)', () => {
  const config = loadConfig({ MONGO_URL: 'mongodb://localhost:27017/12factor-app' });
  assert.equal(config.store.url, 'mongodb://localhost:27017/12factor-app');
});

test('loadConfig — when MONGO_URL is a replica-set seed list or an SRV record, then it is accepted as the driver accepts it', () => {
  for (const url of [
    'mongodb://a:27017,b:27017,c:27017/app?replicaSet=rs0',
    'mongodb://user:p%40ss@a:27017,b:27017/app?replicaSet=rs0&authSource=admin&w=majority',
    'mongodb+srv://cluster0.example.com/app?retryWrites=true',
  ]) {
    assert.equal(loadConfig({ MONGO_URL: url }).store.url, url);
    assert.equal(loadConfig({ DATABASE_URL: url }).store.url, url);
  }
});

test('loadConfig — when a MongoDB URL is one the driver would refuse, then it says why without echoing the password', () => {
  const refused = (url: string) => {
    try {
      loadConfig({ MONGO_URL: url });
    } catch (error) {
      return (error as Error).message;
    }
    return assert.fail(`${url} was accepted`);
  };
  assert.match(refused('mongodb://'), /MONGO_URL is not a valid MongoDB connection string/);
  assert.match(refused('mongodb://a,,b/app'), /MONGO_URL has an empty host/);
  assert.match(refused('mongodb+srv://a.example.com,b.example.com/app'), /multiple service names/);
  const message = refused('mongodb://user:se/cret@a/app');
  assert.match(message, /MONGO_URL is not a valid MongoDB connection string/);
  assert.doesNotMatch(message, /se\/cret/);
});

test('loadConfig — when MONGO_URL and a different DATABASE_URL are both set, then it refuses', () => {
  assert.throws(
    () => loadConfig({ MONGO_URL: 'mongodb://a/x', DATABASE_URL: 'postgres://b/y' }),
    /MONGO_URL and DATABASE_URL are both set/,
  );
});

test('loadConfig — when a variable is empty, then it counts as unset', () => {
  assert.equal(loadConfig({ PORT: '', MONGO_URL: '' }).port, 1337);
});

test('loadConfig — when a port is out of range or a URL is malformed, then it is rejected', () => {
  assert.throws(() => loadConfig({ PORT: '70000' }), /PORT must be from 0 to 65535/);
  assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://' }), /DATABASE_URL/);
  assert.throws(() => loadConfig({ DATABASE_URL: 'sqlite:' }), /DATABASE_URL/);
});

test('.env.example — when compared with the declaration, then it lists every variable with its default', () => {
  const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
  const entries = new Map(
    text
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  assert.deepEqual([...entries.keys()].sort(), VARIABLES.map((v) => v.name).sort());
  // Read as the header says a shell reads it (`set -a; . ./.env.example`): values with spaces
  // or globs must be quoted, or the shell runs them.
  const sourced = spawnSync('sh', ['-c', 'set -a; . ./.env.example; set +a; env -0'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  });
  assert.equal(sourced.status, 0, sourced.stderr);
  assert.equal(sourced.stderr, '');
  const values = new Map(
    sourced.stdout
      .split('\0')
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  for (const variable of VARIABLES) {
    assert.equal(values.get(variable.name), variable.default ?? '', `${variable.name} default`);
  }
  // The example itself must be a valid configuration.
  const config = Object.fromEntries(VARIABLES.map((v) => [v.name, values.get(v.name)]));
  assert.doesNotThrow(() => loadConfig(config));
});

test('README — when compared with the declaration, then its table documents every variable', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const variable of VARIABLES) {
    assert.match(readme, new RegExp(`\\| \`${variable.name}\` +\\|`), `${variable.name} in README`);
  }
});

test('loadConfig — when API_TOKENS lists tokens, then each gets its scope, write by default', () => {
  const config = loadConfig({
    API_TOKENS: ' aaaaaaaaaaaaaaaa , bbbbbbbbbbbbbbbb:read,c:c:cccccccccccc:write ',
  });
  assert.deepEqual(config.apiTokens, [
    { token: 'aaaaaaaaaaaaaaaa', scope: 'write' },
    { token: 'bbbbbbbbbbbbbbbb', scope: 'read' },
    { token: 'c:c:cccccccccccc', scope: 'write' },
  ]);
  assert.deepEqual(loadConfig({}).apiTokens, []);
});

test('loadConfig — when a token is short or its scope unknown, then it is refused without echoing the token', () => {
  assert.throws(
    () => loadConfig({ API_TOKENS: 'short-secret,eeeeeeeeeeeeeeee:admin' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.problems.length, 2);
      assert.doesNotMatch(error.message, /short-secret|eeee/);
      return true;
    },
  );
});

test('loadConfig — when JWT_JWKS_URL is set without issuer and audience, then it is refused', () => {
  assert.throws(() => loadConfig({ JWT_JWKS_URL: 'https://id.example.com/jwks' }), /JWT_ISSUER/);
  const config = loadConfig({
    JWT_JWKS_URL: 'https://id.example.com/jwks',
    JWT_ISSUER: 'https://id.example.com/',
    JWT_AUDIENCE: '12factor-app',
  });
  assert.equal(config.jwt?.audience, '12factor-app');
});

test('loadConfig — when CORS_ORIGINS is set, then each entry must be a bare origin', () => {
  assert.deepEqual(
    loadConfig({ CORS_ORIGINS: 'https://a.example.com, http://localhost:5173' }).corsOrigins,
    ['https://a.example.com', 'http://localhost:5173'],
  );
  assert.throws(() => loadConfig({ CORS_ORIGINS: '*' }), /CORS_ORIGINS/);
  assert.throws(() => loadConfig({ CORS_ORIGINS: 'https://a.example.com/path' }), /CORS_ORIGINS/);
});

test('loadConfig — when the limits are left alone, then rate limiting and load shedding are on', () => {
  const config = loadConfig({});
  assert.deepEqual(config.rateLimit, { max: 1000, windowMs: 60000 });
  assert.equal(config.maxEventLoopDelayMs, 1000);
  assert.ok(
    config.responseTimeoutMs > config.store.statementTimeoutMs,
    'the store times out first',
  );
  assert.throws(() => loadConfig({ REDIS_URL: 'http://cache' }), /REDIS_URL/);
});

test('loadConfig — when TRUST_PROXY is a boolean or proxy addresses, then Fastify gets that; a hop count or garbage is refused', () => {
  assert.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
  assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
  assert.deepEqual(
    loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.0.2.7,::1,fd00::/8,loopback' }).trustProxy,
    ['10.0.0.0/8', '192.0.2.7', '::1', 'fd00::/8', 'loopback'],
  );
  assert.throws(() => loadConfig({ TRUST_PROXY: '1' }), /TRUST_PROXY cannot be a hop count/);
  for (const bad of ['10.0.0.0/33', 'proxy.example.com', '10.0.0.1/8/1', 'yes']) {
    assert.throws(() => loadConfig({ TRUST_PROXY: bad }), /TRUST_PROXY/, bad);
  }
});
