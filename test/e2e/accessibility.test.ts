// Every screen is usable with the keyboard and a screen reader: axe-core (WCAG 2.x level A rules, the
// ones about names, labels, roles and keyboard access) finds nothing on any screen, in English and in
// Dutch. Contrast (level AA) is left to the component library's theme.
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_PASSWORD, requirements, signIn, startE2E, type E2E } from './harness.ts';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let e: E2E;
let page: Page;
let person: string;
let group: string;

interface Violation {
  id: string;
  help: string;
  nodes: Array<{ target: string[]; html: string }>;
}

/** axe's findings on the current page, as "rule: element" lines (empty when clean). */
async function audit(p: Page): Promise<string[]> {
  await p.waitForLoadState('networkidle');
  await p.waitForTimeout(300);
  if (!(await p.evaluate(() => 'axe' in globalThis))) await p.addScriptTag({ path: AXE });
  const violations = await p.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<{ violations: Violation[] }> } }).axe;
    const r = await axe.run((globalThis as unknown as { document: unknown }).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag21a'] }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, html: n.html.slice(0, 160) })) }));
  });
  return violations.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.help}): ${n.target.join(' ')} ${n.html}`));
}

beforeAll(async () => {
  const missing = requirements();
  if (missing) throw new Error(missing);
  // With the demo's simulated hubs, so that the hubs page and the monitor show what they show on a site.
  e = await startE2E({ hubs: true, cloud: true });
  ({ page } = await e.newPage({ forAxe: true }));
  const token = ((await (await fetch(`${e.url}/api/rpc/auth.login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'owner', password: OWNER_PASSWORD }) })).json()) as { result: { token: string } }).result.token;
  const rpc = async (name: string, input: unknown) =>
    ((await (await fetch(`${e.url}/api/rpc/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(input) })).json()) as { result: { items: Array<{ id: string }> } }).result;
  person = (await rpc('users.list', { top: 1 })).items[0]!.id;
  group = (await rpc('access_groups.list', { top: 1 })).items[0]!.id;
}, 120_000);
afterAll(async () => e?.close());

const screens = () => ['/', '/monitor', '/doors', '/iqs', '/hubs', '/hubs/commission', '/people', `/people/${person}`, '/tags', '/groups', `/groups/${group}`, '/calendars', '/audit', '/incidents', '/insights', '/operators', '/cloud', '/settings'];

describe('accessibility (axe-core, WCAG 2.x level A)', () => {
  it('finds nothing on the sign-in screen', async () => {
    await page.goto(`${e.url}/#/sign-in`);
    await page.locator('#username').waitFor();
    expect(await audit(page)).toEqual([]);
  });

  it('finds nothing on any screen of the signed-in app, in English and in Dutch', async () => {
    await signIn(page, e.url);
    const found: string[] = [];
    for (const locale of ['English', 'Nederlands']) {
      if (locale === 'Nederlands') {
        await page.locator('[data-test="locale"]').click();
        await page.locator('.n-base-select-option', { hasText: 'Nederlands' }).click();
      }
      for (const path of screens()) {
        await page.goto(`${e.url}/#${path}`);
        await page.locator('h1').first().waitFor();
        found.push(...(await audit(page)).map((v) => `${locale} ${path}: ${v}`));
      }
    }
    expect(found).toEqual([]);
  });
});
