// End-to-end harness: a real host (temporary data folder, demo site, the built UI) and Debian's
// Chromium driven by playwright-core. Never downloads a browser.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ksConnector } from '../../bin/cloud.ts';
import { createEncoders, type Encoders } from '../../bin/encoders.ts';
import { createHubs, type Hubs } from '../../bin/hubs.ts';
import { fileMasterKey } from '../../core/secrets/master-key.ts';
import { startHost, type RunningHost } from '../../core/host/host.ts';
import { FakeUsbBus } from '../../drivers/transport/fake-webusb.ts';

export const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';
export const UI_DIR = fileURLToPath(new URL('../../out/renderer', import.meta.url));
export const SCREENSHOTS = fileURLToPath(new URL('../../docs/screenshots', import.meta.url));
export const OWNER_PASSWORD = 'correct horse battery';
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export function requirements(): string | null {
  if (!existsSync(CHROMIUM)) return `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set GATEHOUSE_CHROMIUM)`;
  if (!existsSync(join(UI_DIR, 'index.html'))) return 'The UI is not built: run npm run build';
  return null;
}

export interface E2E {
  host: RunningHost;
  /** The hub wiring (bin/hubs.ts) when started with `hubs`: the demo's simulated hubs are `hubs.simulated`. */
  hubs: Hubs | null;
  /** The encoder wiring (bin/encoders.ts) when started with `encoders`: the demo's encoder and tray are `encoders.simulated`. */
  encoders: Encoders | null;
  browser: Browser;
  url: string;
  /** `forAxe`: the app's CSP (script-src 'self') set aside, so that axe can be injected as a script. */
  newPage(opts?: { locale?: string; forAxe?: boolean }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/** No USB hubs, whatever this machine has plugged in: only the simulated and TCP hubs count. */
const noUsb = () => {
  const bus = new FakeUsbBus();
  bus.failEnumeration(new Error('getDevices error: no USB in the end-to-end tests'));
  return Promise.resolve(bus);
};

export interface E2EOptions {
  demo?: boolean;
  now?: () => number;
  /**
   * Drive hubs as `serve --demo` does (bin/hubs.ts): the demo's three simulated hubs, plus LAN hubs at
   * `tcp` ("host:port"); no real USB. `true` is the simulated hubs alone.
   */
  hubs?: boolean | { tcp?: string[] };
  /** The demo's simulated card encoder with its tray of cards, as `serve --demo` has; no real USB. */
  encoders?: boolean;
  /** Cloud sync over the KS Connect client (bin/cloud.ts), as `serve` has, with rounds only on "Sync now". */
  cloud?: boolean;
}

export async function startE2E(opts: E2EOptions = {}): Promise<E2E> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-e2e-'));
  const hubs = opts.hubs
    ? createHubs({ dataDir, log: () => {}, simulated: true, usb: { load: noUsb }, tcp: opts.hubs === true ? [] : (opts.hubs.tcp ?? []), pollIntervalMs: 200 })
    : null;
  const encoders = opts.encoders ? createEncoders({ log: () => {}, simulated: true, usb: { load: noUsb } }) : null;
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
    ...(hubs ? { hubs: hubs.attach } : {}),
    ...(encoders ? { encoders: encoders.attach } : {}),
    ...(opts.cloud ? { cloud: ksConnector(), cloudIntervalMs: 0 } : {}),
    masterKey: fileMasterKey(dataDir),
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'],
  });
  return {
    host,
    hubs,
    encoders,
    browser,
    url: host.url,
    async newPage(o = {}) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: o.locale ?? 'en-GB', timezoneId: 'Europe/Amsterdam', bypassCSP: o.forAxe ?? false });
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      return { context, page };
    },
    async close() {
      await browser.close();
      await host.close();
      hubs?.close();
      await encoders?.close();
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

/** axe-core's WCAG 2.x level A findings on the page as it is now, as "where: rule: element" lines. */
export async function axeFindings(p: Page, where: string): Promise<string[]> {
  await p.waitForTimeout(300);
  if (!(await p.evaluate(() => 'axe' in globalThis))) await p.addScriptTag({ path: AXE });
  const found = await p.evaluate(async () => {
    type Result = { violations: Array<{ id: string; nodes: Array<{ target: string[]; html: string }> }> };
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<Result> } }).axe;
    const r = await axe.run((globalThis as unknown as { document: unknown }).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag21a'] }, resultTypes: ['violations'] });
    return r.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')} ${n.html.slice(0, 160)}`));
  });
  return found.map((f) => `${where}: ${f}`);
}
