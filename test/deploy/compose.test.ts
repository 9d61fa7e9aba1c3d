import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/index.ts';
import {
  appServices,
  composeValidator,
  durationSeconds,
  environmentOf,
  interpolate,
  loadCompose,
} from './support/compose.ts';

const COMPOSE = fileURLToPath(new URL('../../compose.yaml', import.meta.url));
const validate = composeValidator();
const compose = loadCompose(COMPOSE);
const service = (name: string) => compose.services[name];

test('compose — when compose.yaml is read as Compose reads it, then it is valid against the Compose specification schema', () => {
  assert.deepEqual(validate(compose), []);
});

test('compose — when a service has a misspelled key or a bad duration, then the schema rejects it', () => {
  const bad = structuredClone(compose);
  bad.services.web.comand = ['node'];
  bad.services.web.stop_grace_period = '35 seconds';
  const problems = validate(bad).join('\n');
  assert.match(problems, /additional properties \(comand\)/);
  assert.match(problems, /stop_grace_period must match format "duration"/);
});

test('compose — when values are interpolated, then defaults, overrides and nesting follow the Compose spec', () => {
  assert.equal(interpolate('${A:-x}-${B-y}-$$C', { B: '' }), 'x--$C');
  assert.equal(interpolate('${A:-${B:-in}}', {}), 'in');
  assert.equal(interpolate('${A:+set}', { A: '1' }), 'set');
  assert.throws(() => interpolate('${A:?needed}', {}), /needed/);
});

test('compose — when the stack starts, then release migrates once after PostgreSQL is healthy and web starts only after release succeeded', () => {
  assert.deepEqual(service('release').depends_on, { postgres: { condition: 'service_healthy' } });
  assert.equal(service('release').restart, 'no');
  assert.deepEqual(service('web').depends_on, {
    postgres: { condition: 'service_healthy' },
    release: { condition: 'service_completed_successfully' },
  });
  assert.ok(service('web').healthcheck, 'web reports /readyz to Compose');
});

test('compose — when PostgreSQL runs, then it has a healthcheck, a named volume and no port on the host', () => {
  const postgres = service('postgres');
  assert.ok(postgres.healthcheck?.test, 'healthcheck');
  assert.equal(postgres.ports, undefined, 'no published port');
  const [volume] = (postgres.volumes as string[])[0]!.split(':');
  assert.ok(compose.volumes && volume! in compose.volumes, `${volume} is a named volume`);
  assert.equal(postgres.profiles, undefined, 'part of the default stack');
});

test('compose — when the mongo profile is on, then the tutorial variant runs on MONGO_URL=mongodb://mongo/12factor-app', () => {
  for (const name of ['mongo', 'release-mongo', 'web-mongo']) {
    assert.deepEqual(service(name).profiles, ['mongo'], name);
  }
  for (const name of ['release-mongo', 'web-mongo']) {
    const config = loadConfig(environmentOf(service(name)));
    assert.equal(config.store.url, 'mongodb://mongo/12factor-app');
    assert.equal(service(name).depends_on.mongo.condition, 'service_healthy');
  }
  assert.equal(
    service('web-mongo').depends_on['release-mongo'].condition,
    'service_completed_successfully',
  );
  const [volume] = (service('mongo').volumes as string[])[0]!.split(':');
  assert.ok(compose.volumes && volume! in compose.volumes, `${volume} is a named volume`);
});

test('compose — when each process service is started, then it runs the one image, read-only, without capabilities, with a stop grace that covers the drain', () => {
  const images = new Set<string>();
  for (const [name, app] of appServices(compose)) {
    images.add(app.image);
    assert.equal(app.build.context, '.', `${name} builds this repository`);
    assert.equal(app.read_only, true, `${name} read_only`);
    assert.deepEqual(app.cap_drop, ['ALL'], `${name} cap_drop`);
    assert.ok(app.security_opt.includes('no-new-privileges:true'), `${name} no-new-privileges`);
    const config = loadConfig(environmentOf(app));
    const drainSeconds = (config.shutdownDelayMs + config.shutdownTimeoutMs) / 1000;
    assert.ok(
      durationSeconds(app.stop_grace_period) >= drainSeconds,
      `${name}: stop_grace_period ${app.stop_grace_period} < ${drainSeconds} s`,
    );
  }
  assert.deepEqual([...images], ['12factor-app:v1.0'], 'the tutorial tag, one image for all');
});

test('compose — when a .env file is given, then every process reads it in the short form every Compose version accepts, and the stack wiring still chooses PostgreSQL on 1337', () => {
  for (const [name, app] of appServices(compose)) {
    assert.deepEqual(app.env_file, ['.env'], `${name} env_file (the long form needs Compose 2.24)`);
    const config = loadConfig({ ...environmentOf(app), NODE_ENV: 'production' });
    assert.equal(config.port, 1337);
    assert.equal(config.host, '0.0.0.0');
    if (!name.endsWith('-mongo')) {
      assert.equal(config.store.url, 'postgres://app:app@postgres:5432/app');
    }
  }
  const secret = loadCompose(COMPOSE, { POSTGRES_PASSWORD: 's3cret' });
  assert.match(environmentOf(secret.services.web).DATABASE_URL!, /^postgres:\/\/app:s3cret@/);
  assert.equal(secret.services.postgres.environment.POSTGRES_PASSWORD, 's3cret');
});

test('compose — when a healthcheck runs node -e, then its script has no space, which podman’s Docker API would split into arguments', () => {
  for (const [name, app] of [...appServices(compose)]) {
    const check = app.healthcheck?.test as string[] | undefined;
    if (!check) continue;
    assert.equal(check[0], 'CMD', `${name}: exec form`);
    for (const arg of check.slice(1)) assert.doesNotMatch(arg, /\s/, `${name}: ${arg}`);
    assert.match(check.at(-1)!, /\/readyz'/, `${name} reports readiness, as Kubernetes probes it`);
  }
});
