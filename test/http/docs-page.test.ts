import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startWeb, type RunningProcess } from '../support/web-process.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'docs-page-writer-token-0001';
/** Not localhost: browsers treat localhost and 127.0.0.1 as secure and exempt them from rules. */
const HOST = 'users.docs.test';

/** /docs in a real Chromium, by a host name other than localhost, over plain http. */
describe('/docs', () => {
  let web: RunningProcess & { port: number };
  let browser: Browser;
  before(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium`);
    web = await startWeb({ DATABASE_URL: 'sqlite::memory:', API_TOKENS: TOKEN });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 20_000,
      args: ['--no-sandbox', '--disable-gpu', `--host-resolver-rules=MAP ${HOST} 127.0.0.1`],
    });
  });
  after(async () => {
    await browser?.close();
    web?.kill();
  });

  async function openDocs(): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('requestfailed', (request) => problems.push(`${request.url()} failed`));
    await page.goto(`http://${HOST}:${web.port}/docs`);
    await page.locator('.opblock').first().waitFor();
    return { page, problems };
  }

  it('opened by another host name over http, it shows every operation with no console error', async () => {
    const { page, problems } = await openDocs();
    assert.ok((await page.locator('.opblock').count()) >= 7);
    await page.locator('button.authorize').waitFor();
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('Authorize sends the bearer token: a create from Try it out answers 201', async () => {
    const { page, problems } = await openDocs();
    await page.locator('button.authorize').click();
    await page.locator('.modal-ux input').fill(TOKEN);
    await page.locator('.modal-ux button.authorize').click();
    await page.locator('.modal-ux button.btn-done').click();
    const create = page.locator('.opblock-post', { hasText: /^POST\/user/ }).first();
    await create.locator('.opblock-summary').click();
    await create.locator('.try-out__btn').click();
    await create.locator('textarea.body-param__text').fill('{"name":"from-docs"}');
    await create.locator('.execute').click();
    const status = create.locator('.live-responses-table tr.response .response-col_status').first();
    await status.waitFor();
    assert.equal((await status.innerText()).trim(), '201');
    const list = await fetch(`http://127.0.0.1:${web.port}/user?name=from-docs`);
    assert.equal(((await list.json()) as unknown[]).length, 1);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
