// The encoder station in a real browser against a real host that drives the demo's simulated ACR122U
// and its tray of cards (bin/encoders.ts, `startE2E({ encoders: true })`). The test plays the person at
// the desk through the tray panel, as a demo user would: it sees the encoder live, encodes a blank card
// for a person (and checks through the API that the person holds a tag with that card's UID), asks
// whose the card is, pulls a card off mid-write and finishes it, reports a card lost and re-issues its
// tag onto a new card, encodes a batch of three, is told plainly that an Ultralight cannot carry a
// credential, and checks that the front desk may encode while an auditor may only read.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axeFindings, type E2E, OWNER_PASSWORD, requirements, screenshot, signIn, startE2E } from './harness.ts';


interface TrayCard {
  id: string;
  label: string;
  uid: string;
  card_type: string;
  on_encoder: string | null;
}
interface Tag {
  id: string;
  tag_number: string;
  card_uid: string | null;
  issue_counter: number;
  lost_or_stolen: boolean;
  blocked: boolean;
}

let e: E2E;
let page: Page;
let owner: string;
const people: Record<string, string> = {};

beforeAll(async () => {
  const missing = requirements();
  if (missing) throw new Error(missing);
  e = await startE2E({ encoders: true });
  // Screens are checked with axe as they come.
  ({ page } = await e.newPage({ forAxe: true }));
  owner = await token();
  const staff = (await api<{ items: Array<{ id: string; customer_reference: string }> }>('access_groups.list', { search: 'All staff' }, owner)).items.find((g) => g.customer_reference === 'All staff')!;
  const batch = await api<{ id: string }>('access_groups.create', { customer_reference: 'Encoder batch' }, owner);
  for (const [key, first, last, groups] of [
    ['ada', 'Ada', 'Encoderova', [staff.id]],
    ['bob', 'Bob', 'Pulloff', [staff.id]],
    ['carol', 'Carol', 'Ultralight', [staff.id]],
    ['dan', 'Dan', 'Deskwork', [staff.id]],
    ['b1', 'Batch', 'One', [batch.id]],
    ['b2', 'Batch', 'Two', [batch.id]],
    ['b3', 'Batch', 'Three', [batch.id]],
  ] as Array<[string, string, string, string[]]>) {
    people[key] = (await api<{ id: string }>('users.create', { first_name: first, last_name: last, access_group_ids: groups }, owner)).id;
  }
}, 120_000);
afterAll(async () => {
  await e?.close();
});

async function call(name: string, input: unknown, bearer: string): Promise<{ status: number; result?: unknown; error?: { code: string; message: string } }> {
  const r = await fetch(`${e.url}/api/rpc/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: JSON.stringify(input) });
  return { status: r.status, ...((await r.json()) as { result?: unknown; error?: { code: string; message: string } }) };
}
async function api<T>(name: string, input: unknown, bearer: string): Promise<T> {
  const r = await call(name, input, bearer);
  if (r.status !== 200) throw new Error(r.error?.message ?? `HTTP ${r.status}`);
  return r.result as T;
}
async function token(username = 'owner', password = OWNER_PASSWORD): Promise<string> {
  const r = await fetch(`${e.url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username, password }) });
  return ((await r.json()) as { access_token: string }).access_token;
}
async function login(p: Page, username?: string, password?: string) {
  await signIn(p, e.url, username, password);
  await p.waitForURL(/#\/$/);
}
/** expect.poll with room for a loaded machine (its own default is 1 s). */
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 15_000 });
const tray = () => api<TrayCard[]>('encoders.tray.list', {}, owner);
const cardOf = async (id: string) => (await tray()).find((c) => c.id === id)!;
const tagsOf = async (userId: string) => (await api<{ tags: Tag[] }>('users.get', { id: userId }, owner)).tags;
/** Lays a tray card on the encoder with the demo tray's button, as the person at the desk. */
async function lay(p: Page, cardId: string) {
  await p.locator(`[data-test="tray-card"][data-card-id="${cardId}"] [data-test="tray-place"]`).click();
  const uid = (await cardOf(cardId)).uid;
  await poll(() => p.locator('[data-test="encoder-card"]').getAttribute('data-uid')).toBe(uid);
}
async function tab(p: Page, name: 'encode' | 'bulk' | 'read') {
  await p.locator(`[data-test="station-tabs"] .n-tabs-tab[data-name="${name}"]`).click();
}
const done = (p: Page) => p.locator('[data-test="encode-one"] [data-test="encode-done"]');
const failed = (p: Page) => p.locator('[data-test="encode-one"] [data-test="job-failed"]');
const report = (p: Page) => p.locator('[data-test="card-report"]');
/** Waits until the toasts are gone and shows the page from its top, so that screenshots show the screen itself. */
async function settled(p: Page) {
  await poll(() => p.locator('.n-message').count()).toBe(0);
  await p.evaluate(() => {
    const d = (globalThis as unknown as { document: { activeElement: { blur?(): void } | null; querySelectorAll(s: string): Array<{ scrollTop: number }> } }).document;
    for (const el of d.querySelectorAll('.n-layout-scroll-container, html')) el.scrollTop = 0;
    // No focus ring left on the button the test clicked last.
    d.activeElement?.blur?.();
  });
  await p.mouse.move(5, 890);
}
/** Records the steps the progress display shows, however briefly (the simulated encoder is quick). */
async function recordSteps(p: Page) {
  await p.evaluate(() => {
    type Observer = { observe(target: unknown, options: unknown): void; disconnect(): void };
    const g = globalThis as unknown as {
      e2eSteps: string[];
      e2eObserver?: Observer;
      MutationObserver: new (callback: () => void) => Observer;
      document: { body: unknown; querySelectorAll(s: string): Array<{ getAttribute(n: string): string | null }> };
    };
    g.e2eSteps = [];
    g.e2eObserver?.disconnect();
    const note = () => {
      for (const el of g.document.querySelectorAll('[data-test="job-progress"]')) {
        const s = `${el.getAttribute('data-phase')}:${el.getAttribute('data-step')}`;
        if (g.e2eSteps[g.e2eSteps.length - 1] !== s) g.e2eSteps.push(s);
      }
    };
    g.e2eObserver = new g.MutationObserver(note);
    g.e2eObserver.observe(g.document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-phase', 'data-step'] });
  });
}
const stepsSeen = (p: Page) => p.evaluate(() => (globalThis as unknown as { e2eSteps: string[] }).e2eSteps);

describe('the encoder station', { timeout: 90_000 }, () => {
  it('shows the simulated encoder and the demo tray, live', async () => {
    await login(page);
    await page.goto(`${e.url}/#/encoders`);
    const encoder = page.locator('[data-test="encoder"]');
    await poll(() => encoder.count()).toBe(1);
    expect(await encoder.locator('[data-test="encoder-name"]').innerText()).toContain('ACR122U');
    expect(await encoder.innerText()).toContain('Firmware ACR122U207');
    expect(await page.locator('[data-test="encoder-card"]').innerText()).toBe('No card on it');
    // The tray: blank cards, the demo people's cards, a hotel card, an Ultralight and a DESFire.
    const labels = await page.locator('[data-test="tray-label"]').allInnerTexts();
    expect(labels).toContain('Blank card 1');
    expect(labels.some((l) => l.startsWith('Card of '))).toBe(true);
    expect(labels).toContain('Transit ticket');
    // Laid on and taken off by hand, the encoder panel follows without a reload.
    await lay(page, 'hotel');
    expect(await page.locator('[data-test="encoder-card"]').innerText()).toContain('MIFARE Classic 1K');
    await page.locator('[data-test="tray-card"][data-card-id="hotel"] [data-test="tray-remove"]').click();
    await poll(() => page.locator('[data-test="encoder-card"]').innerText()).toBe('No card on it');
    expect(await axeFindings(page, 'station')).toEqual([]);
    // Unplugged: a calm panel that says what to do; plugged in again, it is back by itself.
    e.encoders!.simulated!.simulator.unplug();
    await page.locator('[data-test="encoders-empty"]').waitFor();
    expect(await page.locator('[data-test="encoders-empty"]').innerText()).toContain('Plug an ACR122U desktop encoder into a USB port');
    // Why none is seen, as the core tells it (here: no USB in the tests).
    const { problem } = await api<{ problem: string | null }>('encoders.list', {}, owner);
    expect(problem).toBeTruthy();
    expect(await page.locator('[data-test="encoders-problem"]').innerText()).toContain(problem!.split('\n')[0]);
    expect(await page.locator('.n-dialog, .n-message--error-type').count()).toBe(0);
    e.encoders!.simulated!.simulator.replug();
    await poll(() => encoder.count()).toBe(1);
    expect(await page.locator('[data-test="encoders-empty"]').count()).toBe(0);
  });

  it('encodes a blank card for a person: lay a card, progress, then the tag it became', async () => {
    // Opened from the person's page: the person is chosen already.
    await page.goto(`${e.url}/#/people/${people.ada}`);
    await page.locator('[data-test="encode-card"]').click();
    await page.waitForURL(/#\/encoders\?user=/);
    await poll(() => page.locator('[data-test="encode-person"]').innerText()).toContain('Ada Encoderova');
    await poll(() => page.locator('[data-test="encode-person-groups"]').innerText()).toContain('All staff');
    // Started, then thought better of: Cancel stops the wait and frees the encoder.
    await page.locator('[data-test="encode-start"]').click();
    await page.locator('[data-test="lay-card"]').waitFor();
    await poll(() => page.locator('[data-test="encoder-busy"]').innerText()).toBe('Busy');
    await page.locator('[data-test="job-cancel"]').click();
    await poll(() => page.locator('[data-test="encoder-busy"]').innerText()).toBe('Ready');
    expect(await page.locator('[data-test="lay-card"]').count()).toBe(0);
    expect(await page.locator('[data-test="job-failed"]').count()).toBe(0);
    await recordSteps(page);
    await page.locator('[data-test="encode-start"]').click();
    // No card on the encoder yet: the station asks for one, for this person.
    await poll(() => page.locator('[data-test="lay-card"]').innerText()).toContain('Lay a blank card on the encoder for Ada Encoderova');
    await lay(page, 'blank-1');
    await done(page).waitFor();
    const blank1 = await cardOf('blank-1');
    expect(await done(page).locator('[data-test="encode-done-title"]').innerText()).toBe('Card encoded for Ada Encoderova');
    expect(await done(page).locator('[data-test="done-uid"]').innerText()).toBe(blank1.uid);
    expect(await done(page).locator('[data-test="done-issue"]').innerText()).toBe('1');
    // The progress was shown on the way: the credential written block by block, then checked.
    const steps = await stepsSeen(page);
    expect(steps[0]).toBe('waiting:');
    expect(steps).toContain('working:writing');
    expect(steps).toContain('working:verifying');
    // The core registered it for her: a tag with this card's UID, first issue.
    const tags = await tagsOf(people.ada!);
    expect(tags).toHaveLength(1);
    expect(tags[0]).toMatchObject({ card_uid: blank1.uid, issue_counter: 1, blocked: false, lost_or_stolen: false });
    expect(await done(page).locator('[data-test="done-tag-number"]').innerText()).toBe(tags[0]!.tag_number);
    expect(await axeFindings(page, 'encoded')).toEqual([]);
    await settled(page);
    await screenshot(page, 'encoders');
  });

  it('says whose a card is', async () => {
    await done(page).locator('[data-test="encode-whose"]').click();
    await page.locator('[data-test="read-card"]').click();
    await report(page).waitFor();
    const tag = (await tagsOf(people.ada!))[0]!;
    expect(await report(page).getAttribute('data-uid')).toBe((await cardOf('blank-1')).uid);
    expect(await page.locator('[data-test="card-verdict"]').getAttribute('data-kind')).toBe('genuine');
    expect(await page.locator('[data-test="card-verdict-title"]').innerText()).toBe('Genuine card of this site');
    expect(await page.locator('[data-test="report-owner"]').innerText()).toBe('Ada Encoderova');
    expect(await page.locator('[data-test="report-tag-number"]').innerText()).toBe(tag.tag_number);
    expect(await page.locator('[data-test="report-tag-status"]').innerText()).toBe('Active');
    expect(await page.locator('[data-test="report-groups"]').innerText()).toContain('All staff');
    expect(await axeFindings(page, 'whose card')).toEqual([]);
    await settled(page);
    await screenshot(page, 'whose-card');

    // A card of another system, and one of a demo person encoded before the station opened.
    await lay(page, 'hotel');
    await page.locator('[data-test="read-card"]').click();
    await poll(() => page.locator('[data-test="card-verdict"]').getAttribute('data-kind')).toBe('blank');
    expect(await page.locator('[data-test="report-owner-none"]').innerText()).toContain('not a tag of this site');
    await lay(page, 'encoded-1');
    await page.locator('[data-test="read-card"]').click();
    await poll(() => page.locator('[data-test="card-verdict"]').getAttribute('data-kind')).toBe('genuine');
    expect(await page.locator('[data-test="report-owner"]').innerText()).toBe((await cardOf('encoded-1')).label.replace(/^Card of /, ''));
  });

  it('finishes a card that was pulled off mid-write, with the same number', async () => {
    await page.goto(`${e.url}/#/encoders?user=${people.bob}`);
    await poll(() => page.locator('[data-test="encode-person"]').innerText()).toContain('Bob Pulloff');
    await lay(page, 'blank-2');
    // The person at the desk lifts the card while its credential is being written.
    e.encoders!.simulated!.simulator.faults.removeCardAfterBlocks = 2;
    await page.locator('[data-test="encode-start"]').click();
    await failed(page).waitFor();
    expect(await failed(page).innerText()).toContain('Lay the same card on the encoder again');
    expect(await page.locator('[data-test="encoder-card"]').innerText()).toBe('No card on it');
    expect(await tagsOf(people.bob!)).toHaveLength(0);
    await lay(page, 'blank-2');
    await failed(page).locator('[data-test="encode-retry"]').click();
    await done(page).waitFor();
    await done(page).locator('[data-test="done-repaired"]').waitFor();
    const tags = await tagsOf(people.bob!);
    expect(tags).toHaveLength(1);
    expect(tags[0]).toMatchObject({ card_uid: (await cardOf('blank-2')).uid, issue_counter: 1 });
  });

  it('reports a card lost from "whose card is this?" and re-issues its tag onto a new card', async () => {
    const blank1 = await cardOf('blank-1');
    const [before] = await tagsOf(people.ada!);
    await page.goto(`${e.url}/#/encoders?tab=read`);
    await lay(page, 'blank-1');
    await page.locator('[data-test="read-card"]').click();
    await poll(() => page.locator('[data-test="report-owner"]').innerText()).toBe('Ada Encoderova');
    await page.locator('[data-test="report-lost"]').click();
    await page.locator('[data-test="access-diff-summary"]').waitFor();
    await page.locator('[data-test="access-diff-confirm"]').click();
    await poll(() => page.locator('[data-test="report-tag-status"]').innerText()).toBe('Lost or stolen');
    expect((await tagsOf(people.ada!))[0]).toMatchObject({ id: before!.id, lost_or_stolen: true });

    await page.locator('[data-test="reissue"]').click();
    await poll(() => page.locator('[data-test="reissue-note"]').innerText()).toContain(`Re-issue tag ${before!.tag_number}`);
    await poll(() => page.locator('[data-test="encode-person"]').innerText()).toContain('Ada Encoderova');
    await page.locator('[data-test="encode-start"]').click();
    // The lost card still lies on the encoder: it must not become the new one.
    await poll(() => page.locator('[data-test="take-card-off"]').innerText()).toContain(blank1.uid);
    await lay(page, 'blank-3');
    await done(page).waitFor();
    const blank3 = await cardOf('blank-3');
    expect(await done(page).locator('[data-test="encode-done-title"]').innerText()).toBe('Card re-issued for Ada Encoderova');
    expect(await done(page).locator('[data-test="done-reissued"]').innerText()).toContain('earlier cards are refused');
    expect(await done(page).locator('[data-test="done-issue"]').innerText()).toBe('2');
    const [after] = await tagsOf(people.ada!);
    expect(after).toMatchObject({ id: before!.id, tag_number: before!.tag_number, card_uid: blank3.uid, issue_counter: 2, lost_or_stolen: false });
    expect(blank3.uid).not.toBe(blank1.uid);

    // The old card: genuine, but its tag is on another card now and the locks refuse it.
    await done(page).locator('[data-test="encode-whose"]').click();
    await lay(page, 'blank-1');
    await page.locator('[data-test="read-card"]').click();
    await poll(() => page.locator('[data-test="card-verdict"]').getAttribute('data-kind')).toBe('replaced');
    expect(await page.locator('[data-test="card-verdict-title"]').innerText()).toBe(`Replaced card: tag ${before!.tag_number} is on another card now`);
    expect(await page.locator('[data-test="card-verdict-detail"]').innerText()).toContain(`re-issued onto card ${blank3.uid} (issue 2)`);
    expect(await page.locator('[data-test="report-issue"]').innerText()).toContain('1');
    expect(await page.locator('[data-test="report-owner"]').innerText()).toBe('Ada Encoderova');
  });

  it('encodes a batch of three, one card after the other, and sums it up', async () => {
    await tab(page, 'bulk');
    await page.locator('[data-test="bulk-group"]').click();
    await page.keyboard.type('Encoder batch');
    await page.locator('.n-base-select-option', { hasText: 'Encoder batch' }).first().click();
    await page.locator('[data-test="bulk-add-group"]').click();
    await poll(() => page.locator('[data-test="bulk-item"]').count()).toBe(3);
    await page.locator('[data-test="tray-card"][data-card-id="blank-1"] [data-test="tray-remove"]').click();
    await poll(() => page.locator('[data-test="encoder-card"]').innerText()).toBe('No card on it');
    expect(await page.locator('[data-test="bulk-start"]').innerText()).toBe('Encode 3 cards');
    await page.locator('[data-test="bulk-start"]').click();
    const blanks = ['blank-4', 'blank-5', 'blank-6'];
    for (const [i, card] of blanks.entries()) {
      await poll(() => page.locator('[data-test="bulk-progress"]').getAttribute('data-position')).toBe(String(i + 1));
      expect(await page.locator('[data-test="bulk-progress"]').innerText()).toContain(`Card ${i + 1} of 3`);
      // After the first, the card just made is still there: take it off, lay the next blank one.
      if (i > 0) await page.locator('[data-test="take-card-off"]').waitFor();
      await lay(page, card);
      await poll(() => page.locator('[data-test="bulk-item"]').nth(i).getAttribute('data-status')).toBe('done');
    }
    const summary = page.locator('[data-test="bulk-summary"]');
    await summary.waitFor();
    expect(await summary.innerText()).toContain('Done: 3 of 3 cards encoded');
    // Each person, in the order of the queue, holds the card laid on for them.
    const order = await page.locator('[data-test="bulk-item"]').evaluateAll((els) => els.map((el) => el.getAttribute('data-user-id')!));
    expect([...order].sort()).toEqual([people.b1, people.b2, people.b3].sort());
    for (const [i, userId] of order.entries()) {
      const tags = await tagsOf(userId);
      expect(tags).toHaveLength(1);
      expect(tags[0]).toMatchObject({ card_uid: (await cardOf(blanks[i]!)).uid, issue_counter: 1 });
      expect(await page.locator('[data-test="bulk-item"]').nth(i).locator('[data-test="bulk-status"]').innerText()).toBe(`Tag ${tags[0]!.tag_number}`);
    }
    expect(await axeFindings(page, 'bulk')).toEqual([]);
  });

  it('tells plainly that an Ultralight cannot carry a credential', async () => {
    await page.goto(`${e.url}/#/encoders?user=${people.carol}`);
    await poll(() => page.locator('[data-test="encode-person"]').innerText()).toContain('Carol Ultralight');
    await lay(page, 'transit');
    await page.locator('[data-test="encode-start"]').click();
    await failed(page).waitFor();
    expect(await failed(page).getAttribute('data-kind')).toBe('unsupported');
    expect(await failed(page).innerText()).toContain('This card cannot carry a credential');
    expect(await failed(page).locator('[data-test="job-failed-detail"]').innerText()).toContain('MIFARE Ultralight / NTAG: it cannot carry a Gatehouse credential. Use a MIFARE Classic card.');
    expect(await tagsOf(people.carol!)).toHaveLength(0);
    // "Whose card is this?" says the same of it, in Dutch too.
    await page.locator('[data-test="locale"]').click();
    await page.locator('.n-base-select-option', { hasText: 'Nederlands' }).click();
    await tab(page, 'read');
    await page.locator('[data-test="read-card"]').click();
    await poll(() => page.locator('[data-test="card-verdict"]').getAttribute('data-kind')).toBe('unsupported');
    expect(await page.locator('[data-test="card-verdict-title"]').innerText()).toBe('Deze kaart kan geen credential dragen');
    expect(await axeFindings(page, 'whose card (nl)')).toEqual([]);
    await page.locator('[data-test="locale"]').click();
    await page.locator('.n-base-select-option', { hasText: 'English' }).click();
  });

  it('shows the card key in Settings, exports it once and imports it back, with the core’s error on the field', async () => {
    const key = await api<{ fingerprint: string; generation: number; encoded_cards: number }>('site.key', {}, owner);
    await page.goto(`${e.url}/#/settings`);
    const card = page.locator('[data-test="card-key"]');
    await poll(() => card.locator('[data-test="card-key-fingerprint"]').innerText()).toBe(key.fingerprint);
    expect(await card.locator('[data-test="card-key-cards"]').innerText()).toBe(String(key.encoded_cards));
    // Ada's, Bob's (finished after it was pulled off), Ada's re-issue and the batch of three.
    expect(key.encoded_cards).toBe(6);

    await card.locator('[data-test="card-key-export"]').click();
    await card.locator('[data-test="card-key-passphrase"] input').fill('short');
    await poll(() => card.locator('[data-test="card-key-export-form"]').innerText()).toContain('At least 10 characters');
    await card.locator('[data-test="card-key-passphrase"] input').fill('front desk card key 2026');
    await card.locator('[data-test="card-key-passphrase-again"] input').fill('front desk card key 2027');
    await poll(() => card.locator('[data-test="card-key-export-form"]').innerText()).toContain('The two passphrases differ');
    expect(await card.locator('[data-test="card-key-export-confirm"]').isDisabled()).toBe(true);
    await card.locator('[data-test="card-key-passphrase-again"] input').fill('front desk card key 2026');
    await card.locator('[data-test="card-key-export-confirm"]').click();
    const exported = card.locator('[data-test="card-key-exported"]');
    await exported.waitFor();
    expect(await exported.innerText()).toContain('shown only this once');
    const text = await card.locator('[data-test="card-key-text"] textarea').inputValue();
    expect(text).toContain('-----BEGIN GATEHOUSE SITE KEY-----');
    expect(await axeFindings(page, 'card key')).toEqual([]);
    await card.locator('[data-test="card-key-hide"]').click();
    expect(await card.locator('[data-test="card-key-text"]').count()).toBe(0);

    await card.locator('[data-test="card-key-import"]').click();
    await card.locator('[data-test="card-key-import-text"] textarea').fill(text);
    await card.locator('[data-test="card-key-import-passphrase"] input').fill('not the passphrase');
    await card.locator('[data-test="card-key-import-confirm"]').click();
    const field = card.locator('[data-test="card-key-import-form"] .n-form-item-feedback--error');
    await poll(() => field.count()).toBe(1);
    expect((await field.innerText()).toLowerCase()).toContain('passphrase');
    await card.locator('[data-test="card-key-import-passphrase"] input').fill('front desk card key 2026');
    await card.locator('[data-test="card-key-import-confirm"]').click();
    await poll(() => card.locator('[data-test="card-key-import-form"]').count()).toBe(0);
    expect(await card.locator('[data-test="card-key-fingerprint"]').innerText()).toBe(key.fingerprint);
  });

  it('lets the front desk encode; an auditor may only read cards', async () => {
    const { context, page: desk } = await e.newPage();
    try {
      await login(desk, 'frontdesk', 'demo-frontdesk-pass');
      await desk.goto(`${e.url}/#/encoders?user=${people.dan}`);
      await poll(() => desk.locator('[data-test="encode-person"]').innerText()).toContain('Dan Deskwork');
      await lay(desk, 'blank-7');
      await desk.locator('[data-test="encode-start"]').click();
      await done(desk).waitFor();
      expect((await tagsOf(people.dan!))[0]).toMatchObject({ card_uid: (await cardOf('blank-7')).uid, issue_counter: 1 });
    } finally {
      await context.close();
    }
    const auditor = await token('auditor', 'demo-auditor-pass');
    const encoderId = (await api<{ encoders: Array<{ id: string }> }>('encoders.list', {}, auditor)).encoders[0]!.id;
    const refused = await call('encoders.encode', { encoder_id: encoderId, user_id: people.carol, wait_s: 1 }, auditor);
    expect(refused.status).toBe(403);
    expect(refused.error?.code).toBe('forbidden');
    const { context: c2, page: reader } = await e.newPage();
    try {
      await login(reader, 'auditor', 'demo-auditor-pass');
      await reader.goto(`${e.url}/#/encoders`);
      await reader.locator('[data-test="read-only-note"]').waitFor();
      expect(await reader.locator('[data-test="encode-start"]').count()).toBe(0);
      expect(await reader.locator('[data-test="station-tabs"] .n-tabs-tab').allInnerTexts()).toEqual(['Whose card is this?']);
      await reader.locator('[data-test="read-card"]').click();
      await poll(() => reader.locator('[data-test="card-verdict"]').getAttribute('data-kind')).toBe('genuine');
      expect(await reader.locator('[data-test="report-lost"]').count()).toBe(0);
    } finally {
      await c2.close();
    }
  });
});
