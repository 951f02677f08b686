// Hubs, commissioning and the live door monitor in a real browser against a real host that drives hubs
// as `serve --demo` does (bin/hubs.ts): the demo's three simulated hubs, plus a LAN hub over TCP that no
// IQ knows. The hubs page lists them live; the wizard claims the new hub as an IQ, waits for its first
// table, adds and pairs a door and enrols a tag shown to it; the monitor follows office mode, a tamper
// alarm and a remote opening at the hubs without a reload; the front desk sees hubs but may not
// commission; an unplugged hub's error reaches the operator.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubFirmware } from '../../drivers/hub-sim/firmware/firmware.ts';
import { startTcpHub, type TcpHubServer } from '../../drivers/hub-sim/firmware/tcp-server.ts';
import { parseAddress } from '../../drivers/iq/host/convert.ts';
import { DEMO_IQS } from '../../core/host/demo.ts';
import { axeFindings, type E2E, OWNER_PASSWORD, requirements, screenshot, signIn, startE2E } from './harness.ts';

const NEW_MAC = '02-00-5E-10-00-77';
const NEW_SERIAL = 'IQ2-0009077';
const DOOR = 'Annex — Front door';
const DOOR_MAC = '00-1B-44-11-4A-01';
const CARD = Uint8Array.of(0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6);

let e: E2E;
let page: Page;
let lan: TcpHubServer;
let firmware: HubFirmware;

beforeAll(async () => {
  const missing = requirements();
  if (missing) throw new Error(missing);
  // A new hub out of its box: install mode (no key yet), nothing paired, in memory.
  firmware = new HubFirmware({ mac: parseAddress(NEW_MAC)!, serial: NEW_SERIAL, firmwareVersion: '3.1.0-sim', factoryKey: null, hub: { autoPair: false } });
  lan = await startTcpHub(firmware);
  e = await startE2E({ hubs: { tcp: [`${lan.host}:${lan.port}`] } });
  // The wizard's steps are checked with axe as they come (accessibility.test.ts checks every screen as it opens).
  ({ page } = await e.newPage({ forAxe: true }));
}, 120_000);
afterAll(async () => {
  await e?.close();
  await lan?.close();
});

async function api<T>(name: string, input: unknown, token: string): Promise<T> {
  const r = await fetch(`${e.url}/api/rpc/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(input) });
  const body = (await r.json()) as { result?: unknown; error?: { message: string } };
  if (r.status !== 200) throw new Error(body.error?.message ?? `HTTP ${r.status}`);
  return body.result as T;
}
async function token(username = 'owner', password = OWNER_PASSWORD): Promise<string> {
  const r = await fetch(`${e.url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username, password }) });
  return ((await r.json()) as { access_token: string }).access_token;
}
async function lockId(name: string): Promise<string> {
  const [lock] = (await api<{ items: Array<{ id: string; customer_reference: string }> }>('locks.list', { search: name }, await token())).items.filter((l) => l.customer_reference === name);
  return lock!.id;
}
async function login(p: Page, username?: string, password?: string) {
  await signIn(p, e.url, username, password);
  await p.waitForURL(/#\/$/);
}
/** Waits until the toasts are gone, so that screenshots show the screen itself. */
async function settled(p: Page) {
  await expect.poll(() => p.locator('.n-message').count(), { timeout: 8000 }).toBe(0);
}
const stepOf = (p: Page) => p.locator('[data-test="commission-step"]').getAttribute('data-step');
const hubRow = (p: Page, mac: string) => p.locator(`[data-test="hub-row"][data-mac="${mac}"]`);
const tile = (p: Page, door: string) => p.locator(`[data-test="door-tile"][data-door="${door}"]`);

describe('hubs, commissioning and the live monitor', () => {
  it('lists the three demo hubs ready and the new LAN hub unclaimed, live', async () => {
    await login(page);
    await page.goto(`${e.url}/#/hubs`);
    await expect.poll(() => page.locator('[data-test="hub-row"]').count(), { timeout: 15_000 }).toBe(4);
    for (const iq of DEMO_IQS) {
      await expect.poll(() => hubRow(page, iq.mac).locator('[data-test="hub-state"]').innerText(), { timeout: 15_000 }).toBe('Ready');
      await expect.poll(() => hubRow(page, iq.mac).locator('[data-test="hub-iq"]').innerText()).toBe(iq.customer_reference);
      expect(await hubRow(page, iq.mac).locator('[data-test="hub-serial"]').innerText()).toBe(iq.serial);
      await expect.poll(() => hubRow(page, iq.mac).locator('[data-test="hub-table"]').innerText()).toMatch(/^v\d+$/);
      expect(await hubRow(page, iq.mac).locator('[data-test="commission-hub"]').count()).toBe(0);
    }
    const fresh = hubRow(page, NEW_MAC);
    await expect.poll(() => fresh.locator('[data-test="hub-state"]').innerText()).toBe('Unclaimed');
    expect(await fresh.locator('[data-test="hub-address"]').innerText()).toBe(`tcp:${lan.host}:${lan.port}`);
    expect(await fresh.locator('[data-test="hub-serial"]').innerText()).toBe(NEW_SERIAL);
    expect(await fresh.locator('[data-test="hub-iq"]').innerText()).toBe('not claimed');
    await fresh.locator('[data-test="commission-hub"]').waitFor();
    expect(await page.locator('[data-test="hubs-count"]').innerText()).toBe('4 hubs connected · 1 unclaimed');
    // How hubs are looked for: the demo's, the LAN address, and plainly why not on USB here.
    await page.locator('[data-test="transport-usb"]').waitFor();
    expect(await page.locator('[data-test="transport-usb"]').innerText()).toMatch(/USB/);
    await page.locator('[data-test="transport-simulated"]').waitFor();
    // "Which one is it?": the hub's light flashes.
    expect(firmware.identifying).toBe(false);
    await fresh.locator('[data-test="identify-hub"]').click();
    await expect.poll(() => firmware.identifying).toBe(true);
    await screenshot(page, 'hubs');
  });

  it('commissions the new hub: claims it as a new IQ, waits for its table, pairs a new door and enrols a tag shown to it', async () => {
    const mark = await page.evaluate(() => ((globalThis as unknown as { e2eMark: number }).e2eMark = 7));
    await hubRow(page, NEW_MAC).locator('[data-test="commission-hub"]').click();
    await page.waitForURL(/#\/hubs\/commission\?address=/);
    await expect.poll(() => stepOf(page)).toBe('claim');
    expect(await page.locator('[data-test="commission-hub-mac"]').innerText()).toBe(NEW_MAC);
    const found = await axeFindings(page, 'claim');

    // 2. A new IQ, in Amsterdam's time.
    await page.locator('#cm-name').fill('Annex');
    await page.locator('[data-test="claim-zone"]').click();
    await page.keyboard.type('amsterdam');
    await page.locator('.n-base-select-option', { hasText: 'Europe/Amsterdam' }).click();
    await page.locator('[data-test="claim"]').click();

    // 3. Online, clock and zone set, first table active: live, from hub.status and iq.sync_state.
    await expect.poll(() => stepOf(page)).toBe('sync');
    await expect.poll(() => page.locator('[data-test="check-table"]').getAttribute('data-done'), { timeout: 15_000 }).toBe('true');
    expect(await page.locator('[data-test="check-clock"]').innerText()).toContain('Clock and time zone set (Europe/Amsterdam)');
    const version = /Access table v(\d+) active/.exec(await page.locator('[data-test="check-table"]').innerText())?.[1];
    expect(version).toBeDefined();
    const t = await token();
    const iq = (await api<{ items: Array<{ id: string; mac: string; time_zone: string; online: boolean; data_sync_state: string }> }>('iqs.list', { search: 'Annex' }, t)).items[0]!;
    expect(iq).toMatchObject({ mac: NEW_MAC, time_zone: 'Europe/Amsterdam', online: true, data_sync_state: 'synced' });
    expect(firmware.zone).toBe('Europe/Amsterdam');
    expect(firmware.hub.tableInfo()?.version).toBe(Number(version));
    found.push(...(await axeFindings(page, 'sync')));
    await page.locator('[data-test="sync-next"]').click();

    // 4. A door added inline, with its lock's radio MAC, and paired: the hub lists it.
    await expect.poll(() => stepOf(page)).toBe('locks');
    await page.locator('[data-test="hub-locks-empty"]').waitFor();
    await page.locator('#pl-door-name').fill(DOOR);
    await page.locator('#pl-door-mac').fill(DOOR_MAC.toLowerCase());
    await page.locator('[data-test="add-door-pair"]').click();
    await expect.poll(() => page.locator('[data-test="hub-lock-name"]').allInnerTexts(), { timeout: 25_000 }).toEqual([DOOR]);
    await expect.poll(() => page.locator(`[data-test="candidate-row"][data-door="${DOOR}"] [data-test="candidate-paired"]`).count()).toBe(1);
    const door = await lockId(DOOR);
    expect(firmware.hub.lockIds()).toEqual([door]);
    expect(await api('locks.get', { id: door }, t)).toMatchObject({ iq_id: iq.id, mac: DOOR_MAC });
    found.push(...(await axeFindings(page, 'locks')));
    await page.locator('[data-test="locks-next"]').click();

    // 5. Tag registration at the door: a card shown to it arrives live and is registered.
    await expect.poll(() => stepOf(page)).toBe('tags');
    await page.locator('[data-test="registration-start"]').click();
    await expect.poll(() => page.locator('[data-test="registration-countdown"]').innerText(), { timeout: 25_000 }).toMatch(new RegExp(`Show the tags to ${DOOR} now: \\d+ s left`));
    const shown = firmware.hub.presentTag(door, CARD);
    expect(shown.outcome).toBe('registration');
    const row = page.locator('[data-test="shown-row"][data-uid="04A1B2C3D4E5F6"]');
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('[data-test="shown-number"]').innerText()).toBe('—');
    await row.locator('[data-test="register-tag"]').click();
    const dialog = page.locator('[data-test="register-dialog"]');
    await dialog.locator('[data-test="register-confirm"]').waitFor();
    found.push(...(await axeFindings(page, 'register dialog')));
    await dialog.locator('[data-test="register-confirm"]').click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => row.locator('[data-test="shown-registered"]').innerText()).toMatch(/^Registered as \d{10}$/);
    const [tag] = (await api<{ items: Array<{ tag_number: string; card_uid: string; source_iq_id: string }> }>('tags.list', { filter: { op: 'eq', field: 'card_uid', value: '04A1B2C3D4E5F6' } }, t)).items;
    expect(tag).toMatchObject({ card_uid: '04A1B2C3D4E5F6', source_iq_id: iq.id });
    expect(await row.locator('[data-test="shown-registered"]').innerText()).toBe(`Registered as ${tag!.tag_number}`);
    // A second card, one that carries a number, waits for its Register.
    firmware.hub.presentTag(door, { tagNumber: '4000000123', uid: Uint8Array.of(0x04, 0x11, 0x22, 0x33) });
    await expect.poll(() => page.locator('[data-test="shown-row"][data-uid="04112233"] [data-test="shown-number"]').innerText(), { timeout: 10_000 }).toBe('4000000123');
    await settled(page);
    found.push(...(await axeFindings(page, 'tags')));
    await screenshot(page, 'commission');

    await page.locator('[data-test="registration-stop"]').click();
    await page.locator('[data-test="registration-off"]').waitFor();
    expect(firmware.hub.lockStatus(door).tag_registration_s).toBe(0);
    await page.locator('[data-test="tags-next"]').click();

    // 6. The summary.
    await expect.poll(() => stepOf(page)).toBe('done');
    expect(await page.locator('[data-test="summary-locks"]').innerText()).toBe('1');
    expect(await page.locator('[data-test="summary-tags"]').innerText()).toBe('1');
    found.push(...(await axeFindings(page, 'done')));
    expect(found).toEqual([]);
    expect(await page.evaluate(() => (globalThis as unknown as { e2eMark?: number }).e2eMark)).toBe(mark);

    // The hubs page now shows it ready, as IQ Annex.
    await page.locator('[data-test="done-hubs"]').click();
    await expect.poll(() => hubRow(page, NEW_MAC).locator('[data-test="hub-state"]').innerText()).toBe('Ready');
    await expect.poll(() => hubRow(page, NEW_MAC).locator('[data-test="hub-iq"]').innerText()).toBe('Annex');
  });

  it('shows office mode, a tamper alarm and a remote opening at the hubs live on the monitor, without a reload', async () => {
    await page.goto(`${e.url}/#/monitor`);
    await page.locator('[data-test="monitor-iq"]').click();
    await page.locator('.n-base-select-option', { hasText: DEMO_IQS[0].customer_reference }).click();
    await expect.poll(async () => (await page.locator('[data-test="tile-name"]').allInnerTexts()).every((n) => n.startsWith('North — '))).toBe(true);
    await tile(page, 'North — Main entrance').waitFor();
    await page.evaluate(() => ((globalThis as unknown as { e2eMark: number }).e2eMark = 42));
    const t = await token();

    // Office mode, started by another operator through the hub.
    const kitchen = await lockId('North — Kitchen');
    await api('locks.set_locking', { id: kitchen, locked_state: 'office_mode', otp: OWNER_PASSWORD }, t);
    await expect.poll(() => tile(page, 'North — Kitchen').getAttribute('data-state'), { timeout: 10_000 }).toBe('office_mode');
    expect(await tile(page, 'North — Kitchen').locator('[data-test="tile-state"]').innerText()).toBe('Office mode');

    // Someone tampers with a lock: its hub reports it, the tile turns red, the ticker shows the alarm.
    const server = await lockId('North — Server room');
    const hub = e.hubs!.simulated!.hubOf(server)!;
    hub.firmware.hub.tamper(server);
    await expect.poll(() => tile(page, 'North — Server room').locator('[data-test="tile-alarm"]').allInnerTexts(), { timeout: 10_000 }).toContain('Tamper');
    expect(await tile(page, 'North — Server room').getAttribute('class')).toContain('has-alarm');
    await expect.poll(() => page.locator('[data-test="ticker-item"][data-kind="incident"]').first().innerText(), { timeout: 10_000 }).toMatch(/North — Server room[\s\S]*Tamper/);

    // A remote opening from a tile, confirmed as on the doors screen: the hub's entry arrives on the tile.
    const entrance = tile(page, 'North — Main entrance');
    await entrance.locator('[data-test="tile-open"]').click();
    const dialog = page.locator('[data-test="locking-dialog"]');
    await expect.poll(() => dialog.innerText()).toContain('Open North — Main entrance now?');
    await dialog.locator('[data-test="locking-otp"] input').fill(OWNER_PASSWORD);
    await dialog.locator('[data-test="locking-otp"] input').press('Enter');
    await dialog.waitFor({ state: 'hidden', timeout: 25_000 });
    await expect.poll(() => entrance.locator('[data-test="tile-last"]').innerText(), { timeout: 10_000 }).toMatch(/Opened · remote · owner/);
    expect(await entrance.locator('[data-test="tile-last"]').getAttribute('data-live')).toBe('true');
    await expect.poll(() => page.locator('[data-test="ticker-item"][data-kind="entry"]').first().innerText()).toMatch(/North — Main entrance[\s\S]*Opened · remote · owner/);
    expect(await page.evaluate(() => (globalThis as unknown as { e2eMark?: number }).e2eMark)).toBe(42);

    // The tamper alarm links to the alarms panel.
    await page.locator('[data-test="monitor-iq"]').click();
    await page.keyboard.press('Escape');
    await settled(page);
    await screenshot(page, 'monitor');
    await tile(page, 'North — Server room').locator('[data-test="tile-alarm"]', { hasText: 'Tamper' }).click();
    await page.waitForURL(/#\/incidents/);
  });

  it('shows the front desk every hub but no way to commission one', async () => {
    const { context, page: desk } = await e.newPage();
    try {
      await login(desk, 'frontdesk', 'demo-frontdesk-pass');
      await desk.goto(`${e.url}/#/hubs`);
      await expect.poll(() => desk.locator('[data-test="hub-state"]').allInnerTexts(), { timeout: 15_000 }).toEqual(['Ready', 'Ready', 'Ready', 'Ready']);
      expect(await desk.locator('[data-test="commission-hub"]').count()).toBe(0);
      expect(await desk.locator('[data-test="commission-start"]').count()).toBe(0);
      await desk.goto(`${e.url}/#/hubs/commission`);
      await desk.waitForURL(/#\/$/);
    } finally {
      await context.close();
    }
  });

  it('says plainly when a door’s hub is gone', async () => {
    await lan.close();
    await page.goto(`${e.url}/#/hubs`);
    await expect.poll(() => page.locator('[data-test="hub-row"]').count(), { timeout: 10_000 }).toBe(3);
    await page.goto(`${e.url}/#/monitor`);
    await page.locator('[data-test="monitor-search"] input').fill('Annex');
    await expect.poll(() => page.locator('[data-test="tile-name"]').allInnerTexts()).toEqual([DOOR]);
    await expect.poll(() => tile(page, DOOR).getAttribute('data-state')).toBe('offline');
    await tile(page, DOOR).locator('[data-test="tile-open"]').click();
    const dialog = page.locator('[data-test="locking-dialog"]');
    await dialog.locator('[data-test="locking-otp"] input').fill(OWNER_PASSWORD);
    await dialog.locator('[data-test="locking-confirm"]').click();
    await expect.poll(() => dialog.locator('[data-test="locking-error"]').innerText()).toMatch(/The hub of IQ 'Annex' is not connected/);
    expect(await dialog.isVisible()).toBe(true);
  });
});
