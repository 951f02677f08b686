import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_KEY,
  DesfireCard,
  MifareClassicCard,
  UltralightCard,
  decodeAccessBits,
  encodeAccessBits,
  sectorOf,
  trailerBlock,
} from './cards.ts';

const KEY_1 = Uint8Array.of(1, 2, 3, 4, 5, 6);
const KEY_2 = Uint8Array.of(0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5);

function trailer(keyA: Uint8Array, bits: number[], keyB: Uint8Array): Uint8Array {
  const t = new Uint8Array(16);
  t.set(keyA, 0);
  t.set(encodeAccessBits(bits), 6);
  t[9] = 0x69;
  t.set(keyB, 10);
  return t;
}

describe('access bits', () => {
  it('decodes the transport configuration FF 07 80 to data 000 and trailer 001', () => {
    expect(decodeAccessBits(0xff, 0x07, 0x80)).toEqual([0, 0, 0, 1]);
    expect(encodeAccessBits([0, 0, 0, 1])).toEqual(Uint8Array.of(0xff, 0x07, 0x80));
  });

  it('round-trips every combination and refuses any single flipped bit', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 23 }), (bits, flip) => {
        const b = encodeAccessBits(bits);
        expect(decodeAccessBits(b[0]!, b[1]!, b[2]!)).toEqual(bits);
        b[flip >> 3] = b[flip >> 3]! ^ (1 << (flip & 7));
        expect(decodeAccessBits(b[0]!, b[1]!, b[2]!)).toBeNull();
      }),
    );
  });
});

describe('MIFARE Classic', () => {
  it('has the 1K and 4K geometry', () => {
    expect(new MifareClassicCard('classic1k').blockCount).toBe(64);
    expect(new MifareClassicCard('classic4k').sectorCount).toBe(40);
    expect(trailerBlock(0)).toBe(3);
    expect(trailerBlock(31)).toBe(127);
    expect(trailerBlock(32)).toBe(143);
    expect(trailerBlock(39)).toBe(255);
    expect(sectorOf(128)).toBe(32);
    expect(sectorOf(255)).toBe(39);
  });

  it('writes block 0 as UID, BCC, SAK', () => {
    const c = new MifareClassicCard('classic1k', { uid: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) });
    expect(c.authenticate(0, 'A', DEFAULT_KEY).ok).toBe(true);
    const r = c.read(0);
    expect(r.ok && Array.from(r.value.subarray(0, 6))).toEqual([0xde, 0xad, 0xbe, 0xef, 0xde ^ 0xad ^ 0xbe ^ 0xef, 0x08]);
    expect(c.write(0, new Uint8Array(16)).ok).toBe(false);
  });

  it('needs authentication for the right sector, and a failure drops it', () => {
    const c = new MifareClassicCard();
    expect(c.read(4).ok).toBe(false);
    expect(c.authenticate(4, 'A', DEFAULT_KEY).ok).toBe(true);
    expect(c.read(5).ok).toBe(true);
    expect(c.read(8)).toMatchObject({ ok: false, reason: expect.stringMatching(/sector 1, not sector 2/) });
    expect(c.read(5).ok).toBe(false); // halted by the failure
    expect(c.authenticate(4, 'A', KEY_1).ok).toBe(false);
    expect(c.authenticated).toBeNull();
  });

  it('in transport state key B is readable and so cannot authenticate; key A reads as zeros', () => {
    const c = new MifareClassicCard();
    expect(c.authenticate(4, 'B', DEFAULT_KEY)).toMatchObject({ ok: false, reason: expect.stringMatching(/readable/) });
    expect(c.authenticate(7, 'A', DEFAULT_KEY).ok).toBe(true);
    const r = c.read(7);
    expect(r.ok && Array.from(r.value)).toEqual([0, 0, 0, 0, 0, 0, 0xff, 0x07, 0x80, 0x69, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  });

  it('enforces data-block rights after a trailer change (read A|B, write B only: 100)', () => {
    const c = new MifareClassicCard();
    expect(c.authenticate(4, 'A', DEFAULT_KEY).ok).toBe(true);
    // data blocks 100, trailer 011 (key B writes keys and bits, A|B read bits)
    expect(c.write(7, trailer(KEY_1, [0b100, 0b100, 0b100, 0b011], KEY_2)).ok).toBe(true);
    expect(c.authenticate(4, 'A', DEFAULT_KEY).ok).toBe(false);
    expect(c.authenticate(4, 'A', KEY_1).ok).toBe(true);
    expect(c.read(4).ok).toBe(true);
    expect(c.write(4, new Uint8Array(16).fill(7)).ok).toBe(false);
    expect(c.authenticate(4, 'B', KEY_2).ok).toBe(true);
    expect(c.write(4, new Uint8Array(16).fill(7)).ok).toBe(true);
    const r = c.read(7);
    expect(r.ok && Array.from(r.value.subarray(6, 10))).toEqual([...encodeAccessBits([4, 4, 4, 3]), 0x69]);
    expect(r.ok && Array.from(r.value.subarray(10))).toEqual([0, 0, 0, 0, 0, 0]);
    // Key A may not write this trailer at all.
    expect(c.authenticate(4, 'A', KEY_1).ok).toBe(true);
    expect(c.write(7, trailer(DEFAULT_KEY, [0, 0, 0, 1], DEFAULT_KEY)).ok).toBe(false);
  });

  it('read-only trailer (110 → no one writes) and a never-readable block (111)', () => {
    const c = new MifareClassicCard();
    c.authenticate(8, 'A', DEFAULT_KEY);
    expect(c.write(11, trailer(KEY_1, [0b111, 0, 0, 0b110], KEY_2)).ok).toBe(true);
    expect(c.authenticate(8, 'B', KEY_2).ok).toBe(true);
    expect(c.read(8).ok).toBe(false);
    c.authenticate(8, 'B', KEY_2);
    expect(c.read(9).ok).toBe(true);
    expect(c.write(11, trailer(KEY_1, [0, 0, 0, 1], KEY_2)).ok).toBe(false);
  });

  it('blocks a sector for good when inconsistent access bits are written', () => {
    const c = new MifareClassicCard();
    c.authenticate(12, 'A', DEFAULT_KEY);
    const bad = trailer(DEFAULT_KEY, [0, 0, 0, 1], DEFAULT_KEY);
    bad[7] = bad[7]! ^ 0x01;
    expect(c.write(15, bad).ok).toBe(true);
    expect(c.isBlocked(3)).toBe(true);
    expect(c.authenticate(12, 'A', DEFAULT_KEY)).toMatchObject({ ok: false, reason: expect.stringMatching(/blocked/) });
  });

  it('4K: a 16-block sector is governed in groups of five blocks', () => {
    const c = new MifareClassicCard('classic4k');
    c.authenticate(128, 'A', DEFAULT_KEY);
    expect(c.write(143, trailer(DEFAULT_KEY, [0, 0b010, 0, 0b001], DEFAULT_KEY)).ok).toBe(true);
    c.authenticate(128, 'A', DEFAULT_KEY);
    expect(c.write(132, new Uint8Array(16)).ok).toBe(true);
    expect(c.write(133, new Uint8Array(16)).ok).toBe(false);
    c.authenticate(128, 'A', DEFAULT_KEY);
    expect(c.write(138, new Uint8Array(16)).ok).toBe(true);
  });
});

describe('Ultralight', () => {
  it('reads four pages, wrapping, with the UID in pages 0-1', () => {
    const u = new UltralightCard(Uint8Array.of(4, 1, 2, 3, 4, 5, 6));
    const r = u.read(0);
    expect(r.ok && Array.from(r.value.subarray(0, 8))).toEqual([4, 1, 2, 0x88 ^ 4 ^ 1 ^ 2, 3, 4, 5, 6]);
    const w = u.read(14);
    expect(w.ok && w.value.length).toBe(16);
  });

  it('writes data pages, ORs OTP, honours lock bits, refuses serial pages', () => {
    const u = new UltralightCard();
    expect(u.write(4, Uint8Array.of(1, 2, 3, 4)).ok).toBe(true);
    expect(u.write(0, Uint8Array.of(1, 2, 3, 4)).ok).toBe(false);
    expect(u.write(3, Uint8Array.of(1, 0, 0, 0)).ok).toBe(true);
    expect(u.write(3, Uint8Array.of(2, 0, 0, 0)).ok).toBe(true);
    const otp = u.read(3);
    expect(otp.ok && otp.value[0]).toBe(3);
    expect(u.write(2, Uint8Array.of(0, 0, 0x10, 0x00)).ok).toBe(true); // lock page 4
    expect(u.isLocked(4)).toBe(true);
    expect(u.write(4, Uint8Array.of(9, 9, 9, 9)).ok).toBe(false);
    expect(u.write(5, Uint8Array.of(9, 9, 9, 9)).ok).toBe(true);
  });
});

describe('DESFire', () => {
  it('is recognised by SAK 0x20 and historical bytes', () => {
    const d = new DesfireCard();
    expect(d.sak).toBe(0x20);
    expect(d.uid.length).toBe(7);
    expect(d.historicalBytes.length).toBeGreaterThan(0);
  });
});
