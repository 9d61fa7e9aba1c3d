import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderKustomization } from '../deploy/support/kubernetes.ts';

/**
 * The README says what `npm test` needs besides Node.js 24 (Chromium and kubectl) and that
 * each, when missing, fails with a message saying so rather than an obscure error.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

test('README — the tools npm test needs besides Node.js 24 are named, and each missing one fails saying so', async () => {
  const runIt = README.slice(README.indexOf('\n## Run it\n'), README.indexOf('\n## The tutorial'));
  assert.match(runIt, /Besides Node\.js 24 the suite needs Chromium[\s\S]*`kubectl`/);
  assert.match(runIt, /fail with a\s+message saying so when missing/);

  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await assert.rejects(
      renderKustomization(join(ROOT, 'deploy/k8s/overlays/dev')),
      /kubectl is not installed/,
    );
  } finally {
    process.env.PATH = path;
  }

  const browser = spawnSync(
    process.execPath,
    ['-e', "import('./test/web/support.ts').then((m) => m.requireBuiltPage())"],
    {
      cwd: ROOT,
      env: { PATH: path ?? '', CHROMIUM_PATH: '/nonexistent/chromium' },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  assert.notEqual(browser.status, 0);
  assert.match(browser.stderr, /no Chromium at \/nonexistent\/chromium: apt-get install chromium/);
});
