// Random packet fields for the property and fuzz tests, as fast-check arbitraries (shrinkable) and as
// draws from a seeded generator (cheap enough for a million).
import fc from 'fast-check';
import { carriesMac, type PacketFields, type Sqn } from '../packet.ts';
import type { Rng } from './prng.ts';

export const arbPacketFields: fc.Arbitrary<PacketFields> = fc
  .record({
    address: fc.integer({ min: 0, max: 0x7f }),
    reply: fc.boolean(),
    sqn: fc.constantFrom<Sqn>(0, 1, 2, 3),
    check: fc.constantFrom('crc' as const, 'checksum' as const),
    code: fc.integer({ min: 0, max: 0xff }),
    data: fc.uint8Array({ maxLength: 200 }),
    mark: fc.boolean(),
    securityBlock: fc.option(fc.record({ type: fc.integer({ min: 0x11, max: 0x18 }), data: fc.uint8Array({ maxLength: 3 }) }), { nil: null }),
    mac: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  })
  .map((f) => ({ ...f, mac: f.securityBlock && carriesMac(f.securityBlock.type) ? f.mac : null }));

export function randomPacketFields(rng: Rng, maxData = 64): PacketFields {
  const securityBlock = rng.next() < 0.4 ? { type: 0x11 + rng.int(8), data: rng.bytes(rng.int(4)) } : null;
  return {
    address: rng.int(0x80),
    reply: rng.next() < 0.5,
    sqn: rng.int(4) as Sqn,
    check: rng.next() < 0.8 ? 'crc' : 'checksum',
    code: rng.int(256),
    data: rng.bytes(rng.int(maxData + 1)),
    mark: rng.next() < 0.5,
    securityBlock,
    mac: securityBlock && carriesMac(securityBlock.type) ? rng.bytes(4) : null,
  };
}
