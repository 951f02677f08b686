// 120 000 inputs through the CCID decoders: random bytes, and valid messages with bits flipped,
// truncated, extended, bytes inserted and deleted, headers lying about their length. Nothing may throw
// anything but a CcidError with a code and a message, nothing may hang, and whatever is accepted must
// re-encode to exactly its own bytes (the decoders accept nothing they cannot represent). Seeded.
import { describe, expect, it } from 'vitest';
import { createRng } from '../osdp/testing/prng.ts';
import {
  CcidError,
  decodeCommand,
  decodeInterrupt,
  decodeReply,
  encodeCommand,
  encodeInterrupt,
  encodeReply,
  type CcidCommand,
  type CcidReply,
} from './messages.ts';

/** The shared seeded generator (mulberry32), as a bare function. */
const rng = (seed: number): (() => number) => createRng(seed).next;

const CODES = new Set(['too_short', 'length_mismatch', 'too_long', 'unknown_type', 'bad_field']);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function randomBytes(r: () => number, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

function validCommand(r: () => number): Uint8Array {
  const slot = Math.floor(r() * 256);
  const seq = Math.floor(r() * 256);
  const data = randomBytes(r, Math.floor(r() * 40));
  const cmds: CcidCommand[] = [
    { type: 'IccPowerOn', slot, seq, power: 'auto' },
    { type: 'IccPowerOff', slot, seq },
    { type: 'GetSlotStatus', slot, seq },
    { type: 'XfrBlock', slot, seq, bwi: 0, levelParameter: 0, data },
    { type: 'Escape', slot, seq, data },
  ];
  return encodeCommand(cmds[Math.floor(r() * cmds.length)]!);
}

function validReply(r: () => number): Uint8Array {
  const slot = 0;
  const seq = Math.floor(r() * 256);
  const status = { icc: 'active', command: 'ok' } as const;
  const data = randomBytes(r, Math.floor(r() * 40));
  const replies: CcidReply[] = [
    { type: 'DataBlock', slot, seq, status, error: 0x81, chainParameter: 0, data },
    { type: 'SlotStatus', slot, seq, status: { icc: 'absent', command: 'failed' }, error: 0xfe, clockStatus: 0 },
    { type: 'Escape', slot, seq, status, error: 0x81, data },
  ];
  return encodeReply(replies[Math.floor(r() * replies.length)]!);
}

function mutate(r: () => number, input: Uint8Array): Uint8Array {
  const bytes = Array.from(input);
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const op = Math.floor(r() * 6);
    const at = Math.floor(r() * (bytes.length + 1));
    if (op === 0 && bytes.length > 0) bytes[at % bytes.length]! ^= 1 << Math.floor(r() * 8);
    else if (op === 1) bytes.length = Math.floor(r() * bytes.length);
    else if (op === 2) bytes.push(...randomBytes(r, 1 + Math.floor(r() * 8)));
    else if (op === 3) bytes.splice(at, 0, Math.floor(r() * 256));
    else if (op === 4 && bytes.length > 0) bytes.splice(at % bytes.length, 1);
    else if (op === 5 && bytes.length >= 5) bytes[1 + Math.floor(r() * 4)] = Math.floor(r() * 256);
  }
  return Uint8Array.from(bytes);
}

type Outcome = 'accepted' | 'rejected';

function run(decode: (b: Uint8Array) => unknown, encode: (m: never) => Uint8Array, input: Uint8Array, seed: number): Outcome {
  try {
    const msg = decode(input);
    if (!sameBytes(encode(msg as never), input)) throw new Error(`seed ${seed}: accepted input does not re-encode to itself`);
    return 'accepted';
  } catch (e) {
    if (!(e instanceof CcidError) || !CODES.has(e.code) || e.message.length === 0) {
      throw new Error(`seed ${seed}: decoder threw something other than a clear CcidError: ${String(e)}`, { cause: e });
    }
    return 'rejected';
  }
}

describe('CCID decoder fuzz', () => {
  it('survives 120 000 random and mutated messages with only clear errors', () => {
    const counts = { accepted: 0, rejected: 0 };
    const started = Date.now();
    for (let seed = 1; seed <= 40_000; seed++) {
      const r = rng(seed);
      const kind = seed % 4;
      const input =
        kind === 0 ? randomBytes(r, Math.floor(r() * 64)) : kind === 1 ? mutate(r, validCommand(r)) : kind === 2 ? mutate(r, validReply(r)) : mutate(r, validReply(r));
      counts[run(decodeCommand, encodeCommand, input, seed)]++;
      counts[run((b) => decodeReply(b), encodeReply, input, seed)]++;
      const interrupt = kind === 0 ? input.subarray(0, 1 + Math.floor(r() * 5)) : mutate(r, Uint8Array.of(0x50, seed & 3));
      counts[run((b) => decodeInterrupt(b), encodeInterrupt, interrupt, seed)]++;
    }
    expect(counts.accepted + counts.rejected).toBe(120_000);
    // Both branches are exercised, not just one.
    expect(counts.accepted).toBeGreaterThan(2_000);
    expect(counts.rejected).toBeGreaterThan(50_000);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('rejects a header that promises 4 GB without allocating or waiting for it', () => {
    const lying = Uint8Array.of(0x80, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0);
    expect(() => decodeReply(lying)).toThrow(/dwLength 4294967295 is over the maximum/);
    expect(() => decodeCommand(lying)).toThrow(CcidError);
  });
});
