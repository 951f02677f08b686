// Round trips of every MFG message, and the two framing properties that make the decoders strict:
// every strict prefix of a valid message is `truncated`, every extension is `trailing_bytes`.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMANDS, PROTOCOL_VERSION, REPLIES, VENDOR_CODE, type CommandType, type ReplyType } from './codes.ts';
import { decodeCommand, decodeReply, encodeCommand, encodeReply } from './mfg.ts';
import { commandArbitraries, replyArbitraries } from './testing/arbitraries.ts';
import type { DecodeResult } from './wire.ts';

const RUNS = 150;

function expectPrefixesAndExtensions<T>(bytes: Uint8Array, decode: (b: Uint8Array) => DecodeResult<T>, extra: Uint8Array): void {
  // Every prefix of short messages; for long ones (an events page), 200 spread over the whole length.
  const step = Math.max(1, Math.floor(bytes.length / 200));
  for (let n = 0; n < bytes.length; n += n < 16 || n > bytes.length - 16 ? 1 : step) {
    const r = decode(bytes.subarray(0, n));
    expect(r.ok, `prefix of ${n}/${bytes.length} bytes was accepted`).toBe(false);
    if (!r.ok) expect(r.error.code, r.error.message).toBe('truncated');
  }
  const longer = new Uint8Array(bytes.length + extra.length);
  longer.set(bytes);
  longer.set(extra, bytes.length);
  const r = decode(longer);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.error.code).toBe('trailing_bytes');
}

describe('MFG commands', () => {
  for (const type of COMMANDS.names) {
    it(`${type}: decode(encode(v)) = v, with the header in front`, () => {
      fc.assert(
        fc.property(commandArbitraries[type as CommandType], (v) => {
          const bytes = encodeCommand(v);
          expect(Array.from(bytes.subarray(0, 5))).toEqual([...VENDOR_CODE, PROTOCOL_VERSION, COMMANDS.byName.get(type)]);
          const r = decodeCommand(bytes);
          if (!r.ok) throw new Error(`${type} rejected its own encoding: ${r.error.message}`);
          expect(r.value).toEqual(v);
          expect(encodeCommand(r.value)).toEqual(bytes);
        }),
        { numRuns: RUNS },
      );
    });

    it(`${type}: every prefix is truncated, every extension has trailing bytes`, () => {
      fc.assert(
        fc.property(commandArbitraries[type as CommandType], fc.uint8Array({ minLength: 1, maxLength: 8 }), (v, extra) => {
          expectPrefixesAndExtensions(encodeCommand(v), decodeCommand, extra);
        }),
        { numRuns: 20 },
      );
    });
  }
});

describe('MFGREP replies', () => {
  for (const type of REPLIES.names) {
    it(`${type}: decode(encode(v)) = v, with the header in front`, () => {
      fc.assert(
        fc.property(replyArbitraries[type as ReplyType], (v) => {
          const bytes = encodeReply(v);
          const version = v.type === 'error' ? v.version : PROTOCOL_VERSION;
          expect(Array.from(bytes.subarray(0, 5))).toEqual([...VENDOR_CODE, version, REPLIES.byName.get(type)]);
          const r = decodeReply(bytes);
          if (!r.ok) throw new Error(`${type} rejected its own encoding: ${r.error.message}`);
          expect(r.value).toEqual(v);
          expect(encodeReply(r.value)).toEqual(bytes);
        }),
        { numRuns: RUNS },
      );
    });

    it(`${type}: every prefix is truncated, every extension has trailing bytes`, () => {
      fc.assert(
        fc.property(replyArbitraries[type as ReplyType], fc.uint8Array({ minLength: 1, maxLength: 8 }), (v, extra) => {
          expectPrefixesAndExtensions(encodeReply(v), decodeReply, extra);
        }),
        { numRuns: 20 },
      );
    });
  }
});
