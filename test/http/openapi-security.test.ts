import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp } from '../support/app.ts';

type Operation = { security?: Record<string, string[]>[]; responses: Record<string, unknown> };

async function documentWith(access: Parameters<typeof buildTestApp>[0]) {
  const t = await buildTestApp(access);
  try {
    const doc = (await t.app.inject('/openapi.json')).json() as {
      paths: Record<string, Record<string, Operation>>;
      components: { securitySchemes?: Record<string, { type: string; scheme: string }> };
    };
    const userOps = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/user'))
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method, path, op })));
    return { doc, userOps };
  } finally {
    await t.close();
  }
}

describe('openapi document', () => {
  it('with API_TOKENS, declares the bearer scheme, write scope on changes, and the auth errors', async () => {
    const { doc, userOps } = await documentWith({
      access: { apiTokens: [{ token: 'openapi-writer-token-01', scope: 'write' }] },
    });
    assert.deepEqual(doc.components.securitySchemes?.bearer, {
      ...doc.components.securitySchemes?.bearer,
      type: 'http',
      scheme: 'bearer',
    });
    assert.ok(userOps.length >= 7);
    for (const { method, path, op } of userOps) {
      const where = `${method} ${path}`;
      for (const status of ['401', '403', '429', '500', '503']) {
        assert.ok(op.responses[status], `${where} documents ${status}`);
      }
      if (method === 'get') assert.deepEqual(op.security, [{}, { bearer: ['user:read'] }], where);
      else assert.deepEqual(op.security, [{ bearer: ['user:write'] }], where);
    }
  });

  it('with READS_REQUIRE_AUTH, reads need the read scope', async () => {
    const { userOps } = await documentWith({
      access: {
        apiTokens: [{ token: 'openapi-writer-token-01', scope: 'write' }],
        readsRequireAuth: true,
      },
    });
    for (const { method, op } of userOps.filter(({ method }) => method === 'get')) {
      assert.deepEqual(op.security, [{ bearer: ['user:read'] }], method);
    }
  });

  it('without access control, the token is optional and 401/403 are not promised', async () => {
    const { userOps, doc } = await documentWith({});
    assert.ok(doc.paths['/readyz']?.get?.responses['503'], '/readyz documents its 503');
    for (const { op } of userOps) {
      assert.equal(op.security?.[0] && Object.keys(op.security[0]).length, 0);
      assert.equal(op.responses['401'], undefined);
      assert.ok(op.responses['503']);
    }
  });
});
