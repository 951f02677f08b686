// The cloud sync screen in a real browser, against a real host with cloud sync (bin/cloud.ts over the
// KS Connect client, `startE2E({ cloud: true })`, rounds only on "Sync now") and the mock KS cloud
// (test/ks-cloud). The mock's /connect/authorize approves at once, so the browser sign-in runs in
// Chromium end to end: the screen opens the cloud's page in a new window, the mock redirects it to the
// core's loopback listener, and a cloud.status event turns the screen to "Connected". Then: the site's
// people reach the cloud (one without a free seat is listed as such), a person added and one renamed in
// the cloud come here, a name changed on both sides is listed as a conflict and resolved by taking the
// other value, the IQ secret and PIN are set, the front desk sees the status without the controls (and
// is refused by the core), and an owner disconnects. A bad site id shows the core's message on the field.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudConflict, CloudStatus } from '../../core/contract/index.ts';
import { startKsCloud, type KsCloud } from '../ks-cloud/server.ts';
import { adminAddUser, adminUpdateUser, type CloudUser } from '../ks-cloud/store.ts';
import { axeFindings, type E2E, OWNER_PASSWORD, requirements, screenshot, signIn, startE2E } from './harness.ts';

const DESK_PASSWORD = 'front desk cloud 2026';

let e: E2E;
let cloud: KsCloud;
let page: Page;
let owner: string;
const people: Record<string, string> = {};

beforeAll(async () => {
  const missing = requirements();
  if (missing) throw new Error(missing);
  // Three seats for the three people the site starts with: the fourth pushed has none.
  cloud = await startKsCloud({ seed: 11, seats: 3 });
  e = await startE2E({ demo: false, cloud: true });
  // Screens are checked with axe as they come.
  ({ page } = await e.newPage({ forAxe: true }));
  owner = await token('owner', OWNER_PASSWORD);
  await api('site.update', { customer_reference: 'Harbour Campus', time_zone: 'Europe/Amsterdam' }, owner);
  for (const [key, first, last] of [
    ['ada', 'Ada', 'Lovelace'],
    ['grace', 'Grace', 'Hopper'],
    ['alan', 'Alan', 'Turing'],
  ] as const) {
    people[key] = (await api<{ id: string }>('users.create', { first_name: first, last_name: last }, owner)).id;
  }
  await api('operators.create', { username: 'desk', display_name: 'Front Desk', role: 'front_desk', password: DESK_PASSWORD }, owner);
}, 120_000);
afterAll(async () => {
  await e?.close();
  await cloud?.close();
});

async function call(name: string, input: unknown, bearer: string): Promise<{ status: number; result?: unknown; error?: { code: string; message: string } }> {
  const r = await fetch(`${e.url}/api/rpc/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: JSON.stringify(input) });
  return { status: r.status, ...((await r.json()) as { result?: unknown; error?: { code: string; message: string } }) };
}
async function api<T = unknown>(name: string, input: unknown, bearer: string): Promise<T> {
  const r = await call(name, input, bearer);
  if (r.status !== 200) throw new Error(r.error?.message ?? `HTTP ${r.status}`);
  return r.result as T;
}
async function token(username: string, password: string): Promise<string> {
  const r = await fetch(`${e.url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username, password }) });
  return ((await r.json()) as { access_token: string }).access_token;
}
/** expect.poll with room for a loaded machine (its own default is 1 s). */
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 15_000 });
const status = () => api<CloudStatus>('cloud.status', {}, owner);
const cloudUser = (first: string): CloudUser | undefined => [...cloud.site.users.values()].find((u) => u.user.first_name === first);
const cloudNames = () => [...cloud.site.users.values()].map((u) => `${u.user.first_name ?? ''} ${u.user.last_name ?? ''}`.trim()).sort();
const localUser = (id: string) => api<{ first_name: string; last_name: string }>('users.get', { id }, owner);

/** Presses "Sync now" and waits for the round it started (or joined) to be reported. */
async function syncNow(p: Page) {
  const before = (await status()).last_round?.finished_at ?? '';
  await p.locator('[data-test="sync-now"]').click();
  await poll(async () => (await status()).last_round?.finished_at ?? '').not.toBe(before);
  await poll(() => p.locator('[data-test="sync-now"]').isDisabled()).toBe(false);
}
/** Waits until the toasts are gone and shows the page from its top, so that screenshots show the screen itself. */
async function settled(p: Page) {
  await poll(() => p.locator('.n-message').count()).toBe(0);
  await p.evaluate(() => {
    const d = (globalThis as unknown as { document: { activeElement: { blur?(): void } | null; querySelectorAll(s: string): Array<{ scrollTop: number }> } }).document;
    for (const el of d.querySelectorAll('.n-layout-scroll-container, html')) el.scrollTop = 0;
    d.activeElement?.blur?.();
  });
  await p.mouse.move(5, 890);
}
async function fillConnectForm(p: Page, siteId: string) {
  await p.locator('[data-test="cloud-api-url"] input').fill(cloud.url);
  await p.locator('[data-test="cloud-client-id"] input').fill(cloud.auth.clientId);
  await p.locator('[data-test="cloud-client-secret"] input').fill(cloud.auth.clientSecret ?? '');
  await p.locator('[data-test="cloud-site-id"] input').fill(siteId);
}

describe('cloud sync screen', () => {
  it('is in the menu, explains itself and shows the core’s message on a bad site id', async () => {
    await signIn(page, e.url);
    await page.locator('a', { hasText: /^Cloud sync$/ }).click();
    await page.waitForURL(/#\/cloud$/);
    await expect.poll(() => page.locator('[data-test="cloud-state"]').innerText()).toBe('Not connected');
    expect(await page.locator('.cs-intro').innerText()).toContain('the site works the same without it');
    await page.locator('[data-test="cloud-connect"]').waitFor();
    expect(await page.locator('[data-test="cloud-identity-url"] input').getAttribute('placeholder')).toBe('Same as the API URL');
    expect(await axeFindings(page, 'connect form')).toEqual([]);

    await fillConnectForm(page, 'DE4520168385');
    await page.locator('[data-test="connect-browser"]').click();
    await poll(() => page.locator('[data-test="field-site-id"] .n-form-item-feedback').innerText()).toContain('must be the site UUID');
    expect((await status()).connected).toBe(false);
    expect(await axeFindings(page, 'connect form with an error')).toEqual([]);
  });

  it('signs in with KS in the browser and sends the site’s people to the cloud', async () => {
    await fillConnectForm(page, cloud.siteId);
    const popup = page.waitForEvent('popup');
    await page.locator('[data-test="connect-browser"]').click();
    // The cloud's sign-in page opened in a new window; the mock approves and redirects it to the core.
    const signInPage = await popup;
    await poll(() => signInPage.locator('body').innerText()).toContain('Signed in to the KS cloud');
    await signInPage.close();
    await poll(() => page.locator('[data-test="cloud-state"]').innerText()).toBe('Connected');
    await page.locator('[data-test="connect-waiting"]').waitFor({ state: 'detached' });
    expect(await page.locator('[data-test="connection-site"]').innerText()).toBe(cloud.siteId);
    expect(await page.locator('[data-test="connection-api"]').innerText()).toBe(cloud.url);
    expect(cloud.identity.grants).toContain('authorization_code');

    // Connecting runs a first round at once: every person of the site goes to the cloud.
    await poll(async () => (await status()).last_round !== null).toBe(true);
    await poll(cloudNames).toEqual(['Ada Lovelace', 'Alan Turing', 'Grace Hopper']);
    await poll(() => page.locator('[data-test="round-report"]').getAttribute('data-complete')).toBe('true');
    expect(await page.locator('[data-test="tile-pending"]').getAttribute('data-count')).toBe('0');
    expect(await page.locator('[data-test="last-push"]').innerText()).not.toBe('never');
  });

  it('sends a new person with "Sync now" and lists who has no free seat in the cloud', async () => {
    people.linus = (await api<{ id: string }>('users.create', { first_name: 'Linus', last_name: 'Torvalds' }, owner)).id;
    // The count of changes waiting follows the model live.
    await poll(() => page.locator('[data-test="tile-pending"]').getAttribute('data-count')).toBe('1');
    await syncNow(page);
    await poll(cloudNames).toContain('Linus Torvalds');
    expect(cloudUser('Linus')?.subscription_state).toBe('suspended');
    const suspended = page.locator('[data-test="suspended-user"]');
    await poll(() => suspended.allInnerTexts()).toEqual(['Linus Torvalds']);
    expect(await suspended.locator('a').getAttribute('href')).toBe(`#/people/${people.linus}`);
    await poll(() => page.locator('[data-test="round-pushed"]').innerText()).toMatch(/To the cloud: [1-9]\d* sent, 0 refused, 0 still waiting/);
  });

  it('brings a person added and a person renamed in the cloud here', async () => {
    adminAddUser(cloud.site, { first_name: 'Margaret', last_name: 'Hamilton', email: 'margaret@example.com' });
    adminUpdateUser(cloud.site, cloudUser('Grace')!.id, { last_name: 'Hopper-Murray' });
    await syncNow(page);
    expect((await localUser(people.grace!)).last_name).toBe('Hopper-Murray');
    const found = await api<{ items: Array<{ first_name: string; last_name: string }> }>('users.list', { search: 'Hamilton' }, owner);
    expect(found.items.map((u) => `${u.first_name} ${u.last_name}`)).toEqual(['Margaret Hamilton']);
    await poll(() => page.locator('[data-test="round-pulled"]').innerText()).toMatch(/From the cloud: [2-9]\d* applied here/);
    expect(await page.locator('[data-test="round-conflicts"]').innerText()).toBe('No new conflicts.');
  });

  it('keeps the IQ secret and PIN for one-time codes, and shows the core’s message on a bad PIN', async () => {
    const card = page.locator('[data-test="otp-card"]');
    expect(await card.locator('[data-test="otp-state"]').innerText()).toBe('Not set');
    await card.locator('[data-test="otp-secret"] input').fill('mock-iq-secret');
    await card.locator('[data-test="otp-pin"] input').fill('12');
    await card.locator('[data-test="otp-save"]').click();
    await poll(() => card.locator('.n-form-item-feedback').allInnerTexts()).toContain('must be the 4 to 8 digits of the IQ PIN');
    await card.locator('[data-test="otp-pin"] input').fill('1234');
    await card.locator('[data-test="otp-save"]').click();
    await poll(() => card.locator('[data-test="otp-state"]').getAttribute('data-configured')).toBe('true');
    expect(await card.locator('[data-test="otp-state"]').innerText()).toBe('Set');
    expect((await status()).otp_configured).toBe(true);
  });

  it('lists a name changed here and in the cloud as a conflict, and takes the other value', async () => {
    await api('users.update', { id: people.ada, last_name: 'Byron' }, owner);
    // The KS web app's edit comes later: the cloud's value wins for now.
    adminUpdateUser(cloud.site, cloudUser('Ada')!.id, { last_name: 'King' }, Date.now() + 60_000);
    await syncNow(page);
    const row = page.locator('[data-test="conflict-row"]');
    await poll(() => row.count()).toBe(1);
    expect(await row.getAttribute('data-field')).toBe('last_name');
    expect(await row.locator('[data-test="conflict-field"]').innerText()).toBe('Last name');
    expect(await row.locator('[data-test="conflict-link"]').innerText()).toBe('Ada King');
    expect(await row.locator('[data-test="conflict-link"]').getAttribute('href')).toBe(`#/people/${people.ada}`);
    expect(await row.locator('[data-test="conflict-local"]').innerText()).toBe('Byron');
    expect(await row.locator('[data-test="conflict-cloud"]').innerText()).toContain('King');
    expect(await row.locator('[data-test="conflict-winner"]').getAttribute('data-winner')).toBe('cloud');
    expect(await page.locator('[data-test="tile-conflicts"]').getAttribute('data-count')).toBe('1');
    expect(await page.locator('[data-test="round-conflicts"]').innerText()).toBe('One new conflict to review.');
    expect((await localUser(people.ada!)).last_name).toBe('King');
    expect(await row.locator('[data-test="conflict-take-other"]').innerText()).toBe('Take the other value');
    expect(await row.locator('[data-test="conflict-keep"]').innerText()).toBe('Keep');

    expect(await axeFindings(page, 'connected, with a conflict')).toEqual([]);
    await settled(page);
    await screenshot(page, 'cloud');

    await row.locator('[data-test="conflict-take-other"]').click();
    await page.locator('[data-test="conflicts-none"]').waitFor();
    expect(await api<CloudConflict[]>('cloud.conflicts.list', {}, owner)).toEqual([]);
    expect((await localUser(people.ada!)).last_name).toBe('Byron');
    expect(await page.locator('[data-test="tile-conflicts"]').getAttribute('data-count')).toBe('0');
    // Taken here, it is an ordinary local change: the next round sends it.
    await syncNow(page);
    expect(cloudUser('Ada')?.user.last_name).toBe('Byron');
  });

  it('shows the front desk the status without the controls, in Dutch; the core refuses it too', async () => {
    const { context, page: desk } = await e.newPage({ locale: 'nl-NL' });
    try {
      await signIn(desk, e.url, 'desk', DESK_PASSWORD);
      await desk.goto(`${e.url}/#/cloud`);
      await poll(() => desk.locator('[data-test="cloud-state"]').innerText()).toBe('Verbonden');
      expect(await desk.locator('h1').innerText()).toBe('Cloudsynchronisatie');
      await desk.locator('[data-test="connection-card"]').waitFor();
      expect(await desk.locator('[data-test="connection-site"]').innerText()).toBe(cloud.siteId);
      expect(await desk.locator('[data-test="otp-state"]').innerText()).toBe('Ingesteld');
      expect(await desk.locator('[data-test="cloud-read-only"]').isVisible()).toBe(true);
      for (const control of ['disconnect', 'otp-secret', 'otp-save', 'sync-now', 'cloud-connect', 'conflict-keep']) {
        expect(await desk.locator(`[data-test="${control}"]`).count(), control).toBe(0);
      }
    } finally {
      await context.close();
    }
    const deskToken = await token('desk', DESK_PASSWORD);
    const refused = await call('cloud.connect', { api_url: cloud.url, client_id: cloud.auth.clientId, site_id: cloud.siteId, username: cloud.auth.username, password: cloud.auth.password }, deskToken);
    expect(refused.status).toBe(403);
    expect((await call('cloud.disconnect', {}, deskToken)).status).toBe(403);
    expect((await call('cloud.status', {}, deskToken)).status).toBe(200);
  });

  it('disconnects after a confirmation (the front desk then sees a read-only "not connected"), and connects again with a password', async () => {
    await page.locator('[data-test="disconnect"]').click();
    const dialog = page.locator('.n-dialog');
    await poll(() => dialog.innerText()).toContain('Nothing here or in the cloud is deleted');
    await dialog.locator('[data-test="disconnect-confirm"]').click();
    await poll(() => page.locator('[data-test="cloud-state"]').innerText()).toBe('Not connected');
    await page.locator('[data-test="cloud-connect"]').waitFor();
    expect((await status()).connected).toBe(false);

    const { context, page: desk } = await e.newPage();
    try {
      await signIn(desk, e.url, 'desk', DESK_PASSWORD);
      await desk.goto(`${e.url}/#/cloud`);
      await desk.locator('[data-test="cloud-not-connected"]').waitFor();
      expect(await desk.locator('[data-test="cloud-connect"]').count()).toBe(0);
    } finally {
      await context.close();
    }

    // Connecting again, headless style: the password grant, folded away under the browser sign-in.
    await page.locator('[data-test="connect-password"] summary').click();
    await fillConnectForm(page, cloud.siteId);
    await page.locator('[data-test="cloud-username"] input').fill(cloud.auth.username);
    await page.locator('[data-test="cloud-password"] input').fill(cloud.auth.password);
    await page.locator('[data-test="connect-password-submit"]').click();
    await poll(() => page.locator('[data-test="cloud-state"]').innerText()).toBe('Connected');
    expect(await page.locator('[data-test="connection-card"]').innerText()).toContain(cloud.auth.username);
    expect(cloud.identity.grants).toContain('password');
  });
});
