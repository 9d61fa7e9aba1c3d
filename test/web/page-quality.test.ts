import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openSite, seriousViolations, type Site } from './support.ts';

// The user-management page, "use it well": accessible, keyboard-only, phone-sized, strict CSP, cached, tokens.
describe('page quality', { timeout: 60_000 }, () => {
  let site: Site;

  before(async () => {
    site = await openSite();
    await site.seed({ name: 'Ada Lovelace', email: 'ada@example.com' });
    await site.seed({ name: 'Grace Hopper', email: 'grace@navy.example' });
  });
  after(async () => {
    await site?.close();
  });

  test('page — when served, then it has a strict CSP, no-cache HTML and immutable hashed assets', async () => {
    const html = await fetch(`${site.base}/`);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(html.headers.get('cache-control'), 'no-cache');
    const csp = html.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"]) {
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    }
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    const text = await html.text();
    assert.doesNotMatch(text, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(text, /\sstyle=|<style/, 'no inline style');
    const assets = [...text.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.length >= 2, text);
    for (const asset of assets) {
      assert.match(asset, /-[\w-]{8}\.(js|css|svg)$/, 'content-hashed name');
      const response = await fetch(`${site.base}${asset}`);
      assert.equal(response.status, 200, asset);
      assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      await response.arrayBuffer();
    }
    const missing = await fetch(`${site.base}/assets/nope-12345678.js`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: string }).code, 'ROUTE_NOT_FOUND');
  });

  test('page — when axe-core checks the main states, then it finds no serious or critical violation', async () => {
    const { page, problems } = await site.newPage();
    await page.goto(`${site.base}/`);
    await page.getByRole('row', { name: /Ada Lovelace/ }).waitFor();
    await page.locator('#service-ready[data-state="ready"]').waitFor();
    assert.deepEqual(await seriousViolations(page), [], 'the list');

    await page.getByRole('button', { name: 'New user' }).click();
    await page.getByRole('dialog').getByLabel('E-mail').fill('ada@example.com');
    await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
    await page.locator('#user-name-error:not([hidden])').waitFor();
    assert.deepEqual(await seriousViolations(page), [], 'the form with errors');
    await page.keyboard.press('Escape');

    await page.getByRole('button', { name: 'Delete Grace Hopper' }).click();
    await page.getByRole('alertdialog').waitFor();
    assert.deepEqual(await seriousViolations(page), [], 'the delete confirmation');
    await page.keyboard.press('Escape');
    assert.deepEqual(problems, [], 'no CSP violation, no error, nothing from outside');
  });

  test('page — when used with the keyboard alone, then a person can create and delete a user', async () => {
    const { page, shot } = await site.newPage();
    await page.goto(`${site.base}/`);
    await page.getByRole('row', { name: /Ada Lovelace/ }).waitFor();
    const focusedText = () => page.evaluate('document.activeElement?.textContent?.trim()');
    // Tab order: skip link, then the search box, then "New user".
    await page.keyboard.press('Tab');
    assert.equal(await focusedText(), 'Skip to the user list');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'search');
    await page.keyboard.press('Tab');
    assert.equal(await focusedText(), 'New user');
    await page.keyboard.press('Enter');
    await page.keyboard.type('Keyboard Kate');
    await page.keyboard.press('Tab');
    await page.keyboard.type('kate@keys.example');
    await page.keyboard.press('Enter');
    await page.getByRole('row', { name: /Keyboard Kate/ }).waitFor();
    await shot('list');
    // Focus lands on the new row; Tab moves on to its Delete button.
    assert.equal(await focusedText(), 'Edit Keyboard Kate');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('alertdialog').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await focusedText(), 'Delete');
    await page.keyboard.press('Enter');
    await page.getByRole('row', { name: /Keyboard Kate/ }).waitFor({ state: 'detached' });
    assert.equal(await page.evaluate('document.activeElement?.id'), 'list-title');
  });

  test('page — when opened at phone width, then nothing overflows sideways', async () => {
    const { page, shot, problems } = await site.newPage({ viewport: { width: 375, height: 740 } });
    await page.goto(`${site.base}/`);
    await page.getByRole('row', { name: /Ada Lovelace/ }).waitFor();
    await page.getByRole('button', { name: 'Edit Ada Lovelace' }).waitFor();
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    assert.equal(overflow, 0);
    assert.equal(await page.getByRole('columnheader', { name: 'Created' }).isVisible(), false);
    await shot('phone');
    assert.deepEqual(problems, []);
  });

  test('page — when the API answers 401, then it asks for a token and keeps it only in sessionStorage', async () => {
    const { page, shot } = await site.newPage();
    // Tokens arrive in a later issue; until then the route stands in for an API that wants one.
    await page.route(
      (url) => url.pathname === '/user',
      async (route) => {
        const auth = route.request().headers().authorization;
        if (auth === 'Bearer s3cret') return route.continue();
        await route.fulfill({
          status: 401,
          contentType: 'application/problem+json',
          body: JSON.stringify({ status: 401, title: 'Unauthorized', detail: 'Token needed.' }),
        });
      },
    );
    await page.goto(`${site.base}/`);
    const ask = page.getByRole('dialog', { name: 'API token needed' });
    await ask.waitFor();
    await shot('token');
    await ask.getByLabel('API token').fill('wrong');
    await ask.getByLabel('API token').press('Enter');
    await ask.getByText('The service refused that token.').waitFor();
    await ask.getByLabel('API token').fill('s3cret');
    await ask.getByRole('button', { name: 'Use token' }).click();
    await page.getByRole('row', { name: /Ada Lovelace/ }).waitFor();
    assert.equal(await page.evaluate('sessionStorage.getItem("12factor-app.token")'), 's3cret');
    assert.equal(await page.evaluate('localStorage.length'), 0);
    assert.deepEqual((await page.context().cookies()).length, 0);

    await page.getByRole('button', { name: 'Forget API token' }).click();
    assert.equal(await page.evaluate('sessionStorage.length'), 0);
  });
});
