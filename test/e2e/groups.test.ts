// Access groups, time schedules and holiday calendars in a real browser against a real host: create a
// calendar and a group with a door, draw Monday–Friday 08:00–17:00 on the weekly grid, add a person
// with a tag after seeing them gain that door at those hours, check the core's decisions and its
// explanation, see a holiday take the access away on its date, and check that the front desk may
// change membership but not schedules.
import { DateTime } from 'luxon';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirements, screenshot, signIn, startE2E, type E2E } from './harness.ts';

const ZONE = 'Europe/Amsterdam';
const DOOR = 'North — Archive';
const GROUP = 'E2E Archive day access';
const CALENDAR = 'E2E site closures';

let e: E2E;
let page: Page;
let owner: string;

interface Person {
  id: string;
  name: string;
  email: string;
  tag: string;
}

beforeAll(async () => {
  const missing = requirements();
  if (missing) throw new Error(missing);
  e = await startE2E();
  ({ page } = await e.newPage());
  owner = await token();
}, 120_000);
afterAll(async () => e?.close());

async function call(name: string, input: unknown, tok: string): Promise<{ status: number; result: unknown; error?: { code: string; message: string } }> {
  const r = await fetch(`${e.url}/api/rpc/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` }, body: JSON.stringify(input) });
  const body = (await r.json()) as { result: unknown; error?: { code: string; message: string } };
  return { status: r.status, ...body };
}
async function api<T>(name: string, input: unknown, tok = owner): Promise<T> {
  const r = await call(name, input, tok);
  if (r.status !== 200) throw new Error(r.error?.message ?? `HTTP ${r.status}`);
  return r.result as T;
}
async function token(username = 'owner', password = 'correct horse battery'): Promise<string> {
  const r = await fetch(`${e.url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username, password }) });
  return ((await r.json()) as { access_token: string }).access_token;
}

/** Employees with a working tag and no other route to the door (only Facilities holds every door). */
async function peopleWithTags(n: number): Promise<Person[]> {
  const page = await api<{ items: Array<{ id: string; first_name: string; last_name: string; email: string; valid_until: string | null }> }>('users.list', {
    filter: { op: 'and', args: [{ op: 'eq', field: 'kind', value: 'employee' }, { op: 'eq', field: 'blocked', value: false }] },
    top: 60,
  });
  const out: Person[] = [];
  for (const u of page.items) {
    if (u.valid_until) continue;
    const d = await api<{ tags: Array<{ tag_number: string; blocked: boolean; lost_or_stolen: boolean }>; access_groups: Array<{ customer_reference: string }> }>('users.get', { id: u.id });
    const tag = d.tags.find((t) => !t.blocked && !t.lost_or_stolen);
    if (!tag || d.access_groups.some((g) => g.customer_reference === 'Facilities')) continue;
    out.push({ id: u.id, name: `${u.first_name} ${u.last_name}`, email: u.email, tag: tag.tag_number });
    if (out.length === n) break;
  }
  expect(out).toHaveLength(n);
  return out;
}

/** The next Monday–Friday after today, in the site's zone (within the 7 days the access diff covers). */
function nextWeekday(): DateTime {
  let d = DateTime.now().setZone(ZONE).startOf('day').plus({ days: 1 });
  while (d.weekday > 5) d = d.plus({ days: 1 });
  return d;
}

async function pick(p: Page, select: string, typed: string, option: string) {
  await p.locator(select).click();
  await p.keyboard.type(typed);
  await p.locator('.n-base-select-option', { hasText: option }).first().click();
}

async function drag(p: Page, from: string, to: string) {
  const a = (await p.locator(from).boundingBox())!;
  const b = (await p.locator(to).boundingBox())!;
  await p.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await p.mouse.down();
  await p.mouse.move((a.x + b.x) / 2 + b.width / 2, (a.y + b.y) / 2 + b.height / 2, { steps: 4 });
  await p.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 4 });
  await p.mouse.up();
}

/** Signs in and waits until the redirect to the dashboard is done, so that it cannot undo a later goto. */
async function signInAs(p: Page, username?: string, password?: string) {
  await signIn(p, e.url, username, password);
  await p.waitForURL(/#\/$/);
}

/** Screenshots without the toasts of the last save, a focus ring or a hover highlight. */
async function settled(p: Page) {
  await expect.poll(() => p.locator('.n-message').count(), { timeout: 8000 }).toBe(0);
  await p.locator('h1').first().click();
  await p.mouse.move(1, 1);
}

const cell = (day: string, slot: number) => `[data-test="schedule-grid"] [data-col="${day}"][data-slot="${slot}"]`;

describe('access groups, schedules and holiday calendars', () => {
  let person: Person;
  let second: Person;
  let groupUrl: string;
  let doorId: string;
  const day = nextWeekday();

  it('lists the groups with their counts, creates a calendar and a group with a door through the access diff', async () => {
    const found = await peopleWithTags(2);
    expect(found).toHaveLength(2);
    [person, second] = found as [Person, Person];
    await signInAs(page);

    await page.goto(`${e.url}/#/groups`);
    const table = page.locator('[data-test="groups-table"]');
    await table.locator('[data-test="group-link"]', { hasText: 'All staff' }).waitFor();
    await expect.poll(() => table.locator('tbody tr', { hasText: 'Facilities' }).innerText()).toMatch(/40\s/);
    await settled(page);
    await screenshot(page, 'groups');
    await page.locator('[data-test="groups-search"] input').fill('south');
    await expect.poll(() => table.locator('[data-test="group-link"]').allInnerTexts()).toEqual(['Contractors — South renovation', 'Labs South']);

    await page.goto(`${e.url}/#/calendars`);
    await page.locator('[data-test="new-calendar"]').click();
    await page.locator('[data-test="new-calendar-name"] input').fill(CALENDAR);
    await page.locator('[data-test="create-calendar"]').click();
    await expect.poll(() => page.locator('[data-test="calendar-tabs"]').innerText()).toContain(CALENDAR);
    await page.goto(`${e.url}/#/groups`);

    await page.locator('[data-test="new-group"]').click();
    const dialog = page.locator('[data-test="group-dialog"]');
    await dialog.locator('[data-test="group-name"] input').fill(GROUP);
    await pick(page, '[data-test="group-dialog"] [data-test="group-calendar"]', CALENDAR, CALENDAR);
    await pick(page, '[data-test="group-dialog"] [data-test="group-doors"]', 'Archive', DOOR);
    await dialog.locator('[data-test="create-group"]').click();
    const diff = page.locator('[data-test="access-diff"]');
    await expect.poll(() => diff.locator('[data-test="access-diff-summary"]').innerText()).toContain('Nobody gains');
    await diff.locator('[data-test="access-diff-confirm"]').click();
    await expect.poll(() => page.locator('[data-test="group-name"]').innerText()).toBe(GROUP);
    groupUrl = page.url();
    await expect.poll(() => page.locator('[data-test="doors-table"]').innerText()).toContain(DOOR);
    // No schedule yet: the group would open its doors at all hours.
    await page.locator('[data-test="no-schedules"]').waitFor();
    doorId = (await api<{ items: Array<{ id: string }> }>('locks.list', { search: 'Archive' })).items[0]!.id;
  });

  it('draws Monday–Friday 08:00–17:00 on the grid and saves it as one CLP time schedule', async () => {
    await drag(page, cell('monday', 16), cell('friday', 33));
    const form = page.locator('[data-test="schedule-form"]');
    await expect.poll(() => form.locator('[data-test="start-time"] input').inputValue()).toBe('08:00:00');
    await expect.poll(() => form.locator('[data-test="end-time"] input').inputValue()).toBe('16:59:59');
    const checked = async (d: string) => /n-checkbox--checked/.test((await form.locator(`[data-test="day-${d}"]`).getAttribute('class')) ?? '');
    for (const d of ['monday', 'tuesday', 'wednesday', 'thursday', 'friday']) expect(await checked(d)).toBe(true);
    for (const d of ['saturday', 'sunday', 'holiday', 'special_1', 'special_2']) expect(await checked(d)).toBe(false);

    // The keyboard works the same cells: space on Friday 16:30 deselects it (Friday becomes its own
    // window), space again brings it back.
    expect(await page.locator(cell('friday', 33)).evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await page.keyboard.press('Space');
    await expect.poll(() => page.locator(cell('friday', 33)).getAttribute('aria-selected')).toBe('false');
    await page.locator('[data-test="several-windows"]').waitFor();
    await page.keyboard.press('Space');
    await expect.poll(() => page.locator(cell('friday', 33)).getAttribute('aria-selected')).toBe('true');
    await expect.poll(() => page.locator('[data-test="several-windows"]').count()).toBe(0);
    expect(await page.locator(cell('monday', 16)).getAttribute('aria-label')).toMatch(/Monday 08:00 to 08:30/);

    await page.locator('[data-test="save-schedule"]').click();
    const diff = page.locator('[data-test="access-diff"]');
    // Nobody is in the group yet.
    await expect.poll(() => diff.locator('[data-test="access-diff-summary"]').innerText()).toContain('Nobody gains');
    await diff.locator('[data-test="access-diff-confirm"]').click();
    await expect.poll(() => page.locator('[data-test="schedule-list"]').innerText()).toContain('Mon–Fri 08:00:00–16:59:59');
    await expect.poll(() => page.locator('[data-test="grid-block"]').count()).toBe(5);

    const g = await api<{ time_schedules: Array<Record<string, unknown>> }>('access_groups.get', { id: groupUrl.split('/').pop() });
    expect(g.time_schedules).toHaveLength(1);
    expect(g.time_schedules[0]).toMatchObject({ monday: true, friday: true, saturday: false, sunday: false, holiday: false, start_time: '08:00:00', end_time: '16:59:59', start_date: null, end_date: null });
  });

  it('adds a person with a tag after seeing them gain the door at those hours; the core agrees and explains a denial', async () => {
    await pick(page, '[data-test="person-picker"]', person.email, person.name);
    await page.locator('[data-test="add-members-button"]').click();
    const diff = page.locator('[data-test="access-diff"]');
    await diff.locator('[data-test="access-diff-table"]').waitFor();
    const row = diff.locator('[data-test="access-diff-table"] tbody tr', { hasText: person.name });
    await expect.poll(() => row.innerText()).toContain(DOOR);
    await expect.poll(() => row.innerText()).toContain('gains');
    // Weekdays only, 08:00 up to and including 16:59 (closed from 17:00), in the site's zone.
    const when = day.setLocale('en').toFormat('ccc d LLL');
    await expect.poll(() => row.innerText()).toContain(`${when} 08:00–16:59`);
    expect(await row.innerText()).not.toMatch(/Sat|Sun/);
    await diff.locator('[data-test="access-diff-confirm"]').click();
    await expect.poll(() => page.locator('[data-test="members-table"]').innerText()).toContain(person.name);

    const at = (hhmm: string) => DateTime.fromISO(`${day.toISODate()}T${hhmm}:00`, { zone: ZONE }).toISO();
    const morning = await api<{ granted: boolean; access_group: unknown }>('access.decide', { tag_number: person.tag, lock_id: doorId, at: at('10:00') });
    const evening = await api<{ granted: boolean; reason: string }>('access.decide', { tag_number: person.tag, lock_id: doorId, at: at('20:00') });
    expect(morning.granted).toBe(true);
    expect(evening).toMatchObject({ granted: false, reason: 'outside_schedule' });

    await page.locator('[data-test="members-table"] [data-test="explain-member"]').first().click();
    const explain = page.locator('[data-test="explain-dialog"]');
    await expect.poll(() => explain.locator('[data-test="explain-lock"]').innerText()).toContain(DOOR);
    await explain.locator('[data-test="explain-when"] input').fill(`${day.toISODate()} 20:00:00`);
    await page.keyboard.press('Enter');
    await explain.locator('[data-test="explain-run"]').click();
    await expect.poll(() => explain.locator('[data-test="explain-summary"]').innerText()).toContain(`outside the schedules of ${GROUP}`);
    await page.keyboard.press('Escape');
    await expect.poll(() => explain.count()).toBe(0);

    await page.locator('[data-test="group-page"]').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await settled(page);
    await screenshot(page, 'group');
  });

  it('adds a holiday to the group’s calendar and shows the loss on that date before saving', async () => {
    await page.goto(`${e.url}/#/calendars`);
    await page.locator('[data-test="calendar-tabs"] .n-tabs-tab', { hasText: CALENDAR }).click();
    await expect.poll(() => page.locator('[data-test="calendar-used-by"]').innerText()).toContain(GROUP);
    await page.locator('[data-test="new-date"] input').fill(day.toISODate()!);
    await page.keyboard.press('Enter');
    await page.locator('[data-test="new-description"] input').fill('Site closed for maintenance');
    await page.locator('[data-test="add-date"]').click();
    const diff = page.locator('[data-test="access-diff"]');
    await diff.locator('[data-test="access-diff-table"]').waitFor();
    const row = diff.locator('[data-test="access-diff-table"] tbody tr', { hasText: person.name });
    await expect.poll(() => row.innerText()).toContain('loses');
    await expect.poll(() => row.innerText()).toContain(DOOR);
    await expect.poll(() => row.innerText()).toContain(`${day.setLocale('en').toFormat('ccc d LLL')} 08:00–16:59`);
    await diff.locator('[data-test="access-diff-confirm"]').click();
    await expect.poll(() => page.locator('[data-test="dates-table"]').innerText()).toContain('Site closed for maintenance');

    const at = DateTime.fromISO(`${day.toISODate()}T10:00:00`, { zone: ZONE }).toISO();
    expect(await api('access.decide', { tag_number: person.tag, lock_id: doorId, at })).toMatchObject({ granted: false, reason: 'holiday' });

    // The demo calendar, for a fuller year view in the screenshot.
    await page.locator('[data-test="calendar-tabs"] .n-tabs-tab', { hasText: 'Netherlands public holidays' }).click();
    await page.locator('[data-test="year-next"]').click();
    await expect.poll(() => page.locator('[data-test="year-day"]').count()).toBeGreaterThan(4);
    await settled(page);
    await screenshot(page, 'calendars');
  });

  it('lets the front desk add members but not change schedules (no edit controls; the API refuses with 403)', async () => {
    const { context, page: desk } = await e.newPage();
    try {
      await signInAs(desk, 'frontdesk', 'demo-frontdesk-pass');
      await desk.goto(groupUrl);
      await desk.locator('[data-test="group-page"]').waitFor();
      await desk.locator('[data-test="grid-block"]').first().waitFor();
      for (const control of ['schedule-editor', 'save-schedule', 'edit-schedule', 'delete-schedule', 'add-doors', 'remove-door', 'save-settings', 'delete-group']) {
        await expect.poll(() => desk.locator(`[data-test="${control}"]`).count()).toBe(0);
      }
      await expect.poll(() => desk.locator('[data-test="schedule-grid"]').getAttribute('aria-readonly')).toBe('true');
      // Clicking the grid selects nothing.
      await desk.locator(cell('saturday', 20)).click();
      await expect.poll(() => desk.locator('[data-test="schedule-grid"] .sg-sel').count()).toBe(0);

      await pick(desk, '[data-test="person-picker"]', second.email, second.name);
      await desk.locator('[data-test="add-members-button"]').click();
      const diff = desk.locator('[data-test="access-diff"]');
      await expect.poll(() => diff.locator('[data-test="access-diff-table"]').innerText()).toContain(second.name);
      await diff.locator('[data-test="access-diff-confirm"]').click();
      await expect.poll(() => desk.locator('[data-test="members-table"]').innerText()).toContain(second.name);

      const desktoken = await token('frontdesk', 'demo-frontdesk-pass');
      const groupId = groupUrl.split('/').pop();
      const refused = await call('access_groups.time_schedules.create', { access_group_id: groupId, saturday: true, start_time: '09:00:00', end_time: '12:59:59' }, desktoken);
      expect(refused.status).toBe(403);
      expect(refused.error?.code).toBe('forbidden');
      const preview = await call('access.preview', { command: 'access_groups.time_schedules.create', input: { access_group_id: groupId, saturday: true, start_time: '09:00:00', end_time: '12:59:59' } }, desktoken);
      expect(preview.status).toBe(403);
      expect((await call('access_groups.locks.update', { id: groupId, remove_ids: [doorId] }, desktoken)).status).toBe(403);
      const g = await api<{ time_schedules: unknown[]; user_count: number }>('access_groups.get', { id: groupId });
      expect(g.time_schedules).toHaveLength(1);
      expect(g.user_count).toBe(2);
    } finally {
      await context.close();
    }
  });
});
