// The desktop app end to end: Playwright drives the real Electron build (out/electron) with a fresh data
// folder. It needs the Electron binary, which this repository's install may leave out
// (ELECTRON_SKIP_BINARY_DOWNLOAD=1, no network): then the test reports itself skipped, with the reason,
// instead of passing silently.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN_ENTRY = join(ROOT, 'out/electron/main/index.js');
const OWNER_PASSWORD = 'correct horse battery';

/** What the tests touch of the page's globals (page.evaluate callbacks run there; this file has no DOM types). */
interface PageWindow {
  gatehouse?: { call(name: string, input: unknown, token: string | null): Promise<unknown> };
  open(url: string): unknown;
  location: { href: string };
}

/** The Electron binary, or why the test cannot run here. */
function requirements(): { binary: string; missing: null } | { binary: null; missing: string } {
  let binary: string;
  try {
    binary = createRequire(import.meta.url)('electron') as string;
  } catch (e) {
    return { binary: null, missing: `the Electron binary is not installed (${(e as Error).message}; installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1?)` };
  }
  if (!existsSync(binary)) return { binary: null, missing: `the Electron binary is not at ${binary}` };
  if (!existsSync(MAIN_ENTRY)) return { binary: null, missing: 'the desktop app is not built: run npm run build:electron' };
  // The core loads better-sqlite3 inside Electron: it must be built for Electron's ABI, not Node's.
  try {
    execFileSync(binary, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: ROOT, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: 'pipe' });
  } catch {
    return { binary: null, missing: 'better-sqlite3 is not built for Electron: run npx electron-builder install-app-deps' };
  }
  return { binary, missing: null };
}

const req = requirements();
if (req.missing) console.warn(`[desktop e2e] SKIPPED: ${req.missing}`);
const title = (name: string) => (req.missing ? `${name} (skipped: ${req.missing})` : name);

describe('the desktop app', () => {
  let app: ElectronApplication | null = null;
  let page: Page;
  let base = '';

  afterAll(async () => {
    await app?.close();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it.skipIf(!!req.missing)(
    title('starts one sandboxed window on app://, signs in over IPC and shuts the core down on quit'),
    async () => {
      base = mkdtempSync(join(tmpdir(), 'gh-desktop-'));
      const dataDir = join(base, 'data');
      app = await _electron.launch({
        executablePath: req.binary!,
        // Chromium refuses to run as root (containers) with its OS sandbox on; the renderer sandbox under test is Electron's.
        args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), MAIN_ENTRY],
        env: { ...process.env, GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_USER_DATA_DIR: join(base, 'user'), GATEHOUSE_OWNER_PASSWORD: OWNER_PASSWORD },
        timeout: 30_000,
      });
      page = await app.firstWindow();
      await page.waitForLoadState('domcontentloaded');

      // The page: on app://gatehouse, no Node, exactly the preload API.
      expect(page.url()).toMatch(/^app:\/\/gatehouse\//);
      expect(await page.evaluate(() => [typeof (globalThis as { require?: unknown }).require, typeof (globalThis as { process?: unknown }).process])).toEqual(['undefined', 'undefined']);
      expect(await page.evaluate(() => Object.keys((globalThis as unknown as PageWindow).gatehouse ?? {}).sort())).toEqual(['call', 'onEvent', 'subscribe', 'unsubscribe']);
      // (The window's webPreferences themselves are checked in main.test.ts.)
      expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);

      // The CSP forbids eval; window.open and navigation go nowhere.
      expect(await page.evaluate(() => {
        try {
          return (0, eval)('"eval ran"') as string;
        } catch {
          return 'blocked';
        }
      })).toBe('blocked');
      expect(await page.evaluate(() => (globalThis as unknown as PageWindow).open('app://gatehouse/index.html') === null)).toBe(true);
      await page.evaluate(() => {
        (globalThis as unknown as PageWindow).location.href = 'https://example.com/';
      });
      await page.waitForTimeout(500);
      expect(page.url()).toMatch(/^app:\/\/gatehouse\//);
      expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);

      // A contract call without a session is refused by the core, over IPC.
      const call = (name: string) => page.evaluate((n) => (globalThis as unknown as PageWindow).gatehouse!.call(n, {}, null), name);
      expect(await call('site.get')).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
      expect(await call('no.such')).toMatchObject({ ok: false, error: { code: 'validation' } });

      // Sign in through the UI.
      await page.locator('#username').fill('owner');
      await page.locator('#password').fill(OWNER_PASSWORD);
      await page.locator('[data-test="sign-in"]').click();
      await page.locator('[data-test="sign-out"]').waitFor({ timeout: 15_000 });

      // Quitting lets the core close the database and release the data folder.
      await app.close();
      app = null;
      expect(existsSync(join(dataDir, 'gatehouse.db'))).toBe(true);
      expect(existsSync(join(dataDir, 'gatehouse.pid'))).toBe(false);
    },
    120_000,
  );
});
