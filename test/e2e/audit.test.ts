// The audit trail and the insights dashboard in a real browser against a real host with the demo site
// (30 days of entries): cursor pages while scrolling, filters kept in the URL, a remote opening arriving
// live, a streamed CSV export that matches the filter's count, charts, and Dutch.
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_PASSWORD, requirements, screenshot, signIn, startE2E, type E2E } from './harness.ts';

let e: E2E;
let page: Page;
let owner: string;
const consoleErrors: string[] = [];

beforeAll(async () => {
  const missing = requirements();
  if (missing) throw new Error(missing);
  e = await startE2E();
  ({ page } = await e.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(err.message));
  owner = await token();
}, 120_000);
afterAll(async () => e?.close());

async function api<T>(name: string, input: unknown): Promise<T> {
  const r = await fetch(`${e.url}/api/rpc/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}` }, body: JSON.stringify(input) });
  const body = (await r.json()) as { result: T; error?: { message: string } };
  if (!r.ok) throw new Error(body.error?.message ?? `HTTP ${r.status}`);
  return body.result;
}
async function token(username = 'owner', password = 'correct horse battery'): Promise<string> {
  const r = await fetch(`${e.url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username, password }) });
  return ((await r.json()) as { access_token: string }).access_token;
}
const countOf = async (filter: Record<string, string>) => (await api<{ count: number }>('entries.list', { ...filter, limit: 1, with_count: true })).count;
const fmt = (n: number) => new Intl.NumberFormat('en').format(n);
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });
/** Picks an option of a Naive select, typing first when it searches. */
async function choose(select: string, option: string, type?: string): Promise<void> {
  await page.locator(select).click();
  if (type) await page.keyboard.type(type);
  await page.locator('.n-base-select-option', { hasText: option }).first().click();
}
async function quiet(): Promise<void> {
  await page.locator('.n-message').first().waitFor({ state: 'detached', timeout: 10_000 });
}

const DOOR = 'North — Car park gate';
let doorId: string;

describe('audit trail', () => {
  it('lists the trail newest first with its count, and loads older pages while scrolling', async () => {
    await signIn(page, e.url);
    await page.waitForURL((u) => u.hash === '#/');
    await page.goto(`${e.url}/#/audit`);
    await page.locator('[data-test="entry-row"]').first().waitFor();
    const total = await countOf({});
    const newest = (await api<{ items: Array<{ id: string }> }>('entries.list', { limit: 1 })).items[0]!;
    await poll(() => page.locator('[data-test="entries-count"]').innerText()).toBe(`${fmt(total)} entries`);
    expect(await page.locator('[data-test="entry-row"]').first().getAttribute('data-entry')).toBe(newest.id);
    await poll(() => page.locator('[data-test="entries-shown"]').innerText()).toBe(`200 of ${fmt(total)} shown`);

    // Scrolling to the end of what is loaded fetches the next page (older_cursor), and the next.
    const table = page.locator('[data-test="audit-table"]');
    await table.hover();
    for (const shown of [400, 600]) {
      await poll(async () => {
        await page.mouse.wheel(0, 3000);
        return page.locator('[data-test="entries-shown"]').innerText();
      }).toBe(`${shown} of ${fmt(total)} shown`);
    }
    // Virtual rows: only what is on screen is in the page, however much is loaded.
    expect(await page.locator('[data-test="entry-row"]').count()).toBeLessThan(60);
    await expect(page.locator('[data-test="live-state"]').innerText()).resolves.toContain('Paused');
  });

  it('filters by a door and "rejected": only matching rows, the count, and a bookmarkable URL', async () => {
    doorId = (await api<{ items: Array<{ id: string }> }>('locks.list', { search: DOOR })).items[0]!.id;
    const expected = await countOf({ lock_id: doorId, event_category: 'lock_rejected' });
    expect(expected).toBeGreaterThan(50);

    await choose('[data-test="filter-door"]', DOOR, 'Car park');
    await choose('[data-test="filter-category"]', 'Rejected');
    await poll(() => page.locator('[data-test="entries-count"]').innerText()).toBe(`${fmt(expected)} entries`);
    const url = new URL(page.url().replace('#/', ''));
    expect(url.searchParams.get('lock_id')).toBe(doorId);
    expect(url.searchParams.get('event_category')).toBe('lock_rejected');

    const rowsMatch = async () => {
      const doors = await page.locator('[data-test="entry-door"]').allInnerTexts();
      const events = await page.locator('[data-test="entry-event"]').allInnerTexts();
      return doors.length > 5 && doors.every((d) => d === DOOR) && events.every((ev) => ev.startsWith('Rejected'));
    };
    await poll(rowsMatch).toBe(true);

    // The URL is the filter: a reload (or a bookmark) shows the same view.
    await page.reload();
    await poll(() => page.locator('[data-test="entries-count"]').innerText()).toBe(`${fmt(expected)} entries`);
    await poll(() => page.locator('[data-test="filter-door"]').innerText()).toContain(DOOR);
    await poll(() => page.locator('[data-test="filter-category"]').innerText()).toContain('Rejected');
    await poll(rowsMatch).toBe(true);
  });

  it('narrows by a person (from a row), tag number, access method and period, and clears', async () => {
    await page.goto(`${e.url}/#/audit?event_category=lock_opened`);
    const person = page.locator('[data-test="entry-row"] button[data-test="entry-person"]').first();
    await person.waitFor();
    const name = await person.innerText();
    await person.click();
    const query = () => new URL(page.url().replace('#/', '')).searchParams;
    await poll(() => query().get('user_id')).toBeTruthy();
    const userId = query().get('user_id')!;
    await poll(() => page.locator('[data-test="filter-person"]').innerText()).toContain(name);
    await poll(() => page.locator('[data-test="entries-count"]').innerText()).toBe(`${fmt(await countOf({ event_category: 'lock_opened', user_id: userId }))} entries`);
    expect(new Set(await page.locator('[data-test="entry-person"]').allInnerTexts())).toEqual(new Set([name]));

    const tag = await page.locator('[data-test="entry-tag"]').first().innerText();
    await page.locator('[data-test="filter-tag"] input').fill(tag);
    await poll(() => query().get('tag_number')).toBe(tag);
    await choose('[data-test="filter-method"]', 'Tag');
    await poll(() => query().get('access_by')).toBe('tag');
    const filtered = { event_category: 'lock_opened', user_id: userId, tag_number: tag, access_by: 'tag' };
    await poll(() => page.locator('[data-test="entries-count"]').innerText()).toBe(`${fmt(await countOf(filtered))} entries`);

    // A period: instants in the site's zone, sent as UTC.
    await page.locator('[data-test="filter-period"]').click();
    await page.locator('.n-date-panel .n-button', { hasText: 'Last 7 days' }).click();
    await poll(() => query().get('from')).toMatch(/Z$/);
    const from = query().get('from')!;
    const until = query().get('until')!;
    expect(DateTime.fromISO(from).setZone('Europe/Amsterdam').toFormat('HH:mm:ss')).toBe('00:00:00');
    await poll(() => page.locator('[data-test="entries-count"]').innerText()).toBe(`${fmt(await countOf({ ...filtered, from, until }))} entries`);

    await page.locator('[data-test="clear-filters"]').click();
    await poll(() => page.url().endsWith('#/audit')).toBe(true);
    await poll(() => page.locator('[data-test="entries-count"]').innerText()).toBe(`${fmt(await countOf({}))} entries`);
    await expect(page.locator('[data-test="filter-tag"] input').inputValue()).resolves.toBe('');
  });

  it('streams the filtered view to a CSV file with a progress bar; header and rows match the count', async () => {
    const expected = await countOf({ lock_id: doorId, event_category: 'lock_rejected' });

    // Slowed down, the whole trail shows its progress, and can be cancelled.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await page.goto(`${e.url}/#/audit`);
    const total = await countOf({});
    await poll(() => page.locator('[data-test="entries-count"]').innerText()).toBe(`${fmt(total)} entries`);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 150_000, uploadThroughput: -1 });
    await page.locator('[data-test="export-csv"]').click();
    const progress = page.locator('[data-test="export-progress"]');
    await progress.waitFor();
    await poll(async () => Number((await progress.locator('[data-test="export-rows"]').innerText()).split(' of ')[0]!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(await progress.innerText()).toContain(`of ${fmt(total)} entries`);
    await page.locator('[data-test="export-cancel"]').click();
    await progress.waitFor({ state: 'detached' });
    await poll(() => page.locator('.n-message').first().innerText()).toContain('Export cancelled');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });

    await page.goto(`${e.url}/#/audit?lock_id=${doorId}&event_category=lock_rejected`);
    await poll(() => page.locator('[data-test="entries-count"]').innerText()).toBe(`${fmt(expected)} entries`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test="export-csv"]').click()]);
    expect(download.suggestedFilename()).toMatch(/^entries-\d{4}-\d{2}-\d{2}\.csv$/);
    const text = readFileSync((await download.path())!, 'utf8');
    const records = parse(text, { columns: true }) as Array<Record<string, string>>;
    expect(text.split('\n')[0]).toBe(
      'id,utc_date_time,local_date_time,event_category,event_detail,access_by,lock_id,lock_customer_reference,iq_id,user_id,platform_user_id,user_name,tag_id,tag_number,device_date_time,received_date_time,source,source_event_id',
    );
    expect(records).toHaveLength(expected);
    expect(records.every((r) => r.lock_id === doorId && r.event_category === 'lock_rejected')).toBe(true);
    await poll(() => page.locator('.n-message').first().innerText()).toContain(`${fmt(expected)} entries`);

    // JSON lines: one entry per line.
    const [jsonl] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test="export-jsonl"]').click()]);
    const lines = readFileSync((await jsonl.path())!, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(expected);
    expect((JSON.parse(lines[0]!) as { lock_id: string }).lock_id).toBe(doorId);
  });

  it('shows a remote opening live at the top of the door’s trail', async () => {
    await page.goto(`${e.url}/#/audit?lock_id=${doorId}`);
    const before = await countOf({ lock_id: doorId });
    await poll(() => page.locator('[data-test="entries-count"]').innerText()).toBe(`${fmt(before)} entries`);
    await page.locator('[data-test="entry-row"]').first().waitFor();
    await expect(page.locator('[data-test="live-state"]').innerText()).resolves.toContain('Live');

    await api('locks.set_locking', { id: doorId, locked_state: 'unlocked', otp: OWNER_PASSWORD });
    const first = page.locator('[data-test="entry-row"]').first();
    await poll(() => first.locator('[data-test="entry-method"]').innerText()).toBe('Remote');
    await poll(() => first.locator('[data-test="entry-new"]').count()).toBe(1);
    expect(await first.locator('[data-test="entry-door"]').innerText()).toBe(DOOR);
    expect(await first.locator('[data-test="entry-event"]').innerText()).toContain('Opened');
    await poll(() => page.locator('[data-test="entries-count"]').innerText()).toBe(`${fmt(before + 1)} entries`);
    // An opening elsewhere does not match this door's filter.
    const other = (await api<{ items: Array<{ id: string }> }>('locks.list', { search: 'North — Reception' })).items[0]!;
    await api('locks.set_locking', { id: other.id, locked_state: 'unlocked', otp: OWNER_PASSWORD });
    await page.waitForTimeout(500);
    expect(await page.locator('[data-test="entries-count"]').innerText()).toBe(`${fmt(before + 1)} entries`);
    await quiet().catch(() => undefined);
    // Clicking the heading moves the focus off the last button pressed.
    await page.locator('h1').click();
    await screenshot(page, 'audit');
  });
});

describe('insights', () => {
  it('draws the charts from the counts, without console errors', async () => {
    consoleErrors.length = 0;
    await page.goto(`${e.url}/#/insights`);
    for (const chart of ['chart-per-day', 'chart-per-hour', 'chart-doors', 'chart-reasons']) {
      await page.locator(`[data-test="${chart}"] svg path`).first().waitFor({ state: 'attached' });
      expect(await page.locator(`[data-test="${chart}"] svg path`).count()).toBeGreaterThan(5);
    }
    // The figures are the core's: the last 30 days in the site's zone.
    const today = DateTime.now().setZone('Europe/Amsterdam').startOf('day');
    const counts = await api<Array<{ key: string; count: number }>>('entries.counts', {
      group_by: 'category',
      from_local: today.minus({ days: 29 }).toISODate(),
      until_local: today.plus({ days: 1 }).toISODate(),
    });
    const rejected = counts.find((c) => c.key === 'lock_rejected')?.count ?? 0;
    await poll(() => page.locator('[data-test="kpi-rejected"]').innerText()).toContain(fmt(rejected));
    await poll(() => page.locator('[data-test="chart-doors"]').innerText()).toContain(DOOR);
    await poll(() => page.locator('[data-test="chart-reasons"]').innerText()).toContain('Outside schedule');
    await poll(() => page.locator('[data-test="inactive-people-count"]').innerText()).toMatch(/^\d/);
    await page.waitForTimeout(600);
    expect(consoleErrors).toEqual([]);
    await screenshot(page, 'insights');
  });

  it('speaks Dutch when the language is switched to Nederlands', async () => {
    await page.locator('.n-layout-header .n-select').click();
    await page.locator('.n-base-select-option', { hasText: 'Nederlands' }).click();
    await poll(() => page.locator('h1').innerText()).toBe('Inzicht');
    await poll(() => page.locator('[data-test="chart-per-day"]').innerText()).toContain('Gebeurtenissen per dag');
    await poll(() => page.locator('[data-test="chart-per-day"] svg').textContent()).toContain('Geweigerd');
    await poll(() => page.locator('[data-test="chart-reasons"]').innerText()).toContain('Buiten tijdschema');

    await page.goto(`${e.url}/#/audit?event_category=lock_rejected`);
    await poll(() => page.locator('h1').innerText()).toBe('Logboek');
    const rejected = await countOf({ event_category: 'lock_rejected' });
    await poll(() => page.locator('[data-test="entries-count"]').innerText()).toBe(`${new Intl.NumberFormat('nl').format(rejected)} gebeurtenissen`);
    await poll(() => page.locator('[data-test="audit-table"] thead').innerText()).toContain('Tijd (bij de deur)');
    await poll(async () => (await page.locator('[data-test="entry-event"]').allInnerTexts()).every((t) => t.startsWith('Geweigerd'))).toBe(true);
    await expect(page.locator('[data-test="export-csv"]').innerText()).resolves.toBe('CSV exporteren');
    expect(consoleErrors).toEqual([]);
  });
});
