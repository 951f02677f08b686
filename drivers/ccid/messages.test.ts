import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CcidError,
  decodeCommand,
  decodeInterrupt,
  decodeReply,
  decodeStatus,
  describeSlotError,
  encodeCommand,
  encodeInterrupt,
  encodeReply,
  encodeStatus,
  replyTypeFor,
  type CcidCommand,
  type CcidReply,
  type SlotState,
} from './messages.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/), (b) => parseInt(b, 16));

function errorOf(f: () => unknown): CcidError {
  try {
    f();
  } catch (e) {
    if (e instanceof CcidError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

const byte = fc.integer({ min: 0, max: 255 });
const data = fc.uint8Array({ maxLength: 261 });
const slotState: fc.Arbitrary<SlotState> = fc.record({
  icc: fc.constantFrom('active', 'inactive', 'absent'),
  command: fc.constantFrom('ok', 'failed', 'time-extension'),
});
const command: fc.Arbitrary<CcidCommand> = fc.oneof(
  fc.record({ type: fc.constant('IccPowerOn' as const), slot: byte, seq: byte, power: fc.constantFrom('auto', '5V', '3V', '1.8V') }),
  fc.record({ type: fc.constant('IccPowerOff' as const), slot: byte, seq: byte }),
  fc.record({ type: fc.constant('GetSlotStatus' as const), slot: byte, seq: byte }),
  fc.record({ type: fc.constant('XfrBlock' as const), slot: byte, seq: byte, bwi: byte, levelParameter: fc.integer({ min: 0, max: 0xffff }), data }),
  fc.record({ type: fc.constant('Escape' as const), slot: byte, seq: byte, data }),
);
const reply: fc.Arbitrary<CcidReply> = fc.oneof(
  fc.record({ type: fc.constant('DataBlock' as const), slot: byte, seq: byte, status: slotState, error: byte, chainParameter: byte, data }),
  fc.record({ type: fc.constant('SlotStatus' as const), slot: byte, seq: byte, status: slotState, error: byte, clockStatus: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ type: fc.constant('Escape' as const), slot: byte, seq: byte, status: slotState, error: byte, data }),
);

describe('CCID commands', () => {
  it('encodes the trace bytes of the ACR122U worked exchange', () => {
    expect(encodeCommand({ type: 'IccPowerOn', slot: 0, seq: 1, power: 'auto' })).toEqual(hex('62 00 00 00 00 00 01 00 00 00'));
    expect(encodeCommand({ type: 'XfrBlock', slot: 0, seq: 2, bwi: 0, levelParameter: 0, data: hex('FF CA 00 00 00') })).toEqual(
      hex('6F 05 00 00 00 00 02 00 00 00 FF CA 00 00 00'),
    );
    expect(encodeCommand({ type: 'Escape', slot: 0, seq: 0x0a, data: hex('ff 00 00 00 02 d4 02') })).toEqual(
      hex('6b 07 00 00 00 00 0a 00 00 00 ff 00 00 00 02 d4 02'),
    );
    expect(encodeCommand({ type: 'IccPowerOff', slot: 0, seq: 3 })).toEqual(hex('63 00 00 00 00 00 03 00 00 00'));
    expect(encodeCommand({ type: 'GetSlotStatus', slot: 0, seq: 4 })).toEqual(hex('65 00 00 00 00 00 04 00 00 00'));
  });

  it('puts bBWI and wLevelParameter (LE) in bytes 7-9 of XfrBlock', () => {
    expect(encodeCommand({ type: 'XfrBlock', slot: 1, seq: 2, bwi: 4, levelParameter: 0x1234, data: new Uint8Array(0) })).toEqual(
      hex('6F 00 00 00 00 01 02 04 34 12'),
    );
  });

  it('round-trips every command', () => {
    fc.assert(fc.property(command, (cmd) => {
        expect(decodeCommand(encodeCommand(cmd))).toEqual(cmd);
      }));
  });

  it('refuses fields that are not bytes', () => {
    expect(errorOf(() => encodeCommand({ type: 'GetSlotStatus', slot: 0, seq: 256 })).code).toBe('bad_field');
    expect(errorOf(() => encodeCommand({ type: 'IccPowerOff', slot: -1, seq: 0 })).code).toBe('bad_field');
    expect(errorOf(() => encodeCommand({ type: 'XfrBlock', slot: 0, seq: 0, bwi: 0, levelParameter: 0x10000, data: new Uint8Array(0) })).code).toBe('bad_field');
  });

  it('decodes strictly: header, length, type, reserved bytes', () => {
    expect(errorOf(() => decodeCommand(hex('62 00 00 00 00 00 01 00 00'))).code).toBe('too_short');
    expect(errorOf(() => decodeCommand(hex('6F 02 00 00 00 00 01 00 00 00 FF'))).code).toBe('length_mismatch');
    expect(errorOf(() => decodeCommand(hex('62 01 00 00 00 00 01 00 00 00 FF'))).code).toBe('length_mismatch');
    expect(errorOf(() => decodeCommand(hex('62 00 00 00 00 00 01 04 00 00'))).code).toBe('bad_field');
    expect(errorOf(() => decodeCommand(hex('63 00 00 00 00 00 01 00 01 00'))).code).toBe('bad_field');
    expect(errorOf(() => decodeCommand(hex('6C 00 00 00 00 00 01 00 00 00'))).code).toBe('unknown_type');
    expect(errorOf(() => decodeCommand(hex('6F FF FF FF FF 00 01 00 00 00'))).code).toBe('too_long');
  });
});

describe('CCID replies', () => {
  it('decodes the ACR122U trace with bError 0x81 in a successful reply', () => {
    const r = decodeReply(hex('80 08 00 00 00 00 00 00 81 00 d5 03 32 01 04 07 90 00'));
    expect(r).toMatchObject({ type: 'DataBlock', slot: 0, seq: 0, status: { icc: 'active', command: 'ok' }, error: 0x81, chainParameter: 0 });
    expect(r.type === 'DataBlock' && r.data).toEqual(hex('d5 03 32 01 04 07 90 00'));
    const e = decodeReply(hex('83 08 00 00 00 00 0a 02 81 00 d5 03 32 01 04 07 90 00'));
    expect(e).toMatchObject({ type: 'Escape', seq: 0x0a, status: { icc: 'absent', command: 'ok' }, error: 0x81 });
  });

  it('decodes a failed power-on without a card (bStatus 0x42, bError 0xFE)', () => {
    const r = decodeReply(hex('81 00 00 00 00 00 01 42 FE 00'));
    expect(r).toEqual({ type: 'SlotStatus', slot: 0, seq: 1, status: { icc: 'absent', command: 'failed' }, error: 0xfe, clockStatus: 0 });
    expect(describeSlotError(0xfe)).toMatch(/no card/);
  });

  it('round-trips every reply', () => {
    fc.assert(fc.property(reply, (r) => {
        expect(decodeReply(encodeReply(r), 65554)).toEqual(r);
      }));
  });

  it('decodes every legal bStatus and refuses the reserved ones', () => {
    for (let b = 0; b < 256; b++) {
      const legal = (b & 0x3c) === 0 && (b & 3) !== 3 && b >> 6 !== 3;
      if (legal) expect(encodeStatus(decodeStatus(b))).toBe(b);
      else expect(errorOf(() => decodeStatus(b)).code).toBe('bad_field');
    }
    expect(decodeStatus(0x00)).toEqual({ icc: 'active', command: 'ok' });
    expect(decodeStatus(0x01)).toEqual({ icc: 'inactive', command: 'ok' });
    expect(decodeStatus(0x02)).toEqual({ icc: 'absent', command: 'ok' });
    expect(decodeStatus(0x40)).toEqual({ icc: 'active', command: 'failed' });
    expect(decodeStatus(0x80)).toEqual({ icc: 'active', command: 'time-extension' });
  });

  it('describes every CCID slot error', () => {
    for (const [b, text] of [
      [0xff, /aborted/],
      [0xfe, /no card/],
      [0xfd, /parity/],
      [0xfc, /overrun/],
      [0xfb, /hardware/],
      [0xf8, /ATR/],
      [0xf7, /ATR checksum/],
      [0xf6, /protocol/],
      [0xf5, /class/],
      [0xf4, /procedure/],
      [0xf3, /deactivated/],
      [0xf2, /busy/],
      [0xf0, /PIN/],
      [0xef, /PIN/],
      [0xe0, /slot busy/],
      [0x00, /not supported/],
      [0x01, /length/],
      [0x05, /invalid slot/],
      [0x07, /byte 7/],
      [0x90, /0x90/],
    ] as const) {
      expect(describeSlotError(b)).toMatch(text);
    }
  });

  it('rejects a reply longer than the reader may send, and bad fixed fields', () => {
    expect(errorOf(() => decodeReply(new Uint8Array(10 + 262).fill(0, 0).map((v, i) => (i === 0 ? 0x80 : i === 1 ? 6 : i === 2 ? 1 : v)))).code).toBe('too_long');
    expect(errorOf(() => decodeReply(hex('81 01 00 00 00 00 01 00 00 00 00'))).code).toBe('length_mismatch');
    expect(errorOf(() => decodeReply(hex('81 00 00 00 00 00 01 00 00 04'))).code).toBe('bad_field');
    expect(errorOf(() => decodeReply(hex('83 00 00 00 00 00 01 00 00 01'))).code).toBe('bad_field');
    expect(errorOf(() => decodeReply(hex('82 00 00 00 00 00 01 00 00 00'))).code).toBe('unknown_type');
    expect(errorOf(() => decodeReply(hex('80 00 00 00 00 00 01 04 00 00'))).code).toBe('bad_field');
  });

  it('maps each command to the reply type that answers it', () => {
    expect(replyTypeFor('IccPowerOn')).toBe('DataBlock');
    expect(replyTypeFor('XfrBlock')).toBe('DataBlock');
    expect(replyTypeFor('IccPowerOff')).toBe('SlotStatus');
    expect(replyTypeFor('GetSlotStatus')).toBe('SlotStatus');
    expect(replyTypeFor('Escape')).toBe('Escape');
  });
});

describe('CCID interrupt messages', () => {
  it('decodes 50 03 (card placed) and 50 02 (card removed)', () => {
    expect(decodeInterrupt(hex('50 03'))).toEqual({ type: 'NotifySlotChange', slots: [{ slot: 0, present: true, changed: true }] });
    expect(decodeInterrupt(hex('50 02'))).toEqual({ type: 'NotifySlotChange', slots: [{ slot: 0, present: false, changed: true }] });
    expect(encodeInterrupt({ type: 'NotifySlotChange', slots: [{ slot: 0, present: true, changed: true }] })).toEqual(hex('50 03'));
  });

  it('checks the length against the slot count and refuses bits for missing slots', () => {
    expect(errorOf(() => decodeInterrupt(hex('50'))).code).toBe('too_short');
    expect(errorOf(() => decodeInterrupt(hex('50 03 00'))).code).toBe('length_mismatch');
    expect(errorOf(() => decodeInterrupt(hex('50 0C'))).code).toBe('bad_field');
    expect(decodeInterrupt(hex('50 0C'), 2).type).toBe('NotifySlotChange');
    expect(decodeInterrupt(hex('50 00 03'), 5)).toMatchObject({ slots: [{}, {}, {}, {}, { slot: 4, present: true, changed: true }] });
  });

  it('decodes a hardware error and refuses unknown types', () => {
    expect(decodeInterrupt(hex('51 00 07 01'))).toEqual({ type: 'HardwareError', slot: 0, seq: 7, code: 1 });
    expect(errorOf(() => decodeInterrupt(hex('51 00 07'))).code).toBe('too_short');
    expect(errorOf(() => decodeInterrupt(hex('51 00 07 01 00'))).code).toBe('length_mismatch');
    expect(errorOf(() => decodeInterrupt(new Uint8Array(0))).code).toBe('too_short');
    expect(errorOf(() => decodeInterrupt(hex('52 00'))).code).toBe('unknown_type');
  });

  it('round-trips NotifySlotChange for 1-8 slots', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 8 }), (bits) => {
        const slots = bits.map(([present, changed], slot) => ({ slot, present, changed }));
        expect(decodeInterrupt(encodeInterrupt({ type: 'NotifySlotChange', slots }), slots.length)).toEqual({ type: 'NotifySlotChange', slots });
      }),
    );
  });
});
