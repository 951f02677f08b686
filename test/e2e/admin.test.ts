// The administrator's stories, in a real browser against a real host with the demo site: import people
// from CSV (checked first), sign-out after inactivity, what a read-only role cannot do, operators,
// registering a tag and reporting it lost, and backing up and restoring the whole database.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_PASSWORD, requirements, screenshot, signIn, startE2E, type E2E } from './harness.ts';

let e: E2E;
let page: Page;
let owner: string;
let scratch: string;

beforeAll(async () => {
  const missing = requirements();
  if (missing) throw new Error(missing);
  scratch = mkdtempSync(join(tmpdir(), 'gh-e2e-admin-'));
  e = await startE2E();
  ({ page } = await e.newPage());
  owner = await token('owner', OWNER_PASSWORD);
  await enter(page);
}, 120_000);
afterAll(async () => {
  await e?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function rpc<T>(name: string, input: unknown, bearer = owner): Promise<{ status: number; result: T; error?: { code: string; message: string } }> {
  const r = await fetch(`${e.url}/api/rpc/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: JSON.stringify(input) });
  const body = (await r.json()) as { result: T; error?: { code: string; message: string } };
  return { status: r.status, ...body };
}
async function api<T>(name: string, input: unknown, bearer = owner): Promise<T> {
  const r = await rpc<T>(name, input, bearer);
  if (r.status !== 200) throw new Error(r.error?.message ?? `HTTP ${r.status}`);
  return r.result;
}
async function token(username: string, password: string): Promise<string> {
  const r = await fetch(`${e.url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username, password }) });
  return ((await r.json()) as { access_token: string }).access_token;
}
/** expect.poll with room for a busy machine. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000 });
/** Waits until the toasts of earlier actions have gone, so that screenshots show the screen itself. */
async function quiet(p: Page): Promise<void> {
  await p.locator('.n-message').first().waitFor({ state: 'detached', timeout: 10_000 });
}
/** Signs in and waits until the sign-in screen has finished taking the operator to the dashboard. */
async function enter(p: Page, username = 'owner', password = OWNER_PASSWORD): Promise<void> {
  await signIn(p, e.url, username, password);
  await p.waitForURL((u) => u.hash === '#/');
}
/** Picks an option of the (remote) Naive select `select` after typing `text`. */
async function choose(p: Page, select: string, text: string, option = text): Promise<void> {
  await p.locator(select).click();
  await p.keyboard.type(text);
  await p.locator('.n-base-select-option', { hasText: option }).first().click();
}

const CSV_BAD = [
  'first_name,last_name,email,kind,tag_number,access_groups',
  'Anna,Importtest,anna.importtest@example.com,employee,0000881001,All staff',
  'Piet,Importtest,piet@,contractor,0000881002,All staff',
  'Joke,Importtest,joke.importtest@example.com,visitor,0000881003,Staf',
  '',
].join('\n');
const CSV_GOOD = CSV_BAD.replace('piet@,', 'piet.importtest@example.com,').replace(',Staf\n', ',All staff\n');

describe('admin', () => {
  it('imports people from CSV: the check lists each bad row by line and column; once fixed, the import creates them', async () => {
    await page.goto(`${e.url}/#/settings`);
    await page.locator('[data-test="site-card"]').waitFor();
    await screenshot(page, 'settings');

    await page.locator('[data-test="csv-file"]').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV_BAD) });
    await poll(() => page.locator('[data-test="csv-problems"]').innerText()).toContain('2 problem(s) in 3 row(s)');
    const errors = page.locator('[data-test="csv-errors"] tbody tr');
    await poll(() => errors.count()).toBe(2);
    const cells = async (i: number) => (await errors.nth(i).locator('td').allInnerTexts()).map((s) => s.trim());
    expect((await cells(0)).slice(0, 2)).toEqual(['3', 'email']);
    expect((await cells(1)).slice(0, 2)).toEqual(['4', 'access_groups']);
    expect((await cells(1))[2]).toContain('Staf');
    await poll(() => page.locator('[data-test="csv-import"]').isDisabled()).toBe(true);
    expect((await api<{ count: number }>('users.list', { search: 'Importtest' })).count).toBe(0);

    // Fix the two rows in place: the old check no longer counts until it is run again.
    await page.locator('[data-test="csv-text"] textarea').fill(CSV_GOOD);
    await poll(() => page.locator('[data-test="csv-import"]').isDisabled()).toBe(true);
    await page.locator('[data-test="csv-check"]').click();
    await poll(() => page.locator('[data-test="csv-ready"]').innerText()).toContain('3 new');
    await page.locator('[data-test="csv-import"]').click();
    await page.locator('[data-test="csv-imported"]').waitFor();

    await page.goto(`${e.url}/#/people`);
    await page.locator('[data-test="people-search"] input').fill('Importtest');
    await poll(async () => (await page.locator('[data-test="person-link"]').allInnerTexts()).sort()).toEqual(['Anna Importtest', 'Joke Importtest', 'Piet Importtest']);
  });

  it('signs an operator out after the idle minutes set in Settings', async () => {
    const { context, page: p } = await e.newPage();
    try {
      await p.clock.install();
      await enter(p);
      await p.goto(`${e.url}/#/settings`);
      await p.locator('[data-test="auto-sign-out"] input').fill('1');
      await p.locator('[data-test="save-preferences"]').click();
      await p.locator('.n-message', { hasText: 'Saved' }).waitFor();
      expect((await api<{ auto_sign_out_minutes: number }>('preferences.get', {})).auto_sign_out_minutes).toBe(1);

      await p.clock.runFor(30_000);
      expect(await p.locator('[data-test="sign-out"]').isVisible()).toBe(true);
      await p.clock.runFor(45_000);
      const notice = p.locator('[data-test="signed-out-inactive"]');
      await notice.waitFor();
      expect(await notice.innerText()).toContain('signed out after 1 minutes');
      await screenshot(p, 'sign-in');
    } finally {
      await context.close();
      await api('preferences.update', { auto_sign_out_minutes: 10 });
    }
  });

  it('shows an auditor no way to change anything, and the core refuses it anyway', async () => {
    const { context, page: p } = await e.newPage();
    try {
      await enter(p, 'auditor', 'demo-auditor-pass');
      const menu = p.locator('.n-layout-sider');
      await poll(() => menu.innerText()).toContain('Tags');
      expect(await menu.innerText()).not.toContain('Operators');
      await p.goto(`${e.url}/#/operators`);
      await poll(() => p.url()).not.toContain('operators');

      await p.goto(`${e.url}/#/people`);
      await p.locator('[data-test="people-table"] tbody tr').first().waitFor();
      expect(await p.locator('[data-test="add-person"]').count()).toBe(0);
      expect(await p.locator('[data-test="people-table"] .n-checkbox').count()).toBe(0);

      await p.goto(`${e.url}/#/tags`);
      await p.locator('[data-test="explain-tag"]').first().waitFor();
      for (const button of ['register-tag', 'hand-out', 'take-back', 'block-tag', 'report-lost']) expect(await p.locator(`[data-test="${button}"]`).count(), button).toBe(0);

      await p.goto(`${e.url}/#/settings`);
      await p.locator('[data-test="site-card"]').waitFor();
      expect(await p.locator('[data-test="save-site"], [data-test="backup-card"], [data-test="import-card"]').count()).toBe(0);

      const refused = await rpc('users.create', { first_name: 'Not', last_name: 'Allowed' }, await token('auditor', 'demo-auditor-pass'));
      expect(refused.status).toBe(403);
      expect(refused.error).toMatchObject({ code: 'forbidden' });
    } finally {
      await context.close();
    }
  });

  it('lets an owner add an operator who can then sign in, and an integration client whose secret works', async () => {
    await page.goto(`${e.url}/#/operators`);
    await page.locator('[data-test="operators-table"] tbody tr').first().waitFor();
    await page.locator('[data-test="add-operator"]').click();
    const dialog = page.locator('[data-test="operator-dialog"]');
    await dialog.locator('#op_username').fill('desk2');
    await dialog.locator('#op_display_name').fill('Second front desk');
    await dialog.locator('#op_password').fill('short');
    await dialog.locator('[data-test="save-operator"]').click();
    await poll(() => dialog.innerText()).toContain('at least 10 characters');
    await dialog.locator('#op_password').fill('desk-two-password');
    await dialog.locator('[data-test="save-operator"]').click();
    await poll(() => page.locator('[data-test="operators-table"]').innerText()).toContain('Second front desk');

    const { context, page: p } = await e.newPage();
    try {
      await enter(p, 'desk2', 'desk-two-password');
      expect(await p.locator('[data-test="operator"]').innerText()).toBe('Second front desk · Front desk');
    } finally {
      await context.close();
    }

    await page.locator('[data-test="add-client"]').click();
    await page.locator('[data-test="client-name"] input').fill('Visitor kiosk');
    await page.locator('[data-test="save-client"]').click();
    const secret = await page.locator('[data-test="client-secret"] input').inputValue();
    const clientId = await page.locator('[data-test="client-id"] input').inputValue();
    expect(secret.length).toBeGreaterThanOrEqual(20);
    const r = await fetch(`${e.url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }) });
    expect(r.status).toBe(200);
    await page.locator('[data-test="secret-done"]').click();
    await poll(() => page.locator('[data-test="api-clients"]').innerText()).toContain('Visitor kiosk');
    await quiet(page);
    await screenshot(page, 'operators');
  });

  it('registers a tag, hands it out and reports it lost, seeing who loses access first', async () => {
    await page.goto(`${e.url}/#/tags`);
    await page.locator('[data-test="tags-table"] tbody tr').first().waitFor();
    await page.locator('[data-test="register-tag"]').click();
    const dialog = page.locator('[data-test="register-dialog"]');
    await dialog.locator('#tag_number').fill('0000990001');
    await dialog.locator('#card_uid').fill('04:a1:b2:c3:d4:e5:f6');
    await dialog.locator('[data-test="save-tag"]').click();
    const row = page.locator('[data-test="tags-table"] tbody tr', { hasText: '0000990001' });
    await poll(() => row.innerText()).toContain('04A1B2C3D4E5F6');
    expect(await row.innerText()).toContain('not handed out');

    await row.locator('[data-test="hand-out"]').click();
    await choose(page, '[data-test="assign-person"]', 'Anna Importtest');
    await page.locator('[data-test="assign-save"]').click();
    const diff = page.locator('[data-test="access-diff"]');
    await diff.locator('[data-test="access-diff-summary"]').waitFor();
    await diff.locator('[data-test="access-diff-confirm"]').click();
    await poll(() => row.locator('[data-test="tag-owner-link"]').innerText()).toBe('Anna Importtest');

    await row.locator('[data-test="report-lost"]').click();
    await poll(() => diff.locator('[data-test="access-diff-table"]').innerText()).toMatch(/Anna Importtest[\s\S]*loses/);
    await diff.locator('[data-test="access-diff-confirm"]').click();
    await poll(() => row.locator('[data-test="tag-status"]').innerText()).toBe('Lost or stolen');

    const door = (await api<{ items: Array<{ id: string }> }>('locks.list', { search: 'Main entrance' })).items[0]!;
    expect(await api('access.decide', { tag_number: '0000990001', lock_id: door.id, at: '2026-12-02T09:30:00+01:00' })).toMatchObject({ granted: false });

    await choose(page, '[data-test="tags-status"]', 'Lost', 'Lost or stolen');
    await page.locator('[data-test="tags-search"] input').fill('');
    await poll(async () => (await page.locator('[data-test="tag-status"]').allInnerTexts()).every((s) => s === 'Lost or stolen')).toBe(true);
    await poll(() => page.locator('[data-test="tags-table"]').innerText()).toContain('0000990001');

    // Searching finds tags by their owner's name: the three imported and the one handed out.
    await choose(page, '[data-test="tags-status"]', 'All', 'All tags');
    await page.locator('[data-test="tags-search"] input').fill('Importtest');
    await poll(() => page.locator('[data-test="tag-status"]').count()).toBe(4);
    await page.locator('[data-test="tags-search"] input').fill('');
    await poll(() => page.locator('[data-test="tags-table"] tbody tr').count()).toBeGreaterThan(10);
    await quiet(page);
    await screenshot(page, 'tags');
  });

  it('downloads a backup and restores it: what changed afterwards is gone', async () => {
    await page.goto(`${e.url}/#/settings`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-test="download-backup"]').click()]);
    expect(download.suggestedFilename()).toMatch(/^gatehouse-\d{4}-\d{2}-\d{2}\.db$/);
    const file = join(scratch, download.suggestedFilename());
    await download.saveAs(file);
    expect(readFileSync(file).subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');

    // Changes after the backup.
    await api('tags.create', { tag_number: '0000990002' });
    await api('users.create', { first_name: 'Late', last_name: 'Afterbackup' });
    await api('tags.report_lost', { id: (await api<{ items: Array<{ id: string }> }>('tags.list', { search: '0000990001' })).items[0]!.id, lost_or_stolen: false });

    await page.locator('[data-test="restore-file"]').setInputFiles(file);
    const dialog = page.locator('[data-test="restore-dialog"]');
    await poll(() => dialog.innerText()).toContain('Backup of Harbour Campus (demo)');
    expect(await dialog.innerText()).toMatch(/503 people/);
    const reloaded = page.waitForEvent('load');
    await dialog.locator('[data-test="restore-confirm"]').click();
    await dialog.locator('[data-test="restore-done"]').waitFor();
    await reloaded;

    // The owner's session was in the backup: still signed in, now on the restored database.
    await page.locator('[data-test="site-card"]').waitFor();
    expect((await api<{ count: number }>('tags.list', { search: '0000990002' })).count).toBe(0);
    expect((await api<{ count: number }>('users.list', { search: 'Afterbackup' })).count).toBe(0);
    expect((await api<{ count: number }>('users.list', { search: 'Importtest' })).count).toBe(3);
    await page.goto(`${e.url}/#/tags`);
    await page.locator('[data-test="tags-search"] input').fill('0000990001');
    await poll(() => page.locator('[data-test="tag-status"]').allInnerTexts()).toEqual(['Lost or stolen']);
    const log = await api<{ items: Array<{ command: string; actor_name: string }> }>('operator_log.list', { top: 1 });
    expect(log.items[0]).toMatchObject({ command: 'backup.restore', actor_name: 'owner' });
  });
});
