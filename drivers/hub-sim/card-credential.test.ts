// A hub that knows the site key checks the credential sector of a card presented by UID
// (docs/credentials.md): a genuine card opens; one whose UID is the tag's but whose sector is missing,
// erased, forged, another site's, another tag's or an older issue is refused as invalid_credential with
// its own cause, which the lock files in its entry's hub_reason. Without a site key the hub decides as before.
import { describe, expect, it } from 'vitest';
import { eraseWrites, issueWrites, sectorAfter } from '../mifare/credential.ts';
import type { HubEvent } from './events.ts';
import { siteTable, type SiteFixture } from './fixtures.ts';
import { SimulatedHub } from './hub.ts';

const T = (iso: string) => Date.parse(iso);
/** Monday 2 November 2026, 10:00 in Amsterdam (CET). */
const MON_10 = T('2026-11-02T10:00:00+01:00');
const SITE_KEY = Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
const SITE_ID = 'a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607';
const UID = Uint8Array.from([0x04, 0xa1, 0xb2, 0xc3]);
const UID2 = Uint8Array.from([0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);

const site: SiteFixture = {
  locks: [{ pk: 1, id: 'front' }],
  groups: [{ pk: 1, locks: [1], schedules: [] }],
  users: [{ pk: 1, groups: [1] }],
  tags: [
    { number: 1001, userPk: 1, uid: UID, issueCounter: 2 },
    { number: 1002, userPk: 1, uid: UID2 },
  ],
};

function hub(cardCheck = true): SimulatedHub {
  const h = new SimulatedHub({ clock: () => MON_10, iqId: 'iq-1', ...(cardCheck ? { cardCheck: { siteKey: SITE_KEY, siteId: SITE_ID } } : {}) });
  expect(h.installTable(siteTable(site))).toMatchObject({ ok: true });
  return h;
}
const issued = (o: { uid?: Uint8Array; tagNumber?: string; issueCounter?: number; siteKey?: Uint8Array; siteId?: string } = {}) =>
  sectorAfter(
    issueWrites(o.siteKey ?? SITE_KEY, o.uid ?? UID, { siteId: o.siteId ?? SITE_ID, tagNumber: o.tagNumber ?? '0000001001', issueCounter: o.issueCounter ?? 2 }),
  );
const entry = (events: HubEvent[]) => events.find((e) => e.kind === 'entry');

describe('credential check at a simulated lock', () => {
  it('opens for a genuine card of the current issue or later', () => {
    const h = hub();
    expect(h.presentTag('front', { uid: UID, sector: issued() }).decision).toMatchObject({ granted: true, tagNumber: '0000001001' });
    expect(h.presentTag('front', { uid: UID, sector: issued({ issueCounter: 3 }) }).decision).toMatchObject({ granted: true });
  });

  const forged = issued();
  forged[20]! ^= 0x01; // a digit of the tag number
  const cases: Array<[string, Uint8Array | null | undefined, string]> = [
    ['no sector at all', undefined, 'credential_missing'],
    ['an erased sector', sectorAfter(eraseWrites()), 'credential_missing'],
    ['another card’s sector copied over', issued({ uid: UID2, tagNumber: '0000001001' }), 'credential_missing'],
    ['an altered credential', forged, 'credential_forged'],
    ['another site’s card', issued({ siteId: 'another-site' }), 'credential_wrong_site'],
    ['a sector made with another site key', issued({ siteKey: new Uint8Array(16) }), 'credential_missing'],
    ['another tag’s credential on this card', issued({ tagNumber: '0000001002' }), 'credential_tag_mismatch'],
    ['an older issue', issued({ issueCounter: 1 }), 'credential_stale'],
  ];
  it.each(cases)('refuses a matching UID with %s, and files the reason', (_name, sector, reason) => {
    const h = hub();
    const r = h.presentTag('front', { uid: UID, sector });
    expect(r.decision).toMatchObject({ granted: false, reason: 'invalid_credential', cause: reason, cardUid: '04A1B2C3' });
    expect(entry(r.events)).toMatchObject({ event_category: 'lock_rejected', event_detail: 'invalid_credential', hub_reason: reason });
  });

  it('decides as before without a site key, and for a tag number typed in', () => {
    expect(hub(false).presentTag('front', UID).decision).toMatchObject({ granted: true });
    expect(hub().presentTag('front', '1001').decision).toMatchObject({ granted: true });
  });
});
