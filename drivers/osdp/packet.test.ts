// Packet encode/decode: libosdp's and Annex E's known packets, round trips, and one typed error per
// way a packet can be wrong.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Command, Reply } from './codes.ts';
import { crc16 } from './crc.ts';
import { decodePacket, encodePacket, macInput, MAX_PACKET_LENGTH, nextSqn, type Packet, type PacketErrorCode } from './packet.ts';
import { arbPacketFields } from './testing/arbitraries.ts';

const hex = (s: string) => Uint8Array.from(s.split(' ').map((b) => parseInt(b, 16)));

function decoded(bytes: Uint8Array): Packet {
  const result = decodePacket(bytes);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

function errorOf(bytes: Uint8Array): { code: PacketErrorCode; field: string | null; message: string } {
  const result = decodePacket(bytes);
  if (result.ok) throw new Error('expected a decode error');
  return result.error;
}

/** Re-computes the CRC so a test can change a field and still reach the checks after the CRC. */
function withCrc(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 2);
  out.set(body);
  const crc = crc16(body);
  out[body.length] = crc & 0xff;
  out[body.length + 1] = crc >> 8;
  return out;
}

describe('encodePacket', () => {
  // libosdp tests/unit-tests/test-cp-phy.c: PD address 101, first command after a reset (SQN 0), CRC.
  it('builds the packets libosdp builds', () => {
    expect(encodePacket({ address: 0x65, reply: false, sqn: 0, code: Command.POLL })).toEqual(hex('ff 53 65 08 00 04 60 60 90'));
    expect(encodePacket({ address: 0x65, reply: false, sqn: 0, code: Command.ID, data: hex('00') })).toEqual(hex('ff 53 65 09 00 04 61 00 d9 7a'));
    expect(encodePacket({ address: 0x65, reply: false, sqn: 0, code: Command.CHLNG, data: hex('01 02 03 04 05 06 07 08') })).toEqual(
      hex('ff 53 65 10 00 04 76 01 02 03 04 05 06 07 08 0d 20'),
    );
  });

  it('builds the Annex E COMSET examples, with CRC and with checksum', () => {
    const fields = { address: 0x7f, reply: false, sqn: 0, code: Command.COMSET, data: hex('00 80 25 00 00'), mark: false } as const;
    expect(encodePacket(fields)).toEqual(hex('53 7f 0d 00 04 6e 00 80 25 00 00 6e 38'));
    expect(encodePacket({ ...fields, check: 'checksum' })).toEqual(hex('53 7f 0c 00 00 6e 00 80 25 00 00 0f'));
  });

  it('sets the reply bit, SQN and SCB flag, and counts the MAC in LEN', () => {
    const bytes = encodePacket({ address: 0x12, reply: true, sqn: 3, code: Reply.ACK, securityBlock: { type: 0x16, data: new Uint8Array(0) }, mac: hex('de ad be ef') });
    expect(bytes.subarray(0, 6)).toEqual(hex('ff 53 92 0e 00 0f'));
    expect(bytes.subarray(6, 13)).toEqual(hex('02 16 40 de ad be ef'));
    expect(bytes.length).toBe(15);
  });

  it('signs SOM through the last data byte, with LEN already final', () => {
    let seen: Uint8Array | null = null;
    const bytes = encodePacket({ address: 1, reply: false, sqn: 1, code: 0x80, data: hex('aa bb'), securityBlock: { type: 0x15, data: new Uint8Array(0) } }, (input) => {
      seen = input.slice();
      return hex('01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10');
    });
    expect(seen).toEqual(hex('53 01 10 00 0d 02 15 80 aa bb'));
    expect(bytes.subarray(11, 15)).toEqual(hex('01 02 03 04'));
    expect(macInput(decoded(bytes))).toEqual(seen);
  });

  it('refuses fields no packet can carry', () => {
    const base = { address: 1, reply: false, sqn: 1, code: 0x60 } as const;
    expect(() => encodePacket({ ...base, address: 0x80 })).toThrow(/ADDR/);
    expect(() => encodePacket({ ...base, sqn: 4 as 0 })).toThrow(/SQN/);
    expect(() => encodePacket({ ...base, code: 256 })).toThrow(/code/);
    expect(() => encodePacket({ ...base, securityBlock: { type: 0x10, data: new Uint8Array(0) } })).toThrow(/SEC_BLK_TYPE/);
    expect(() => encodePacket({ ...base, securityBlock: { type: 0x15, data: new Uint8Array(0) } })).toThrow(/MAC/);
    expect(() => encodePacket({ ...base, mac: hex('01 02 03 04') })).toThrow(/MAC/);
    expect(() => encodePacket({ ...base, data: new Uint8Array(MAX_PACKET_LENGTH) })).toThrow(/1440/);
    expect(encodePacket({ ...base, data: new Uint8Array(MAX_PACKET_LENGTH - 8), mark: false }).length).toBe(MAX_PACKET_LENGTH);
  });
});

describe('decodePacket', () => {
  it('reads the Annex E example', () => {
    const p = decoded(hex('53 7f 0d 00 04 6e 00 80 25 00 00 6e 38'));
    expect(p).toMatchObject({ address: 0x7f, reply: false, sqn: 0, check: 'crc', code: Command.COMSET, securityBlock: null, mac: null, mark: false });
    expect(p.data).toEqual(hex('00 80 25 00 00'));
  });

  it('round-trips every field', () => {
    fc.assert(
      fc.property(arbPacketFields, (fields) => {
        const p = decoded(encodePacket(fields));
        expect({ ...p, raw: undefined }).toEqual({ ...fields, raw: undefined });
      }),
    );
  });

  it('re-encodes every packet it accepts to exactly its own bytes', () => {
    fc.assert(
      fc.property(arbPacketFields, (fields) => {
        const bytes = encodePacket(fields);
        expect(encodePacket(decoded(bytes))).toEqual(bytes);
      }),
    );
  });

  it('never throws, whatever the bytes', () => {
    const header = fc.tuple(fc.constantFrom(0x53), fc.nat(0xff), fc.nat(0xff), fc.nat(0x07), fc.nat(0xff));
    const arbBytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.tuple(header, fc.uint8Array({ maxLength: 40 })).map(([h, rest]) => Uint8Array.from([...h, ...rest])),
    );
    fc.assert(
      fc.property(arbBytes, (bytes) => {
        const result = decodePacket(bytes);
        if (!result.ok) expect(result.error.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 5000 },
    );
  });

  const good = encodePacket({ address: 5, reply: true, sqn: 2, code: Reply.ACK, mark: false });

  it.each<[string, Uint8Array, PacketErrorCode, string | null, RegExp]>([
    ['an empty buffer', new Uint8Array(0), 'too_short', null, /got 0 bytes/],
    ['a lone mark byte', hex('ff'), 'too_short', null, /got 0 bytes after the mark/],
    ['a wrong start byte', hex('54 05 08 00 04 40 00 00'), 'bad_som', 'SOM', /expected SOM 0x53, got 0x54/],
    ['a LEN below the minimum', hex('53 05 07 00 04 40 00 00'), 'length_out_of_range', 'LEN', /LEN is 7; expected 8–1440/],
    ['a LEN above 1440', hex('53 05 a1 05 04 40 00 00'), 'length_out_of_range', 'LEN', /LEN is 1441/],
    ['a LEN that disagrees with the bytes', good.subarray(0, 7), 'length_mismatch', 'LEN', /LEN says 8 bytes, got 7/],
    ['reserved CTRL bits', withCrc(hex('53 85 08 00 16 40')), 'reserved_control_bits', 'CTRL', /CTRL 0x16 sets reserved bits 0x10/],
    ['a wrong CRC', Uint8Array.from([...good.subarray(0, 6), good[6]! ^ 1, good[7]!]), 'bad_crc', 'CRC', /expected 0x/],
    ['a wrong checksum', hex('53 00 08 00 00 61 00 45'), 'bad_checksum', 'CKSUM', /checksum is 0x45, expected 0x44/],
    ['SCB flag without room for a block', withCrc(hex('53 85 08 00 0c 40')), 'bad_security_block', 'SEC_BLK_LEN', /ends first/],
    ['a SEC_BLK_LEN below 2', withCrc(hex('53 85 0a 00 0c 01 16 40')), 'bad_security_block', 'SEC_BLK_LEN', /at least 2/],
    ['a SEC_BLK_LEN past the end', withCrc(hex('53 85 0a 00 0c 09 16 40')), 'bad_security_block', 'SEC_BLK_LEN', /runs past the end/],
    ['an unknown SEC_BLK_TYPE', withCrc(hex('53 85 0a 00 0c 02 19 40')), 'bad_security_block', 'SEC_BLK_TYPE', /0x19; expected 0x11–0x18/],
    ['no room for the code', withCrc(hex('53 85 0a 00 0c 03 11 00')), 'missing_code', 'CODE', /before its command\/reply code/],
    ['a MAC type without the MAC', withCrc(hex('53 85 0d 00 0c 02 16 40 01 02 03')), 'missing_mac', 'MAC', /needs a 4-byte MAC; 3 bytes are left/],
  ])('reports %s as a typed error naming the field', (_, bytes, code, field, message) => {
    const error = errorOf(bytes);
    expect(error).toMatchObject({ code, field });
    expect(error.message).toMatch(message);
  });

  it('accepts the mark byte or its absence, and says which', () => {
    expect(decoded(hex('ff 53 65 08 00 04 60 60 90')).mark).toBe(true);
    expect(decoded(hex('53 65 08 00 04 60 60 90')).mark).toBe(false);
  });
});

describe('nextSqn', () => {
  it('cycles 1→2→3→1, and 0 (restart) is followed by 1', () => {
    expect([0, 1, 2, 3].map((s) => nextSqn(s as 0))).toEqual([1, 2, 3, 1]);
  });
});
