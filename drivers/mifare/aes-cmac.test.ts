// AES-CMAC: the RFC 4493 §4 known answers (subkeys and the four examples), and agreement with an
// independent CBC-MAC formulation for arbitrary lengths.
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aesCmac, cmacSubkeys, macEqual } from './aes-cmac.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const K = hex('2b7e1516 28aed2a6 abf71588 09cf4f3c');
const M64 = hex(
  '6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51' +
    '30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710',
);

describe('AES-CMAC (RFC 4493)', () => {
  it('derives the subkeys of RFC 4493 §4', () => {
    const { k1, k2 } = cmacSubkeys(K);
    expect(toHex(k1)).toBe('fbeed618357133667c85e08f7236a8de');
    expect(toHex(k2)).toBe('f7ddac306ae266ccf90bc11ee46d513b');
  });

  it.each([
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ])('example with a %i-byte message', (len, mac) => {
    expect(toHex(aesCmac(K, M64.subarray(0, len)))).toBe(mac);
  });

  it('refuses a key that is not 16 bytes', () => {
    expect(() => aesCmac(new Uint8Array(24), new Uint8Array(0))).toThrow(RangeError);
  });

  it('agrees with a plain CBC-MAC over the padded message XOR subkey, for any message', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 100 }), (key, msg) => {
        const { k1, k2 } = cmacSubkeys(key);
        const complete = msg.length > 0 && msg.length % 16 === 0;
        const padded = new Uint8Array(complete ? msg.length : (Math.floor(msg.length / 16) + 1) * 16);
        padded.set(msg);
        if (!complete) padded[msg.length] = 0x80;
        const sub = complete ? k1 : k2;
        for (let i = 0; i < 16; i++) padded[padded.length - 16 + i]! ^= sub[i]!;
        const c = createCipheriv('aes-128-cbc', key, new Uint8Array(16));
        c.setAutoPadding(false);
        const all = Buffer.concat([c.update(padded), c.final()]);
        expect(toHex(aesCmac(key, msg))).toBe(all.subarray(all.length - 16).toString('hex'));
      }),
    );
  });

  it('compares MACs by value and length', () => {
    expect(macEqual(hex('0102'), hex('0102'))).toBe(true);
    expect(macEqual(hex('0102'), hex('0103'))).toBe(false);
    expect(macEqual(hex('0102'), hex('010203'))).toBe(false);
  });
});
