// The stream parser against the ways a byte stream goes wrong: chunk boundaries anywhere, noise between
// packets, false SOMs, oversize LEN, corrupted and truncated packets, and a line that goes quiet.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Command } from './codes.ts';
import { encodePacket, SOM, type Packet, type PacketError, type PacketFields } from './packet.ts';
import { StreamParser } from './stream-parser.ts';
import { arbPacketFields } from './testing/arbitraries.ts';

const raws = (packets: Packet[]) => packets.map((p) => [...p.raw]);
const withoutMark = (bytes: Uint8Array) => [...(bytes[0] === 0xff ? bytes.subarray(1) : bytes)];

function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  return chunks;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function feed(parser: StreamParser, chunks: Uint8Array[]): Packet[] {
  return chunks.flatMap((c) => parser.push(c));
}

const poll = (sqn: 0 | 1 | 2 | 3, fields: Partial<PacketFields> = {}) => encodePacket({ address: 3, reply: false, sqn, code: Command.POLL, ...fields });
/** Noise that holds no SOM, so nothing in it can start a candidate. */
const arbNoise = fc.uint8Array({ maxLength: 20 }).map((b) => b.map((x) => (x === SOM ? 0x52 : x)));
/** Starts of packets that are not there: SOM, a plausible LEN, CRC mode, then whatever. */
const arbFalseStart = fc
  .tuple(fc.integer({ min: 8, max: 60 }), arbNoise)
  .map(([len, rest]) => Uint8Array.from([SOM, len, 0, 0x04, ...rest]));

describe('StreamParser', () => {
  it('finds every packet whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(fc.array(arbPacketFields, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 20 }), (fieldsList, cuts) => {
        const encoded = fieldsList.map((f) => encodePacket(f));
        const parser = new StreamParser();
        const got = feed(parser, chunked(concat(encoded), cuts));
        expect(raws(got)).toEqual(encoded.map(withoutMark));
        expect(parser.pending).toBe(false);
        expect(parser.stats).toMatchObject({ packets: encoded.length, resyncs: 0, badCrc: 0 });
      }),
    );
  });

  it('skips noise between packets and counts it', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(arbNoise, arbPacketFields), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 10 }), (items, cuts) => {
        const encoded = items.map(([, f]) => encodePacket(f));
        const stream = concat(items.flatMap(([noise], i) => [noise, encoded[i]!]));
        const parser = new StreamParser();
        expect(raws(feed(parser, chunked(stream, cuts)))).toEqual(encoded.map(withoutMark));
        const noiseBytes = items.reduce((n, [noise]) => n + noise.filter((b) => b !== 0xff).length, 0);
        expect(parser.stats.discardedBytes).toBe(noiseBytes);
      }),
    );
  });

  it('resyncs from the byte after a false SOM and still finds the packets behind it', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(arbFalseStart, arbPacketFields), { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 10 }), (items, cuts) => {
        const encoded = items.map(([, f]) => encodePacket(f));
        const stream = concat(items.flatMap(([noise], i) => [noise, encoded[i]!]));
        const parser = new StreamParser();
        const got = [...feed(parser, chunked(stream, cuts)), ...parser.expire()];
        expect(raws(got)).toEqual(encoded.map(withoutMark));
        expect(parser.stats.resyncs).toBeGreaterThanOrEqual(items.length);
        expect(parser.pending).toBe(false);
      }),
    );
  });

  it('tells whether a 0xFF mark came just before the packet', () => {
    const parser = new StreamParser();
    const got = [
      ...parser.push(poll(1)),
      ...parser.push(poll(2, { mark: false })),
      ...parser.push(Uint8Array.of(0xff, 0x00)),
      ...parser.push(poll(3, { mark: false })),
      ...parser.push(Uint8Array.of(0xff)),
      ...parser.push(poll(1, { mark: false })),
    ];
    expect(got.map((p) => p.mark)).toEqual([true, false, false, true]);
  });

  it('rejects a LEN above 1440 at once instead of waiting for it', () => {
    const parser = new StreamParser();
    const got = parser.push(concat([Uint8Array.of(SOM, 0x00, 0xff, 0xff, 0x04), poll(1)]));
    expect(got).toHaveLength(1);
    expect(parser.stats).toMatchObject({ oversize: 1, resyncs: 1, packets: 1 });
  });

  it('rejects a LEN below the smallest packet', () => {
    const parser = new StreamParser();
    const got = parser.push(concat([Uint8Array.of(SOM, 0x00, 0x07, 0x00, 0x04), poll(1)]));
    expect(got).toHaveLength(1);
    expect(parser.stats).toMatchObject({ undersize: 1, packets: 1 });
  });

  it('drops a corrupted packet, counts the bad CRC, and delivers the next one', () => {
    const bad = poll(1);
    bad[7] = bad[7]! ^ 0x40;
    const parser = new StreamParser();
    const got = parser.push(concat([bad, poll(2)]));
    expect(got.map((p) => p.sqn)).toEqual([2]);
    expect(parser.stats).toMatchObject({ badCrc: 1, packets: 1 });
  });

  it('recovers from a dropped byte: the short packet fails, the next one is found', () => {
    const short = poll(1, { data: Uint8Array.of(1, 2, 3, 4) });
    const truncated = concat([short.subarray(0, 8), short.subarray(9)]);
    const parser = new StreamParser();
    expect(parser.push(truncated)).toEqual([]);
    expect(parser.pending).toBe(true);
    const got = parser.push(poll(2));
    expect(got.map((p) => p.sqn)).toEqual([2]);
    expect(parser.stats.badCrc).toBe(1);
  });

  it('gives up a partial packet only when told the line went quiet', () => {
    const parser = new StreamParser();
    const big = poll(1, { data: new Uint8Array(200) });
    // A false SOM whose LEN is longer than the real packet that follows would hold it back for good.
    expect(parser.push(concat([Uint8Array.of(SOM, 0x00, 0x00, 0x01, 0x04, 0x60), poll(2)]))).toEqual([]);
    expect(parser.pending).toBe(true);
    const got = parser.expire();
    expect(got.map((p) => p.sqn)).toEqual([2]);
    expect(parser.stats.expired).toBe(1);
    expect(parser.pending).toBe(false);
    expect(parser.push(big.subarray(0, 100))).toEqual([]);
    expect(parser.expire()).toEqual([]);
    expect(parser.stats.expired).toBe(2);
  });

  it('reports each rejected candidate as a typed error', () => {
    const errors: PacketError[] = [];
    const parser = new StreamParser({ onError: (e) => errors.push(e) });
    const bad = poll(1);
    bad[6] = bad[6]! ^ 1;
    parser.push(concat([Uint8Array.of(SOM, 0, 0xff, 0xff, 4), bad]));
    expect(errors.map((e) => [e.code, e.field])).toEqual([
      ['length_out_of_range', 'LEN'],
      ['bad_crc', 'CRC'],
    ]);
  });

  it('takes a chunk far larger than its buffer', () => {
    const packets = Array.from({ length: 500 }, (_, i) => poll(((i % 3) + 1) as 1, { data: new Uint8Array(20).fill(i & 0xff) }));
    const parser = new StreamParser();
    expect(parser.push(concat(packets))).toHaveLength(500);
    expect(parser.push(poll(1))).toHaveLength(1);
  });
});
