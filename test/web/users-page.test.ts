import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { openSite, type Site, type WatchedPage } from './support.ts';

// The user-management page drives the real API of a real web process in Debian's Chromium.
describe('users page', { timeout: 60_000 }, () => {
  let site: Site;
  let view: WatchedPage;
  let page: Page;

  before(async () => {
    site = await openSite();
    view = await site.newPage();
    page = view.page;
  });
  after(async () => {
    await site?.close();
  });

  const row = (name: string) => page.getByRole('row', { name: new RegExp(name) });
  const status = (text: string) => page.locator('#list-status', { hasText: text }).waitFor();
  const dialog = () => page.getByRole('dialog');
  async function search(text: string) {
    await page.getByRole('searchbox', { name: 'Search by name or e-mail' }).fill(text);
    await page.getByRole('searchbox').press('Enter');
  }
  async function fillUser(fields: { name?: string; email?: string }) {
    if (fields.name !== undefined) await dialog().getByLabel('Name').fill(fields.name);
    if (fields.email !== undefined) await dialog().getByLabel('E-mail').fill(fields.email);
  }

  test('users page — when it opens, then version, store and readiness show at a glance', async () => {
    await page.goto(`${site.base}/`);
    await page.locator('#service-version', { hasText: '1.0.0 (abc1234)' }).waitFor();
    await page.locator('#service-store', { hasText: 'sqlite' }).waitFor();
    await page.locator('#service-ready[data-state="ready"]', { hasText: 'Ready' }).waitFor();
    await status('No users yet.');
  });

  test('users page — when a person creates a user, then the list shows it', async () => {
    await page.getByRole('button', { name: 'New user' }).click();
    await dialog().getByRole('heading', { name: 'New user' }).waitFor();
    await fillUser({ name: 'Ada Lovelace', email: 'ada@example.com' });
    await view.shot('create-dialog');
    await dialog().getByLabel('E-mail').press('Enter');
    await row('Ada Lovelace').waitFor();
    await page.locator('#notice', { hasText: 'Created Ada Lovelace.' }).waitFor();
    assert.equal(await dialog().count(), 0);
    await status('Showing 1 user.');
  });

  test('users page — when the e-mail is taken or invalid, then the API error shows beside the field', async () => {
    await page.getByRole('button', { name: 'New user' }).click();
    await fillUser({ name: 'Ada Again', email: 'ADA@example.com' });
    await dialog().getByRole('button', { name: 'Save' }).click();
    const email = dialog().getByLabel('E-mail');
    const emailError = page.locator('#user-email-error');
    await emailError.filter({ hasText: 'E-mail is already taken.' }).waitFor();
    assert.equal(await email.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate('document.activeElement.id'), 'user-email');
    await view.shot('validation-error');

    await fillUser({ email: 'not-an-address' });
    await email.press('Enter');
    await emailError
      .filter({ hasText: /^E-mail must be an address like ada@example\.com\.$/ })
      .waitFor();
    await fillUser({ name: '   ', email: '' });
    await email.press('Enter');
    await page.locator('#user-name-error', { hasText: /^Name cannot be empty\.$/ }).waitFor();
    assert.equal(await emailError.isHidden(), true, 'a fixed field loses its error');

    await page.keyboard.press('Escape');
    await dialog().waitFor({ state: 'hidden' });
    await status('Showing 1 user.');
  });

  test('users page — when a person searches, then the store filters by name or e-mail', async () => {
    await site.seed({ name: 'Grace Hopper', email: 'grace@navy.example' });
    await site.seed({ name: 'Alan Turing' });
    await page.reload();
    await status('of 3 users');
    await search('NAVY');
    await status('Showing 1 user.');
    await row('Grace Hopper').waitFor();
    assert.equal(await row('Ada Lovelace').count(), 0);
    const where = view.listRequests.at(-1)?.searchParams.get('where');
    assert.deepEqual(JSON.parse(where ?? 'null'), {
      or: [{ name: { contains: 'NAVY' } }, { email: { contains: 'NAVY' } }],
    });
    await search('lovelace');
    await row('Ada Lovelace').waitFor();
    await search('nobody at all');
    await status('No users match “nobody at all”.');
    await search('');
    await status('of 3 users');
  });

  test('users page — when a person edits a user, then the change is saved with If-Match', async () => {
    const patch = page.waitForRequest((r) => r.method() === 'PATCH');
    await page.getByRole('button', { name: 'Edit Ada Lovelace' }).click();
    await dialog().getByRole('heading', { name: 'Edit Ada Lovelace' }).waitFor();
    assert.equal(await dialog().getByLabel('E-mail').inputValue(), 'ada@example.com');
    await fillUser({ name: 'Ada King' });
    await dialog().getByRole('button', { name: 'Save' }).click();
    await row('Ada King').waitFor();
    await page.locator('#notice', { hasText: 'Saved Ada King.' }).waitFor();
    const sent = await patch;
    assert.match((await sent.allHeaders())['if-match'] ?? '', /^".+"$/);
    assert.equal(await row('Ada Lovelace').count(), 0);
    // Focus comes back to the row that was edited, not to the top of the page.
    const focused = await page.evaluate('document.activeElement.textContent');
    assert.equal(focused, 'Edit Ada King');
    // A later search is another view: the notice about the save no longer stays up.
    await search('king');
    await row('Ada King').waitFor();
    assert.equal((await page.locator('#notice').textContent())?.trim(), '');
    await search('');
    await status('of 3 users');
  });

  test('users page — when a person deletes, then it asks first and Cancel keeps the user', async () => {
    await page.getByRole('button', { name: 'Delete Ada King' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Delete user?' });
    await confirm.getByText('Delete Ada King (ada@example.com)? This cannot be undone.').waitFor();
    await view.shot('delete-confirm');
    // Cancel holds the focus: Enter alone never deletes.
    await page.keyboard.press('Enter');
    await confirm.waitFor({ state: 'hidden' });
    await row('Ada King').waitFor();

    await page.getByRole('button', { name: 'Delete Ada King' }).click();
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await row('Ada King').waitFor({ state: 'detached' });
    await page.locator('#notice', { hasText: 'Deleted Ada King.' }).waitFor();
    await status('of 2 users');
    const left = (await (await fetch(`${site.base}/user`)).json()) as { name: string }[];
    assert.deepEqual(left.map((u) => u.name).sort(), ['Alan Turing', 'Grace Hopper']);
  });

  test('users page — when 100 users match, then it pages through them with limit, skip and Link', async () => {
    const numbers = Array.from({ length: 100 }, (_, i) => String(i + 1).padStart(3, '0'));
    for (let i = 0; i < numbers.length; i += 20) {
      const batch = numbers.slice(i, i + 20);
      await Promise.all(
        batch.map((n) => site.seed({ name: `Person ${n}`, email: `p${n}@crowd.test` })),
      );
    }
    view.listRequests.length = 0;
    await page.goto(`${site.base}/?q=crowd.test&sort=name+ASC&limit=25`);
    await status('Showing 1–25 of 100 users (page 1 of 4).');
    await row('Person 001').waitFor();
    assert.equal(await page.locator('tbody tr').count(), 25);
    assert.equal(await page.locator('#prev-page').getAttribute('aria-disabled'), 'true');

    await page.getByRole('button', { name: 'Next page' }).click();
    await status('Showing 26–50 of 100 users (page 2 of 4).');
    assert.equal(await page.locator('tbody tr th').first().textContent(), 'Person 026');
    // Two clicks while page 3 is still on its way move two pages, not one: the list answers
    // are held until both clicks are in, as on a slow network.
    let holding = true;
    const held: (() => void)[] = [];
    const hold = (url: URL) => url.pathname === '/user';
    await page.route(hold, async (route) => {
      if (holding) await new Promise<void>((resolve) => held.push(resolve));
      await route.continue();
    });
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByRole('button', { name: 'Next page' }).click();
    holding = false;
    for (const release of held) release();
    await status('Showing 76–100 of 100 users (page 4 of 4).');
    await page.unroute(hold);
    assert.equal(await page.locator('#next-page').getAttribute('aria-disabled'), 'true');

    await page.getByRole('columnheader', { name: 'Name' }).getByRole('button').click();
    await status('Showing 1–25 of 100 users (page 1 of 4).');
    assert.equal(await page.locator('tbody tr th').first().textContent(), 'Person 100');
    assert.equal(
      await page.getByRole('columnheader', { name: 'Name' }).getAttribute('aria-sort'),
      'descending',
    );
    await page.getByLabel('Per page').selectOption('10');
    await status('Showing 1–10 of 100 users (page 1 of 10).');
    await page.reload();
    await status('Showing 1–10 of 100 users (page 1 of 10).');
    await page.getByRole('button', { name: 'Next page' }).click();
    await status('Showing 11–20 of 100 users (page 2 of 10).');
    await view.shot('paging');

    // Each view is a history entry: Back returns to the previous page, and the address says it.
    await page.goBack();
    await status('Showing 1–10 of 100 users (page 1 of 10).');
    assert.equal(new URL(page.url()).searchParams.get('skip'), null);
    await page.goForward();
    await status('Showing 11–20 of 100 users (page 2 of 10).');
    assert.equal(new URL(page.url()).searchParams.get('skip'), '10');

    // The columns keep their widths from a full page to an empty result.
    const widths = () =>
      page.locator('thead th').evaluateAll((cells) => cells.map((c) => c.clientWidth));
    const full = await widths();
    await search('nobody at all');
    await status('No users match “nobody at all”.');
    assert.deepEqual(await widths(), full);

    // Every page came from the store: no request ever asked for more than one page.
    assert.ok(view.listRequests.length >= 6);
    for (const url of view.listRequests) {
      assert.ok(Number(url.searchParams.get('limit')) <= 25, url.href);
      assert.ok(url.searchParams.has('skip'), url.href);
    }
    assert.deepEqual(view.problems, []);
  });
});
