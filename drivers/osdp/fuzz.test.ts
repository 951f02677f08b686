// A million inputs through the packet decoder and the stream parser: random bytes, and valid packets
// with bits flipped, truncated, extended, spliced together, bytes inserted and deleted. Nothing may
// throw or hang, every rejection must be a typed PacketError, and whatever is accepted must re-encode
// to exactly its own bytes (so the decoder accepts nothing it cannot represent). Seeded: a failure
// names its seed and replays.
import { describe, expect, it } from 'vitest';
import { decodePacket, encodePacket, type DecodeResult, type Packet, type PacketError, type PacketErrorCode } from './packet.ts';
import { StreamParser } from './stream-parser.ts';
import { randomPacketFields } from './testing/arbitraries.ts';
import { createRng, type Rng } from './testing/prng.ts';

const ERROR_CODES = new Set<PacketErrorCode>([
  'too_short',
  'bad_som',
  'length_out_of_range',
  'length_mismatch',
  'reserved_control_bits',
  'bad_crc',
  'bad_checksum',
  'bad_security_block',
  'missing_code',
  'missing_mac',
]);

function isTypedError(error: PacketError): boolean {
  return ERROR_CODES.has(error.code) && typeof error.message === 'string' && error.message.length > 0 && (error.field === null || typeof error.field === 'string');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The packet re-encoded: equal to what was decoded, mark byte and all. */
function reencodes(packet: Packet, input: Uint8Array): boolean {
  return sameBytes(encodePacket(packet), input);
}

function join(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function mutate(rng: Rng, bytes: Uint8Array, other: Uint8Array): Uint8Array {
  let out: Uint8Array = bytes.slice();
  const rounds = 1 + rng.int(2);
  for (let r = 0; r < rounds; r++) {
    switch (rng.int(9)) {
      case 0:
        for (let n = 1 + rng.int(3); n > 0 && out.length > 0; n--) {
          const at = rng.int(out.length);
          out[at] = out[at]! ^ (1 << rng.int(8));
        }
        break;
      case 1:
        out = out.slice(0, rng.int(out.length + 1));
        break;
      case 2:
        out = join(out, rng.bytes(1 + rng.int(16)));
        break;
      case 3:
        out = join(out.subarray(0, rng.int(out.length + 1)), other.subarray(rng.int(other.length + 1)));
        break;
      case 4:
        if (out.length > 0) {
          const at = rng.int(out.length);
          out = join(out.subarray(0, at), out.subarray(at + 1));
        }
        break;
      case 5: {
        const at = rng.int(out.length + 1);
        out = join(out.subarray(0, at), Uint8Array.of(rng.int(256)), out.subarray(at));
        break;
      }
      case 6: {
        const lenAt = (out[0] === 0xff ? 1 : 0) + 2;
        if (out.length > lenAt + 1) {
          out[lenAt] = rng.int(256);
          out[lenAt + 1] = rng.int(8);
        }
        break;
      }
      case 7:
        if (out.length > 0) out[rng.int(out.length)] = rng.int(256);
        break;
      default: {
        const ctrlAt = (out[0] === 0xff ? 1 : 0) + 4;
        if (out.length > ctrlAt) out[ctrlAt] = rng.int(256);
      }
    }
  }
  return out;
}

interface Tally {
  inputs: number;
  accepted: number;
  rejected: number;
}

/** Decodes one input and checks the contract; returns whether it was accepted. */
function checkDecode(input: Uint8Array, tally: Tally): void {
  let result: DecodeResult<Packet>;
  try {
    result = decodePacket(input);
  } catch (error) {
    throw new Error(`decodePacket threw on ${Buffer.from(input).toString('hex')}`, { cause: error });
  }
  tally.inputs++;
  if (result.ok) {
    tally.accepted++;
    if (!reencodes(result.value, input)) throw new Error(`accepted packet does not re-encode to its bytes: ${Buffer.from(input).toString('hex')}`);
  } else {
    tally.rejected++;
    if (!isTypedError(result.error)) throw new Error(`untyped decode error ${JSON.stringify(result.error)}`);
  }
}

function randomInput(rng: Rng): Uint8Array {
  const bytes = rng.bytes(rng.int(48));
  // A third start like a packet, so the checks past SOM and LEN get exercised too.
  if (bytes.length >= 5 && rng.next() < 0.33) {
    bytes[0] = 0x53;
    if (rng.next() < 0.5) {
      bytes[2] = bytes.length;
      bytes[3] = 0;
    }
  }
  return bytes;
}

const logs: string[] = [];

describe('fuzz: decodePacket and StreamParser on a million inputs', () => {
  it('decodes 300,000 random byte strings without a throw or an untyped error', () => {
    const started = performance.now();
    const rng = createRng(0x05d9_0001);
    const tally: Tally = { inputs: 0, accepted: 0, rejected: 0 };
    for (let i = 0; i < 300_000; i++) checkDecode(randomInput(rng), tally);
    expect(tally.inputs).toBe(300_000);
    expect(tally.rejected).toBeGreaterThan(299_000);
    logs.push(`random: ${tally.inputs} inputs, ${tally.accepted} accepted, ${Math.round(performance.now() - started)} ms`);
  });

  it('decodes 400,000 mutated packets without a throw or an untyped error', () => {
    const started = performance.now();
    const rng = createRng(0x05d9_0002);
    const tally: Tally = { inputs: 0, accepted: 0, rejected: 0 };
    let previous = encodePacket(randomPacketFields(rng));
    for (let i = 0; i < 400_000; i++) {
      const valid = encodePacket(randomPacketFields(rng));
      checkDecode(mutate(rng, valid, previous), tally);
      previous = valid;
    }
    expect(tally.inputs).toBe(400_000);
    // Mutations a CRC cannot see (truncating only the mark byte, say) leave valid packets; most must fail.
    expect(tally.rejected).toBeGreaterThan(300_000);
    logs.push(`mutated: ${tally.inputs} inputs, ${tally.accepted} still valid, ${Math.round(performance.now() - started)} ms`);
  });

  it('parses 300,000 mutated streams in random chunks without a throw, an untyped error or getting stuck', () => {
    const started = performance.now();
    const rng = createRng(0x05d9_0003);
    let errors = 0;
    let packets = 0;
    let bytes = 0;
    const probe = encodePacket({ address: 9, reply: true, sqn: 2, code: 0x40, mark: false });
    for (let i = 0; i < 300_000; i++) {
      const parser = new StreamParser({
        onError: (error) => {
          errors++;
          if (!isTypedError(error)) throw new Error(`untyped parser error ${JSON.stringify(error)}`);
        },
      });
      const parts: Uint8Array[] = [];
      for (let n = 1 + rng.int(3); n > 0; n--) {
        const valid = encodePacket(randomPacketFields(rng, 24));
        const roll = rng.next();
        parts.push(roll < 0.4 ? valid : roll < 0.8 ? mutate(rng, valid, parts[parts.length - 1] ?? valid) : rng.bytes(rng.int(24)));
      }
      const stream = join(...parts);
      bytes += stream.length;
      const found: Packet[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + rng.int(stream.length - at);
        found.push(...parser.push(stream.subarray(at, at + size)));
        at += size;
      }
      found.push(...parser.expire());
      packets += found.length;
      for (const p of found) if (!reencodes({ ...p, mark: false }, p.raw)) throw new Error(`stream ${i}: parser delivered a packet that does not re-encode`);
      if (parser.pending) throw new Error(`stream ${i}: bytes still pending after expire()`);
      const after = parser.push(probe);
      if (after.length !== 1 || !sameBytes(after[0]!.raw, probe)) throw new Error(`stream ${i}: parser wedged, a clean packet afterwards was not delivered`);
    }
    expect(packets).toBeGreaterThan(100_000);
    expect(errors).toBeGreaterThan(100_000);
    logs.push(`streams: 300000 streams, ${bytes} bytes, ${packets} packets, ${errors} rejected candidates, ${Math.round(performance.now() - started)} ms`);
    console.info(`OSDP fuzz\n  ${logs.join('\n  ')}`);
  });
});
