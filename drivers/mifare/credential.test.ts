// The credential sector: a pinned encoding, issue → verify round trips, every refusal reason, any
// single bit flip refused (forged unless it hits the magic, the version or the site fingerprint),
// and erase back to transport keys and access bits.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkTrailer, encodeAccessBits } from './access-bits.ts';
import { checkPresentedCard, credentialBlocks, type CredentialContent, eraseWrites, issueWrites, readWithKeyA, sectorAfter, siteFingerprint, verifyCredential } from './credential.ts';
import { deriveCardKeys } from './kdf.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const SITE_KEY = hex('000102030405060708090a0b0c0d0e0f');
const SITE_ID = 'a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607';
const UID = hex('04a1b2c3');
const CONTENT: CredentialContent = { siteId: SITE_ID, tagNumber: '0000007527', issueCounter: 3 };

const siteKey = fc.uint8Array({ minLength: 16, maxLength: 16 });
const uid = fc.constantFrom(4, 7, 10).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
const content = fc.record({
  siteId: fc.uuid(),
  tagNumber: fc.stringMatching(/^\d{10}$/),
  issueCounter: fc.integer({ min: 0, max: 0xffff_ffff }),
});

describe('credential sector', () => {
  it('lays out the blocks as documented', () => {
    const d = credentialBlocks(SITE_KEY, UID, CONTENT);
    expect(toHex(d.subarray(0, 16))).toBe(toHex(siteFingerprint(SITE_ID)));
    expect(toHex(d.subarray(16, 32))).toBe('4748' + '01' + '00' + '0000007527' + '00000003' + '000000');
    // Known answer (docs/credentials.md), checked with sha256sum and `openssl mac … CMAC` under the MAC key below.
    expect(toHex(siteFingerprint(SITE_ID))).toBe('7d5822f27d362f5f1fcc1feae6cdeb1a');
    const { macKey } = deriveCardKeys(SITE_KEY, UID);
    expect(toHex(macKey)).toBe('129e24ebf9bdb0abd6b04082ee054c36');
    expect(toHex(d.subarray(32, 48))).toBe('a4c518bb857b24ce' + '0000000000000000');
  });

  it('issues data blocks 4–6 and then a checked trailer with the card’s own keys', () => {
    const w = issueWrites(SITE_KEY, UID, CONTENT);
    expect(w.data.map((b) => b.block)).toEqual([4, 5, 6]);
    expect(w.trailer.block).toBe(7);
    expect(toHex(w.trailer.data)).toBe('0f2873cafb51' + '787788' + '69' + 'b67a860dcb80');
    expect(checkTrailer(w.trailer.data, 'credential').ok).toBe(true);
  });

  it('erases to zeroed blocks and the transport trailer', () => {
    const w = eraseWrites();
    expect(w.data.every((b) => b.data.every((x) => x === 0))).toBe(true);
    expect(toHex(w.trailer.data)).toBe('ffffffffffff' + 'ff0780' + '69' + 'ffffffffffff');
    expect(checkTrailer(w.trailer.data, 'transport').ok).toBe(true);
  });

  it('verifies what it issued, for any site, card and content', () => {
    fc.assert(
      fc.property(siteKey, uid, content, (k, u, c) => {
        expect(verifyCredential(k, c.siteId, u, credentialBlocks(k, u, c))).toEqual({
          ok: true,
          credential: { version: 1, tagNumber: c.tagNumber, issueCounter: c.issueCounter },
        });
      }),
    );
  });

  it('refuses a missing credential: no key A access, blank or erased blocks', () => {
    expect(verifyCredential(SITE_KEY, SITE_ID, UID, null)).toMatchObject({ ok: false, reason: 'credential_missing' });
    expect(verifyCredential(SITE_KEY, SITE_ID, UID, new Uint8Array(48))).toMatchObject({ ok: false, reason: 'credential_missing' });
  });

  it('refuses another site’s credential as wrong site, and a copy onto another card as forged', () => {
    const data = credentialBlocks(SITE_KEY, UID, CONTENT);
    expect(verifyCredential(SITE_KEY, 'another-site', UID, data)).toMatchObject({ ok: false, reason: 'credential_wrong_site' });
    expect(verifyCredential(SITE_KEY, SITE_ID, hex('04a1b2c4'), data)).toMatchObject({ ok: false, reason: 'credential_forged' });
    const otherKey = SITE_KEY.slice();
    otherKey[0] = 0xff;
    expect(verifyCredential(otherKey, SITE_ID, UID, data)).toMatchObject({ ok: false, reason: 'credential_forged' });
  });

  it('checks the tag number and the issue counter against the table when asked', () => {
    const data = credentialBlocks(SITE_KEY, UID, CONTENT);
    expect(verifyCredential(SITE_KEY, SITE_ID, UID, data, { tagNumber: '0000007527', minIssueCounter: 3 }).ok).toBe(true);
    expect(verifyCredential(SITE_KEY, SITE_ID, UID, data, { tagNumber: '0000007528' })).toMatchObject({ ok: false, reason: 'credential_tag_mismatch' });
    expect(verifyCredential(SITE_KEY, SITE_ID, UID, data, { minIssueCounter: 4 })).toMatchObject({ ok: false, reason: 'credential_stale' });
  });

  it('refuses any single bit flip, in the sector or in the UID', () => {
    fc.assert(
      fc.property(siteKey, uid, content, fc.integer({ min: 0, max: 48 * 8 - 1 }), (k, u, c, bit) => {
        const data = credentialBlocks(k, u, c);
        const byte = bit >> 3;
        data[byte]! ^= 1 << (bit & 7);
        const want =
          byte < 16 ? 'credential_wrong_site' : byte < 18 ? 'credential_missing' : byte === 18 ? 'credential_unsupported_version' : 'credential_forged';
        expect(verifyCredential(k, c.siteId, u, data)).toMatchObject({ ok: false, reason: want });
      }),
    );
    fc.assert(
      fc.property(siteKey, uid, content, fc.nat(), (k, u, c, n) => {
        const data = credentialBlocks(k, u, c);
        const other = u.slice();
        const bit = n % (u.length * 8);
        other[bit >> 3]! ^= 1 << (bit & 7);
        expect(verifyCredential(k, c.siteId, other, data)).toMatchObject({ ok: false, reason: 'credential_forged' });
      }),
    );
  });

  it('refuses bad input to the encoder', () => {
    expect(() => credentialBlocks(SITE_KEY, UID, { ...CONTENT, tagNumber: '7527' })).toThrow(/ten digits/);
    expect(() => credentialBlocks(SITE_KEY, UID, { ...CONTENT, issueCounter: -1 })).toThrow(/issue counter/);
    expect(() => credentialBlocks(SITE_KEY, new Uint8Array(5), CONTENT)).toThrow(/UID/);
  });

  it('lets a lock read an issued card with key A, and not an erased or blank one', () => {
    const issued = sectorAfter(issueWrites(SITE_KEY, UID, CONTENT));
    expect(checkPresentedCard(SITE_KEY, SITE_ID, UID, issued, { tagNumber: '0000007527' })).toMatchObject({ ok: true });
    expect(checkPresentedCard(SITE_KEY, SITE_ID, UID, sectorAfter(eraseWrites()))).toMatchObject({ ok: false, reason: 'credential_missing' });
    expect(checkPresentedCard(SITE_KEY, SITE_ID, UID, null)).toMatchObject({ ok: false, reason: 'credential_missing' });
    // The same sector on a card with another UID does not open with that card's key A.
    expect(checkPresentedCard(SITE_KEY, SITE_ID, hex('04a1b2c4'), issued)).toMatchObject({ ok: false, reason: 'credential_missing' });
    // Data blocks readable by key B only: key A opens the sector but cannot read the credential.
    const bOnly = issued.slice();
    bOnly.set(encodeAccessBits([3, 3, 3, 3]), 54);
    expect(readWithKeyA(bOnly, deriveCardKeys(SITE_KEY, UID).keyA)).toBeNull();
  });
});
