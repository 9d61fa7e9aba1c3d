import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { startWeb } from '../support/web-process.ts';
import { requireBuiltPage } from './support.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Not localhost: browsers treat only https and loopback origins as trustworthy. */
const HOST = 'users.page.test';

test(
  'page — when opened by a host name other than localhost over http, then it lists users with no console error',
  { timeout: 60_000 },
  async (t) => {
    requireBuiltPage();
    const web = await startWeb({ DATABASE_URL: 'sqlite::memory:' });
    t.after(() => web.kill());
    const created = await fetch(`http://127.0.0.1:${web.port}/user?name=bingo`, { method: 'POST' });
    assert.equal(created.status, 201);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 20_000,
      args: ['--no-sandbox', '--disable-gpu', `--host-resolver-rules=MAP ${HOST} 127.0.0.1`],
    });
    t.after(() => browser.close());
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`${request.url()} failed`));
    await page.goto(`http://${HOST}:${web.port}/`);
    await page.locator('table').getByText('bingo', { exact: true }).first().waitFor();
    assert.deepEqual(problems, []);
  },
);
