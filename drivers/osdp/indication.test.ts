import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBeeps, decodeFlashMs, encodeBeeps, encodeTemporaryFlash, LED_COLOR } from './indication.ts';

describe('osdp_LED / osdp_BUZ records', () => {
  it('lays out a temporary flash as the standard\'s 14-byte record, times in 100 ms units', () => {
    expect([...encodeTemporaryFlash({ onMs: 300, offMs: 200, on: 'green', off: 'amber', forMs: 10_000 })]).toEqual([0, 0, 2, 3, 2, 2, 3, 100, 0, 0, 0, 0, 0, 0]);
    expect([...encodeBeeps({ count: 3, onMs: 200, offMs: 300 })]).toEqual([0, 2, 2, 3, 3]);
  });

  it('reads back what it writes, and refuses malformed records', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 6_553_500 }), fc.constantFrom(...(Object.keys(LED_COLOR) as Array<keyof typeof LED_COLOR>)), (ms, color) => {
        const rounded = Math.max(1, Math.round(ms / 100)) * 100;
        expect(decodeFlashMs(encodeTemporaryFlash({ onMs: 100, offMs: 100, on: color, off: 'black', forMs: ms }))).toBe(rounded);
      }),
    );
    expect(decodeFlashMs(new Uint8Array(13))).toBeNull();
    expect(decodeFlashMs(new Uint8Array(0))).toBeNull();
    expect(decodeBeeps(new Uint8Array(4))).toBeNull();
    expect(decodeBeeps(encodeBeeps({ count: 300, onMs: 100, offMs: 100 }))).toBe(255);
  });
});
