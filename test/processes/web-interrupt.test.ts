import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startWeb } from '../support/web-process.ts';

/** Which delay the web process chose once told to stop, as its log says. */
async function delayAfter(signal: NodeJS.Signals, env: Record<string, string>) {
  const web = await startWeb({ DATABASE_URL: 'sqlite::memory:', SHUTDOWN_DELAY_MS: '300', ...env });
  try {
    web.child.kill(signal);
    const line = await web.waitForLine((l) => l.msg === 'shutdown delay');
    const { code } = await web.exited;
    return { delayMs: line.delayMs, code };
  } finally {
    web.kill();
  }
}

describe('web shutdown', () => {
  it('a Ctrl-C (SIGINT) in development skips the load-balancer delay', async () => {
    assert.deepEqual(await delayAfter('SIGINT', { NODE_ENV: 'development' }), {
      delayMs: 0,
      code: 0,
    });
  });

  it('SIGTERM in development keeps the delay: an orchestrator may be draining', async () => {
    assert.deepEqual(await delayAfter('SIGTERM', { NODE_ENV: 'development' }), {
      delayMs: 300,
      code: 0,
    });
  });

  it('SIGINT in production keeps the delay', async () => {
    const production = {
      NODE_ENV: 'production',
      API_TOKENS: 'interrupt-test-token-0001',
      ALLOW_EMBEDDED_STORE: 'true',
    };
    assert.deepEqual(await delayAfter('SIGINT', production), { delayMs: 300, code: 0 });
  });
});
