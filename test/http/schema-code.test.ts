import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { compiledSchemasModule } from '../../src/http/schema-code.ts';
import {
  compiledSchemas,
  lazyValidators,
  sharedSerializers,
  type CompiledSchemas,
} from '../../src/http/serializers.ts';
import type { InjectOptions } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const BUILT = join(ROOT, 'dist/processes/chunks/compiled-schemas.cjs');
const USER_ID = /^[0-9a-f]{24}$/;

/**
 * Requests that take every validator (query, params, headers, both bodies) through passing and
 * failing input, and every serializer (a user, a page, a problem, 304, a status).
 */
const REQUESTS = [
  { method: 'GET', url: '/healthz' },
  { method: 'GET', url: '/user' },
  { method: 'GET', url: '/user?limit=abc' },
  { method: 'GET', url: '/user?limit=5&skip=-1&sort=nope' },
  { method: 'GET', url: '/user/0123456789abcdef01234567' },
  { method: 'GET', url: '/user/not-an-id' },
  { method: 'POST', url: '/user?name=' },
  { method: 'POST', url: '/user?name=' + 'x'.repeat(101) },
  { method: 'POST', url: '/user', payload: { name: 7, email: ['a'], extra: true } },
  { method: 'POST', url: '/user', payload: { name: 'line\nbreak' } },
  { method: 'POST', url: '/user', payload: { name: 'Bo', email: 'not-an-email' } },
  { method: 'POST', url: '/user', payload: { name: 'Bo', email: `${'a'.repeat(250)}@b.co` } },
  { method: 'POST', url: '/user?name=k', headers: { 'idempotency-key': 'é' } },
  { method: 'POST', url: '/user?name=k', headers: { 'idempotency-key': '' } },
  { method: 'PUT', url: '/user/0123456789abcdef01234567', payload: { name: '' } },
  { method: 'PUT', url: '/user/0123456789abcdef01234567', payload: { email: 5 } },
] as const;

/** What two apps must answer alike: status, the headers that matter and the body sans ids. */
async function answer(app: TestApp, request: (typeof REQUESTS)[number]) {
  const res = await app.app.inject(request as InjectOptions);
  const body = res.body ? (JSON.parse(res.body) as Record<string, unknown>) : undefined;
  if (body && !Array.isArray(body)) delete body.requestId;
  return { status: res.statusCode, type: res.headers['content-type'], body };
}

describe('schema code compiled by the build', () => {
  // Written where its `require`s (fast-json-stringify's serializer, Ajv's runtime) resolve.
  const dir = join(ROOT, 'node_modules/.cache/12factor-app-test');
  const file = join(dir, `compiled-schemas-${process.pid}.cjs`);
  let source: string;
  let table: CompiledSchemas;
  before(async () => {
    source = await compiledSchemasModule();
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, source);
    table = createRequire(import.meta.url)(file) as CompiledSchemas;
  });
  after(() => rmSync(file, { force: true }));

  it('has code for the routes: validators of query, params, headers, bodies; serializers', () => {
    const validators = Object.values(table.validators).flatMap((codes) => Object.keys(codes));
    const parts = validators.map((key) => key.slice(0, key.indexOf(':'))).sort();
    assert.deepEqual(parts, ['body', 'body', 'headers', 'params', 'querystring']);
    const serializers = Object.values(table.serializers).flatMap((codes) => Object.keys(codes));
    assert.ok(serializers.includes('{"$ref":"User#"}'), serializers.join('\n'));
    assert.ok(serializers.includes('{"$ref":"Problem#"}'), serializers.join('\n'));
  });

  it('answers every request exactly as schemas compiled at run time do, and is what serves', async (t) => {
    // Each table entry counts its use: an app that never used one (say its fingerprint differed
    // from the build's) would compile at run time again, and start slowly, unnoticed.
    const used = new Set<string>();
    const counted = (codes: CompiledSchemas['validators']) =>
      Object.fromEntries(
        Object.entries(codes).map(([fingerprint, entries]) => [
          fingerprint,
          Object.fromEntries(
            Object.entries(entries).map(([key, make]) => [key, () => (used.add(key), make())]),
          ),
        ]),
      );
    const compiled = {
      validators: counted(table.validators),
      serializers: counted(table.serializers as never),
    } as unknown as CompiledSchemas;
    const withCode = await buildTestApp({
      schemaCompilers: {
        buildValidator: lazyValidators(compiled),
        buildSerializer: sharedSerializers(compiled),
      },
    });
    const atRunTime = await buildTestApp({
      schemaCompilers: {
        buildValidator: lazyValidators(undefined),
        buildSerializer: sharedSerializers(undefined),
      },
    });
    t.after(() => Promise.all([withCode.close(), atRunTime.close()]));

    for (const request of REQUESTS) {
      assert.deepEqual(
        await answer(withCode, request),
        await answer(atRunTime, request),
        request.url,
      );
    }
    // A created user, read back, and its ETag revalidated (304): the remaining serializers.
    const created = await withCode.app.inject({ method: 'POST', url: '/user?name=Ada' });
    assert.equal(created.statusCode, 201, created.body);
    const { id } = created.json<{ id: string }>();
    assert.match(id, USER_ID);
    const read = await withCode.app.inject({ method: 'GET', url: `/user/${id}` });
    assert.deepEqual(read.json(), created.json());
    const unchanged = await withCode.app.inject({
      method: 'GET',
      url: `/user/${id}`,
      headers: { 'if-none-match': String(read.headers.etag) },
    });
    assert.equal(unchanged.statusCode, 304);
    assert.equal(unchanged.body, '');

    // A 304's schema (`null`) is declared for the docs; the answer has no body to serialize.
    const all = [table.validators, table.serializers]
      .flatMap((codes) => Object.values(codes).flatMap((entries) => Object.keys(entries)))
      .filter((key) => key !== '{"type":"null"}');
    assert.deepEqual([...used].sort(), all.sort(), 'every compiled schema served');
  });

  it('is absent when running from the sources: every schema compiles when first used', () => {
    assert.equal(compiledSchemas(), undefined);
  });

  it("the build's copy (dist/) is that of these sources", (t) => {
    if (!existsSync(BUILT)) return t.skip('not built: dist/ has no compiled-schemas.cjs');
    assert.equal(
      readFileSync(BUILT, 'utf8'),
      source,
      'dist/ was built from other schemas: run `npm run build`',
    );
  });
});
