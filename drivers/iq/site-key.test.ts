// The site key's fingerprint as hubs report it: the credentials page's test key gives the fingerprint of
// the worked example in docs/iq-protocol.md; the core computes the same (bin/hubs.test.ts).
import { describe, expect, it } from 'vitest';
import { siteKeyFingerprint } from './site-key.ts';
import { hex } from './wire.ts';

describe('siteKeyFingerprint', () => {
  it('is the first 8 bytes of SHA-256("gatehouse/site-key/" ‖ key)', () => {
    expect(hex(siteKeyFingerprint(Uint8Array.from({ length: 16 }, (_, i) => i)))).toBe('46bc7ed5a46f8c88');
  });

  it('refuses anything but a 16-byte key', () => {
    expect(() => siteKeyFingerprint(new Uint8Array(15))).toThrow(RangeError);
  });
});
