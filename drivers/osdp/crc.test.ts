// Known answers from the SIA OSDP spec's Annex E (as libosdp quotes them in
// tests/unit-tests/test-sc-sia-vectors.c) and from the CRC catalogue's check value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checksum8, crc16 } from './crc.ts';

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('crc16 (CRC-16/AUG-CCITT)', () => {
  it('matches the Annex E examples, sent little-endian', () => {
    const crc1 = crc16(bytes(0x53, 0x7f, 0x0d, 0x00, 0x04, 0x6e, 0x00, 0x80, 0x25, 0x00, 0x00));
    expect([crc1 & 0xff, crc1 >> 8]).toEqual([0x6e, 0x38]);
    const crc2 = crc16(bytes(0x53, 0x00, 0x09, 0x00, 0x04, 0x61, 0x00));
    expect([crc2 & 0xff, crc2 >> 8]).toEqual([0xc0, 0x66]);
  });

  it('matches the catalogue check value for "123456789"', () => {
    expect(crc16(new TextEncoder().encode('123456789'))).toBe(0xe5cc);
  });

  it('starts from 0x1D0F: the CRC of nothing is the initial value', () => {
    expect(crc16(new Uint8Array(0))).toBe(0x1d0f);
  });

  it('covers only the given range', () => {
    const msg = bytes(0xaa, 0x53, 0x00, 0x09, 0x00, 0x04, 0x61, 0x00, 0xbb);
    expect(crc16(msg, 1, 8)).toBe(0x66c0);
  });

  it('leaves a zero remainder when its own value follows the message MSB-first', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (msg) => {
        const crc = crc16(msg);
        const whole = new Uint8Array(msg.length + 2);
        whole.set(msg);
        whole[msg.length] = crc >> 8;
        whole[msg.length + 1] = crc & 0xff;
        expect(crc16(whole)).toBe(0);
      }),
    );
  });

  it('detects every single-byte error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (msg, at, flip) => {
        const changed = msg.slice();
        changed[at % msg.length] = changed[at % msg.length]! ^ flip;
        expect(crc16(changed)).not.toBe(crc16(msg));
      }),
    );
  });
});

describe('checksum8', () => {
  it('matches the Annex E examples', () => {
    expect(checksum8(bytes(0x53, 0x7f, 0x0c, 0x00, 0x00, 0x6e, 0x00, 0x80, 0x25, 0x00, 0x00))).toBe(0x0f);
    expect(checksum8(bytes(0x53, 0x00, 0x08, 0x00, 0x00, 0x61, 0x00))).toBe(0x44);
  });

  it('makes the byte sum zero modulo 256', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (msg) => {
        const sum = msg.reduce((a, b) => a + b, 0) + checksum8(msg);
        expect(sum % 256).toBe(0);
      }),
    );
  });
});
