// The front desk's main story on the People screens, in a real browser against a real host:
// sign in, add a person, give them a tag, add them to a group (seeing who gains access first),
// explain a denial, block them in bulk — and the dashboard shows what happens at the doors.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirements, screenshot, signIn, startE2E, type E2E } from './harness.ts';

let e: E2E;
let page: Page;

beforeAll(async () => {
  const missing = requirements();
  if (missing) throw new Error(missing);
  e = await startE2E();
  ({ page } = await e.newPage());
}, 120_000);
afterAll(async () => e?.close());

async function api<T>(name: string, input: unknown, token: string): Promise<T> {
  const r = await fetch(`${e.url}/api/rpc/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(input) });
  const body = (await r.json()) as { result: T; error?: { message: string } };
  if (!r.ok) throw new Error(body.error?.message ?? `HTTP ${r.status}`);
  return body.result;
}
async function token(username = 'owner', password = 'correct horse battery'): Promise<string> {
  const r = await fetch(`${e.url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username, password }) });
  return ((await r.json()) as { access_token: string }).access_token;
}

describe('people', () => {
  it('signs in and shows the dashboard with doors, alarms, today and the IQs', async () => {
    await signIn(page, e.url);
    await expect.poll(() => page.locator('[data-test="card-doors"]').innerText()).toContain('/ 40');
    await expect.poll(() => page.locator('[data-test="card-iqs"]').innerText()).toContain('South building');
    await screenshot(page, 'dashboard');
  });

  it('lists the 500 demo people, searches while typing and opens a person', async () => {
    await page.goto(`${e.url}/#/people`);
    await page.locator('[data-test="people-table"] tbody tr').first().waitFor();
    await expect.poll(() => page.locator('[data-test="people-table"]').innerText()).toContain('500');
    await screenshot(page, 'people');
    await page.locator('[data-test="people-search"] input').fill('zoë');
    await expect.poll(async () => (await page.locator('[data-test="person-link"]').allInnerTexts()).every((n) => n.toLowerCase().includes('zoë'))).toBe(true);
  });

  it('adds a person, gives a tag, adds them to a group after seeing the access diff, and explains a denial', async () => {
    await page.goto(`${e.url}/#/people`);
    await page.locator('[data-test="add-person"]').click();
    const dialog = page.locator('[data-test="person-dialog"]');
    await dialog.locator('#first_name').fill('Noor');
    await dialog.locator('#last_name').fill('Visser-Testperson');
    await dialog.locator('#email').fill('not-an-email');
    await dialog.locator('[data-test="save-person"]').click();
    // The core's validation names the field; nothing is created.
    await expect.poll(() => dialog.innerText()).toContain('e-mail');
    await dialog.locator('#email').fill('noor.visser@example.com');
    await dialog.locator('[data-test="save-person"]').click();
    await page.locator('[data-test="person-link"]', { hasText: 'Visser-Testperson' }).click();
    await page.locator('[data-test="person-name"]').waitFor();

    await page.locator('[data-test="new-tag-number"] input').fill('0000777001');
    await page.locator('[data-test="give-tag"]').click();
    await page.locator('[data-test="access-diff-summary"]').waitFor();
    await expect.poll(() => page.locator('[data-test="access-diff-summary"]').innerText()).toContain('Nobody gains');
    await page.locator('[data-test="access-diff-confirm"]').click();
    await expect.poll(() => page.locator('[data-test="person-tags"]').innerText()).toContain('0000777001');

    await page.locator('[data-test="group-to-add"]').click();
    await page.keyboard.type('All staff');
    await page.locator('.n-base-select-option', { hasText: 'All staff' }).first().click();
    await page.locator('[data-test="add-to-group"]').click();
    const diff = page.locator('[data-test="access-diff"]');
    await diff.locator('[data-test="access-diff-summary"]').waitFor();
    await expect.poll(() => diff.innerText()).toContain('Visser-Testperson');
    await expect.poll(() => diff.innerText()).toContain('gains');
    await screenshot(page, 'access-diff');
    await diff.locator('[data-test="access-diff-confirm"]').click();
    await expect.poll(() => page.locator('[data-test="person-groups"]').innerText()).toContain('All staff');

    // The core agrees: the tag opens the main entrance on a weekday morning, not at night.
    const t = await token();
    const locks = await api<{ items: Array<{ id: string; customer_reference: string }> }>('locks.list', { search: 'Main entrance' }, t);
    const door = locks.items[0]!;
    const morning = await api<{ granted: boolean }>('access.decide', { tag_number: '0000777001', lock_id: door.id, at: '2026-12-02T09:30:00+01:00' }, t);
    const night = await api<{ granted: boolean; reason: string }>('access.decide', { tag_number: '0000777001', lock_id: door.id, at: '2026-12-02T23:30:00+01:00' }, t);
    expect(morning.granted).toBe(true);
    expect(night).toMatchObject({ granted: false, reason: 'outside_schedule' });

    await page.locator('[data-test="explain-person"]').click();
    const explain = page.locator('[data-test="explain-dialog"]');
    await explain.locator('[data-test="explain-lock"]').click();
    await page.keyboard.type('Main entrance');
    await page.locator('.n-base-select-option', { hasText: 'Main entrance' }).first().click();
    await explain.locator('[data-test="explain-when"] input').fill('2026-12-02 23:30:00');
    await page.keyboard.press('Enter');
    await explain.locator('[data-test="explain-run"]').click();
    await expect.poll(() => explain.locator('[data-test="explain-summary"]').innerText()).toContain('outside the schedules of All staff');
    await screenshot(page, 'explain');
    await page.keyboard.press('Escape');
    // Without the "Saved" message of the tag given above.
    await expect.poll(() => page.locator('.n-message').count(), { timeout: 8000 }).toBe(0);
    await screenshot(page, 'person');
  });

  it('blocks people in bulk', async () => {
    await page.goto(`${e.url}/#/people`);
    await page.locator('[data-test="people-search"] input').fill('Visser-Testperson');
    await expect.poll(() => page.locator('[data-test="person-link"]').count()).toBe(1);
    await page.locator('[data-test="people-table"] tbody .n-checkbox').first().click();
    await page.locator('[data-test="bulk-block"]').click();
    await expect.poll(() => page.locator('[data-test="people-table"] tbody').innerText()).toContain('Blocked');
  });
});
