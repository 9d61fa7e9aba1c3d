import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startWeb } from '../support/web-process.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SCREENSHOTS = join(ROOT, 'test-results', 'web');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Every wait in the browser is bounded: a stuck page fails in seconds, not at the CI timeout. */
const STEP_TIMEOUT_MS = 5_000;

/** The browser tests drive the page `npm run build` made; without it they say so and stop. */
export function requireBuiltPage(): void {
  if (!existsSync(join(ROOT, 'dist', 'public', 'index.html'))) {
    throw new Error(
      'dist/public/index.html is missing: run `npm run build` (npm ci does) before the web tests.',
    );
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does).`);
  }
}

export interface Site {
  base: string;
  browser: Browser;
  /** POSTs a user through the API; the page has to show what the API holds. */
  seed(user: { name: string; email?: string }): Promise<{ id: string }>;
  newPage(options?: { viewport?: { width: number; height: number } }): Promise<WatchedPage>;
  close(): Promise<void>;
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and requests to any other origin: both must stay empty. */
  problems: string[];
  /** Every `GET /user` list request the page made. */
  listRequests: URL[];
  shot(name: string): Promise<void>;
}

/** The real web process on a temp SQLite file, and Debian's Chromium, both closed by `close`. */
export async function openSite(): Promise<Site> {
  requireBuiltPage();
  mkdirSync(SCREENSHOTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), '12f-page-'));
  const web = await startWeb({
    DATABASE_URL: `sqlite:${join(dir, 'app.db')}`,
    GIT_COMMIT: 'abc1234def',
    LOG_LEVEL: 'info',
  });
  const base = `http://127.0.0.1:${web.port}`;
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 20_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (error) {
    web.kill();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const contexts: BrowserContext[] = [];

  return {
    base,
    browser,
    async seed(user) {
      const response = await fetch(`${base}/user`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(user),
      });
      if (response.status !== 201) throw new Error(`seed: ${response.status}`);
      return (await response.json()) as { id: string };
    },
    async newPage(options = {}) {
      const context = await browser.newContext({
        viewport: options.viewport ?? { width: 1200, height: 800 },
        reducedMotion: 'reduce',
        locale: 'en-GB',
      });
      contexts.push(context);
      context.setDefaultTimeout(STEP_TIMEOUT_MS);
      const page = await context.newPage();
      const problems: string[] = [];
      const listRequests: URL[] = [];
      page.on('console', (message) => {
        // A 4xx the page handles (409, 400…) is logged by Chromium too; that one is expected.
        const handled = message.text().startsWith('Failed to load resource: the server responded');
        if (message.type() === 'error' && !handled) problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('request', (request) => {
        const url = new URL(request.url());
        if (url.origin !== base) problems.push(`request outside the service: ${url.href}`);
        if (request.method() === 'GET' && url.pathname === '/user') listRequests.push(url);
      });
      return {
        page,
        context,
        problems,
        listRequests,
        shot: async (name) => {
          await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
        },
      };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      web.child.kill('SIGTERM');
      const exit = await Promise.race([
        web.exited,
        new Promise((resolve) => setTimeout(resolve, 5_000)),
      ]);
      if (!exit) web.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs axe-core in the page; returns the serious and critical violations, described. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const require = createRequire(import.meta.url);
  const source = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  // DevTools evaluation is not bound by the page's CSP, so axe runs without loosening it.
  await page.evaluate(source);
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target).join(' | ')}`);
}
