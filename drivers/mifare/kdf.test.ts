// The per-card key diversification: pinned known-answer values (docs/credentials.md §KDF), a
// cross-check of the same values with OpenSSL's CMAC when the `openssl` command is there, and
// properties: different UIDs, sites or purposes give different keys.
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveCardKeys, deriveKey, fixedInput, type KeyPurpose } from './kdf.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const SITE = hex('000102030405060708090a0b0c0d0e0f');

/** Known answers: site key 00 01 … 0f. Computed once with deriveCardKeys and checked against `openssl mac`. */
const KAT = [
  { uid: '04a1b2c3', keyA: '0f2873cafb51', keyB: 'b67a860dcb80', macKey: '129e24ebf9bdb0abd6b04082ee054c36' },
  { uid: '04112233445566', keyA: '647d46275845', keyB: 'ba8b15e515e2', macKey: '3035178dab12c8365930154794dc1004' },
  { uid: '04112233445566778899', keyA: '24e5a986c9fe', keyB: '4d312e9dcde6', macKey: 'e8106df60d739ad374d2a567fe068b78' },
];

function openssl(key: Uint8Array, msg: Uint8Array): string | null {
  try {
    return execFileSync('openssl', ['mac', '-cipher', 'AES-128-CBC', '-macopt', `hexkey:${toHex(key)}`, 'CMAC'], { input: msg, stdio: ['pipe', 'pipe', 'ignore'] })
      .toString()
      .trim()
      .toLowerCase();
  } catch {
    return null;
  }
}

const site = fc.uint8Array({ minLength: 16, maxLength: 16 });
const uid = fc.constantFrom(4, 7, 10).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
const purpose = fc.constantFrom<KeyPurpose>('key-a', 'key-b', 'credential-mac');

describe('per-card key derivation (SP 800-108 counter mode, AES-CMAC)', () => {
  it.each(KAT)('gives the pinned keys for UID $uid', (k) => {
    const keys = deriveCardKeys(SITE, hex(k.uid));
    expect({ keyA: toHex(keys.keyA), keyB: toHex(keys.keyB), macKey: toHex(keys.macKey) }).toEqual({ keyA: k.keyA, keyB: k.keyB, macKey: k.macKey });
  });

  it('lays the PRF input out as [i] || Label || 00 || [len] || UID || [L bits]', () => {
    expect(toHex(fixedInput('key-a', hex('04a1b2c3'), 6))).toBe(
      toHex(new TextEncoder().encode('gatehouse/mifare/key-a')) + '00' + '04' + '04a1b2c3' + '0030',
    );
    expect(toHex(fixedInput('credential-mac', hex('04112233445566'), 16)).endsWith('0007041122334455660080')).toBe(true);
  });

  it('agrees with OpenSSL CMAC on the known answers (skipped without openssl)', () => {
    for (const k of KAT) {
      for (const [p, len, want] of [['key-a', 6, k.keyA], ['key-b', 6, k.keyB], ['credential-mac', 16, k.macKey]] as const) {
        const got = openssl(SITE, Uint8Array.from([1, ...fixedInput(p, hex(k.uid), len)]));
        if (got === null) return;
        expect(got.slice(0, len * 2)).toBe(want);
      }
    }
  });

  it('uses more counter blocks for longer outputs, the first being the 16-byte derivation', () => {
    const long = deriveKey(SITE, hex('04a1b2c3'), 'credential-mac', 40);
    expect(long.length).toBe(40);
    // L is part of every block's input, so a longer output is not an extension of a shorter one.
    expect(toHex(long.subarray(0, 16))).not.toBe(KAT[0]!.macKey);
  });

  it('refuses a site key that is not 16 bytes and a UID that is not 4, 7 or 10 bytes', () => {
    expect(() => deriveKey(new Uint8Array(32), hex('04a1b2c3'), 'key-a', 6)).toThrow(/site key/);
    for (const n of [0, 5, 8, 16]) expect(() => deriveKey(SITE, new Uint8Array(n), 'key-a', 6)).toThrow(/UID/);
  });

  it('gives different keys for different UIDs', () => {
    fc.assert(
      fc.property(site, uid, uid, purpose, (s, u1, u2, p) => {
        fc.pre(toHex(u1) !== toHex(u2));
        expect(toHex(deriveKey(s, u1, p, 16))).not.toBe(toHex(deriveKey(s, u2, p, 16)));
      }),
    );
  });

  it('gives different keys for different sites', () => {
    fc.assert(
      fc.property(site, site, uid, purpose, (s1, s2, u, p) => {
        fc.pre(toHex(s1) !== toHex(s2));
        expect(toHex(deriveKey(s1, u, p, 16))).not.toBe(toHex(deriveKey(s2, u, p, 16)));
      }),
    );
  });

  it('gives independent key A, key B and MAC key for one card', () => {
    fc.assert(
      fc.property(site, uid, (s, u) => {
        const k = deriveCardKeys(s, u);
        expect(toHex(k.keyA)).not.toBe(toHex(k.keyB));
        expect(toHex(k.macKey).startsWith(toHex(k.keyA))).toBe(false);
        expect(toHex(k.macKey).startsWith(toHex(k.keyB))).toBe(false);
        expect([k.keyA.length, k.keyB.length, k.macKey.length]).toEqual([6, 6, 16]);
      }),
    );
  });

  it('does not confuse a 4-byte UID with a longer UID that starts with it', () => {
    const a = deriveCardKeys(SITE, hex('04112233'));
    const b = deriveCardKeys(SITE, hex('04112233445566'));
    expect(toHex(a.keyA)).not.toBe(toHex(b.keyA));
  });
});
