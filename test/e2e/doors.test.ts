// Doors, IQs and alarms in a real browser against a real host with the demo site: the door list, a
// remote opening confirmed in a dialog whose entry arrives live at the door, what the front desk and an
// auditor may do, the hubs' sync state, and acknowledging an alarm (and a new one arriving live).
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_PASSWORD, requirements, screenshot, signIn, startE2E, type E2E } from './harness.ts';

let e: E2E;
let page: Page;

beforeAll(async () => {
  const missing = requirements();
  if (missing) throw new Error(missing);
  e = await startE2E();
  ({ page } = await e.newPage());
}, 120_000);
afterAll(async () => e?.close());

async function rpc(name: string, input: unknown, token: string): Promise<{ status: number; body: { result?: unknown; error?: { code: string; message: string } } }> {
  const r = await fetch(`${e.url}/api/rpc/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(input) });
  return { status: r.status, body: (await r.json()) as { result?: unknown; error?: { code: string; message: string } } };
}
async function api<T>(name: string, input: unknown, token: string): Promise<T> {
  const r = await rpc(name, input, token);
  if (r.status !== 200) throw new Error(r.body.error?.message ?? `HTTP ${r.status}`);
  return r.body.result as T;
}
async function token(username = 'owner', password = OWNER_PASSWORD): Promise<string> {
  const r = await fetch(`${e.url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username, password }) });
  return ((await r.json()) as { access_token: string }).access_token;
}

interface Lock {
  id: string;
  customer_reference: string;
}
interface Entry {
  id: string;
  access_by: string | null;
  event_category: string;
  user_name: string | null;
  utc_date_time: string;
}

/** Waits until the confirmation toasts are gone, so that screenshots show the screen itself. */
async function settled(p: Page) {
  await expect.poll(() => p.locator('.n-message').count(), { timeout: 8000 }).toBe(0);
}

/** Signs in and waits until the sign-in screen has moved on to the dashboard, so that a goto is not overtaken. */
async function login(p: Page, username?: string, password?: string) {
  await signIn(p, e.url, username, password);
  await p.waitForURL(/#\/$/);
}

/**
 * Opens the doors list and waits for its rows. On a loaded machine the first load after signing in has
 * now and then shown no rows within 20 s (cause not found: see the closing note of issue 7); then what
 * the page shows is printed, and it is loaded once more before the test fails.
 */
async function openDoors(p: Page) {
  await p.goto(`${e.url}/#/doors`);
  const firstRow = p.locator('[data-test="door-row"]').first();
  try {
    await firstRow.waitFor({ timeout: 10_000 });
  } catch {
    const shown = await p
      .locator('body')
      .innerText()
      .catch(() => '(unreadable)');
    console.warn(`[doors e2e] no door rows after 10 s at ${p.url()}; the page showed:\n${shown.slice(0, 600)}`);
    await p.reload();
    await firstRow.waitFor();
  }
}

async function openDetail(p: Page, door: string) {
  await p.locator('[data-test="doors-search"] input').fill(door);
  await expect.poll(() => p.locator('[data-test="door-link"]').allInnerTexts()).toEqual([door]);
  await p.locator('[data-test="door-link"]', { hasText: door }).click();
  await expect.poll(() => p.locator('[data-test="door-title"]').innerText()).toBe(door);
}

/**
 * Opens a door from its drawer, confirming in the dialog with the operator's password, and waits for
 * the entry in the recent list. With `wrongFirst`, a wrong password is tried first: refused, the
 * dialog stays open and nothing opens.
 */
async function remoteOpen(p: Page, door: string, who: string, password: string, wrongFirst = false) {
  await p.locator('[data-test="remote-open"]').click();
  const dialog = p.locator('[data-test="locking-dialog"]');
  await expect.poll(() => dialog.innerText()).toContain(`Open ${door} now?`);
  expect(await dialog.locator('[data-test="locking-confirm"]').isDisabled()).toBe(true);
  if (wrongFirst) {
    const before = await p.locator('[data-test="recent-row"]').first().innerText();
    await dialog.locator('[data-test="locking-otp"] input').fill('not my password');
    await dialog.locator('[data-test="locking-confirm"]').click();
    await expect.poll(() => p.locator('.n-message').last().innerText()).toContain('The confirmation is wrong: type your password');
    expect(await dialog.isVisible()).toBe(true);
    expect(await p.locator('[data-test="recent-row"]').first().innerText()).toBe(before);
  }
  await dialog.locator('[data-test="locking-otp"] input').fill(password);
  await dialog.locator('[data-test="locking-otp"] input').press('Enter');
  await dialog.waitFor({ state: 'hidden' });
  await expect.poll(() => p.locator('[data-test="recent-row"]').first().innerText()).toMatch(new RegExp(`Opened · remote[\\s\\S]*${who}`));
}

describe('doors, IQs and alarms', () => {
  it('lists the 40 demo doors, filters them and searches while typing', async () => {
    await login(page);
    await openDoors(page);
    await expect.poll(() => page.locator('[data-test="door-row"]').count()).toBe(40);
    await expect.poll(() => page.locator('[data-test="doors-table"]').innerText()).toContain('40 in total');

    // The one offline door of the demo site.
    await page.locator('[data-test="filter-online"]').click();
    await page.locator('.n-base-select-option', { hasText: /^Offline$/ }).click();
    await expect.poll(() => page.locator('[data-test="door-row"]').count()).toBe(1);
    await expect.poll(() => page.locator('[data-test="door-row"]').innerText()).toContain('Plant room');
    await page.locator('[data-test="filter-online"]').click();
    await page.locator('.n-base-select-option', { hasText: 'Online or offline' }).click();
    await expect.poll(() => page.locator('[data-test="door-row"]').count()).toBe(40);

    // Low batteries: the same doors the core counts.
    const lowBattery = await api<{ count: number }>(
      'locks.list',
      { filter: { op: 'or', args: [{ op: 'eq', field: 'battery_level', value: 'low' }, { op: 'eq', field: 'battery_level', value: 'very_low' }] }, top: 1 },
      await token(),
    );
    await page.locator('[data-test="filter-battery"]').click();
    await expect.poll(() => page.locator('[data-test="door-row"]').count()).toBe(lowBattery.count);
    await page.locator('[data-test="filter-battery"]').click();
    await expect.poll(() => page.locator('[data-test="door-row"]').count()).toBe(40);

    await page.locator('[data-test="doors-search"] input').fill('north — meeting');
    await expect.poll(async () => (await page.locator('[data-test="door-link"]').allInnerTexts()).every((n) => n.startsWith('North — Meeting'))).toBe(true);
    await page.locator('[data-test="doors-search"] input').fill('');
    await expect.poll(() => page.locator('[data-test="door-row"]').count()).toBe(40);
    await expect.poll(() => page.locator('[data-test="door-last-opened"]').first().innerText()).toMatch(/\d{2}:\d{2}/);
    await screenshot(page, 'doors');
  });

  it('remote-opens a door after a confirmation and sees the entry arrive live, without a reload', async () => {
    const door = 'North — Main entrance';
    const started = new Date(Date.now() - 1000).toISOString();
    await openDoors(page);
    await openDetail(page, door);
    await page.locator('[data-test="recent-row"]').first().waitFor();
    // Marks this page: a reload would lose it.
    await page.evaluate(() => ((globalThis as unknown as { e2eMark: number }).e2eMark = 42));

    // Cancelling sends nothing.
    await page.locator('[data-test="remote-open"]').click();
    await page.locator('[data-test="locking-cancel"]').click();
    await page.locator('[data-test="locking-dialog"]').waitFor({ state: 'hidden' });

    await remoteOpen(page, door, 'owner', OWNER_PASSWORD, true);
    expect(await page.evaluate(() => (globalThis as unknown as { e2eMark?: number }).e2eMark)).toBe(42);
    await expect.poll(() => page.locator('[data-test="door-row"]').locator('[data-test="door-last-opened"]').innerText()).not.toBe('—');

    // The core recorded it: one remote opening at this door, by the owner (operators are named by user name), since the test began.
    const t = await token();
    const [lock] = (await api<{ items: Lock[] }>('locks.list', { search: door }, t)).items;
    const entries = await api<{ items: Entry[] }>('entries.list', { lock_id: lock!.id, access_by: 'remote', from: started, limit: 10 }, t);
    expect(entries.items).toHaveLength(1);
    expect(entries.items[0]).toMatchObject({ access_by: 'remote', event_category: 'lock_opened', user_name: 'owner' });

    // The other tabs of the drawer: the easy office mode schedule and the offline keys.
    await page.locator('.n-tabs-tab', { hasText: 'Offline keys' }).click();
    await expect.poll(() => page.locator('[data-test="keys-usage"]').innerText()).toMatch(/\d+ of 360 slots used/);
    await page.locator('.n-tabs-tab', { hasText: 'Easy office mode' }).click();
    await expect.poll(() => page.locator('[data-test="eom-summary"]').innerText()).toContain('No easy office mode schedule');
    await page.locator('.n-tabs-tab', { hasText: 'Overview' }).click();
    await expect.poll(() => page.locator('[data-test="recent-row"][data-fresh="true"]').count()).toBe(1);
    await settled(page);
    await screenshot(page, 'door');
  });

  it('sets an easy office mode schedule on a door', async () => {
    await openDoors(page);
    await openDetail(page, 'North — Kitchen');
    await page.locator('.n-tabs-tab', { hasText: 'Easy office mode' }).click();
    await page.locator('[data-test="eom-edit"]').click();
    await page.locator('[data-test="start-time"] input').fill('08:00');
    await page.locator('[data-test="end-time"] input').fill('12:30');
    await page.locator('[data-test="eom-auto"]').click();
    await page.locator('[data-test="eom-save"]').click();
    await expect.poll(() => page.locator('[data-test="eom-summary"]').innerText()).toContain('Mon–Fri, 08:00–12:30 · starts automatically');
  });

  it('adds a door attached to an IQ and deletes it again', async () => {
    await openDoors(page);
    await page.locator('[data-test="add-door"]').click();
    const dialog = page.locator('[data-test="door-dialog"]');
    await dialog.locator('#door-name').fill('South — E2E store');
    await dialog.locator('#door-floor').fill('2');
    await dialog.locator('[data-test="door-iq"]').click();
    await page.locator('.n-base-select-option', { hasText: 'South building' }).click();
    await dialog.locator('#door-mac').fill('not a mac');
    await dialog.locator('[data-test="save-door"]').click();
    // The core's validation names the field; nothing is created.
    await expect.poll(() => dialog.innerText()).toContain('must be a MAC address');
    await dialog.locator('#door-mac').fill('');
    await dialog.locator('[data-test="save-door"]').click();
    await expect.poll(() => page.locator('[data-test="door-title"]').innerText()).toBe('South — E2E store');
    await expect.poll(() => page.locator('[data-test="door-facts"]').innerText()).toContain('South building');
    await expect.poll(() => page.locator('[data-test="door-row"]').innerText()).toContain('South — E2E store');

    await page.locator('[data-test="delete-door"]').click();
    await page.locator('.n-dialog__action button', { hasText: 'Delete' }).click();
    await page.locator('[data-test="door-detail"]').waitFor({ state: 'detached' });
    await page.locator('[data-test="doors-search"] input').fill('');
    await expect.poll(() => page.locator('[data-test="doors-table"]').innerText()).toContain('40 in total');
  });

  it('lets the front desk open doors remotely but not add, edit or delete them', async () => {
    const { context, page: desk } = await e.newPage();
    try {
      await login(desk, 'frontdesk', 'demo-frontdesk-pass');
      await openDoors(desk);
      expect(await desk.locator('[data-test="open-door"]').count()).toBeGreaterThan(0);
      expect(await desk.locator('[data-test="add-door"]').count()).toBe(0);
      await openDetail(desk, 'North — Reception');
      expect(await desk.locator('[data-test="edit-door"]').count()).toBe(0);
      expect(await desk.locator('[data-test="delete-door"]').count()).toBe(0);
      await remoteOpen(desk, 'North — Reception', 'frontdesk', 'demo-frontdesk-pass');
    } finally {
      await context.close();
    }
  });

  it('shows an auditor no open button, and the core refuses remote opening with 403', async () => {
    const { context, page: auditor } = await e.newPage();
    try {
      await login(auditor, 'auditor', 'demo-auditor-pass');
      await openDoors(auditor);
      expect(await auditor.locator('[data-test="open-door"]').count()).toBe(0);
      await openDetail(auditor, 'North — Main entrance');
      await auditor.locator('[data-test="recent-row"]').first().waitFor();
      expect(await auditor.locator('[data-test="remote-open"]').count()).toBe(0);
      expect(await auditor.locator('[data-test="add-door"]').count()).toBe(0);
    } finally {
      await context.close();
    }
    const t = await token('auditor', 'demo-auditor-pass');
    const [lock] = (await api<{ items: Lock[] }>('locks.list', { search: 'North — Main entrance' }, t)).items;
    const refused = await rpc('locks.set_locking', { id: lock!.id, locked_state: 'unlocked', otp: 'demo-auditor-pass' }, t);
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe('forbidden');
  });

  it('lists the 3 IQs with their sync state, which changes live when a table is recompiled', async () => {
    await page.goto(`${e.url}/#/iqs`);
    await expect.poll(() => page.locator('[data-test="iq-row"]').count()).toBe(3);
    // What the core records (the demo's hubs confirmed their tables; the changes made above left some
    // pending, as no hub is attached to confirm them).
    const label = { synced: 'Synced', pending: 'Pending', not_synced: 'Not synced', failed: 'Failed' } as const;
    const recorded = async () =>
      (await api<{ items: Array<{ data_sync_state: keyof typeof label }> }>('iqs.list', {}, await token())).items.map((i) => label[i.data_sync_state]);
    const shown = await recorded();
    expect(shown.some((x) => x === 'Synced')).toBe(true);
    await expect.poll(() => page.locator('[data-test="iq-sync"]').allInnerTexts()).toEqual(shown);
    await expect.poll(async () => (await page.locator('[data-test="iq-doors"]').allInnerTexts()).map(Number).reduce((a, b) => a + b, 0)).toBe(40);
    await expect.poll(async () => (await page.locator('[data-test="iq-table-version"]').allInnerTexts()).every((v) => /^v\d+$/.test(v))).toBe(true);
    await screenshot(page, 'iqs');

    // An offline key on a door of a synced hub changes that hub's table: it shows pending (live, and
    // after a reload) until a hub confirms.
    const t = await token();
    const iqs = (await api<{ items: Array<{ id: string; data_sync_state: string }> }>('iqs.list', {}, t)).items;
    const at = iqs.findIndex((i) => i.data_sync_state === 'synced');
    const [door] = (await api<{ items: Array<{ id: string }> }>('locks.list', { filter: { op: 'eq', field: 'iq_id', value: iqs[at]!.id }, top: 1 }, t)).items;
    const [spare] = (await api<{ items: Array<{ id: string }> }>('tags.list', { filter: { op: 'eq', field: 'user_id', value: null }, top: 1 }, t)).items;
    await api('locks.offline_keys.update', { id: door!.id, add_ids: [spare!.id] }, t);
    await expect.poll(async () => (await page.locator('[data-test="iq-sync"]').allInnerTexts())[at]).toBe('Pending');
    await page.reload();
    await expect.poll(async () => (await page.locator('[data-test="iq-sync"]').allInnerTexts())[at]).toBe('Pending');
    expect((await recorded())[at]).toBe('Pending');
  });

  it('acknowledges an open alarm with a comment, and shows a new alarm live', async () => {
    await page.goto(`${e.url}/#/incidents`);
    await page.locator('[data-test="incident-row"]').first().waitFor();
    await page.locator('[data-test="filter-ack"]').click();
    await page.locator('.n-base-select-option', { hasText: /^Open$/ }).click();
    await expect.poll(async () => (await page.locator('[data-test="incident-ack"]').count()) === 0 && (await page.locator('[data-test="incident-open"]').count()) > 0).toBe(true);

    const row = page.locator('[data-test="incident-row"]').first();
    const id = await row.getAttribute('data-incident');
    await row.locator('[data-test="ack-one"]').click();
    const dialog = page.locator('[data-test="ack-dialog"]');
    await dialog.locator('[data-test="ack-comment"] textarea').fill('Checked on site: door closed, nobody there.');
    await dialog.locator('[data-test="ack-confirm"]').click();
    await dialog.waitFor({ state: 'hidden' });
    const done = page.locator(`[data-test="incident-row"][data-incident="${id}"]`);
    await expect.poll(() => done.locator('[data-test="incident-ack"]').innerText()).toContain('Acknowledged');
    await expect.poll(() => done.innerText()).toContain('by owner');
    await expect.poll(() => done.innerText()).toContain('Checked on site: door closed, nobody there.');

    const t = await token();
    expect(await api('incidents.get', { id }, t)).toMatchObject({ acknowledged: true, acknowledged_by: 'owner', ack_comment: 'Checked on site: door closed, nobody there.' });

    // A hub reports an intrusion: it arrives on the open screen by itself.
    const [lock] = (await api<{ items: Lock[] }>('locks.list', { search: 'North — Server room' }, t)).items;
    await api('entries.ingest', { source: 'e2e-hub', incidents: [{ event_id: randomUUID(), time: new Date().toISOString(), incident_type: 'intrusion', lock_id: lock!.id }] }, t);
    const fresh = page.locator('[data-test="incident-row"]').first();
    await expect.poll(() => fresh.innerText()).toContain('Intrusion');
    await expect.poll(() => fresh.locator('[data-test="incident-door"]').innerText()).toBe(lock!.customer_reference);
    await fresh.locator('[data-test="incident-new"]').waitFor();
    await settled(page);
    await screenshot(page, 'incidents');
  });
});
