// End-to-end harness: a real host (temporary data folder, demo site, the built UI) and Debian's
// Chromium driven by playwright-core. Never downloads a browser.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startHost, type RunningHost } from '../../core/host/host.ts';

export const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';
export const UI_DIR = fileURLToPath(new URL('../../out/renderer', import.meta.url));
export const SCREENSHOTS = fileURLToPath(new URL('../../docs/screenshots', import.meta.url));
export const OWNER_PASSWORD = 'correct horse battery';

export function requirements(): string | null {
  if (!existsSync(CHROMIUM)) return `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set GATEHOUSE_CHROMIUM)`;
  if (!existsSync(join(UI_DIR, 'index.html'))) return 'The UI is not built: run npm run build';
  return null;
}

export interface E2E {
  host: RunningHost;
  browser: Browser;
  url: string;
  newPage(opts?: { locale?: string }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

export async function startE2E(opts: { demo?: boolean; now?: () => number } = {}): Promise<E2E> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-e2e-'));
  const host = await startHost({
    dataDir,
    port: 0,
    host: '127.0.0.1',
    demo: opts.demo ?? true,
    ownerPassword: OWNER_PASSWORD,
    version: 'e2e',
    log: () => {},
    uiDir: UI_DIR,
    now: opts.now,
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'],
  });
  return {
    host,
    browser,
    url: host.url,
    async newPage(o = {}) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: o.locale ?? 'en-GB', timezoneId: 'Europe/Amsterdam' });
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      return { context, page };
    },
    async close() {
      await browser.close();
      await host.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function signIn(page: Page, url: string, username = 'owner', password = OWNER_PASSWORD): Promise<void> {
  await page.goto(`${url}/#/sign-in`);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('[data-test="sign-in"]').click();
  await page.locator('[data-test="sign-out"]').waitFor();
  // The sign-in screen then moves on by itself; wait for it, or it could undo a goto made right after.
  await page.waitForURL((u) => !u.hash.startsWith('#/sign-in'));
}

/** Writes docs/screenshots/<name>.png (committed: the README shows them). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle');
  // Let dialogs and messages finish their transitions.
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}
