// USB CCID (Rev 1.1) bulk and interrupt messages: the subset a desk card encoder such as the ACR122U
// needs. Every bulk message starts with the same 10-byte header:
//
//   0 bMessageType | 1..4 dwLength (LE32, bytes after the header) | 5 bSlot | 6 bSeq | 7..9 per type
//
// Replies carry bStatus (byte 7: bits 0-1 ICC status, bits 6-7 command status) and bError (byte 8).
// bError means something only when the command-failed bit (0x40) is set: the ACR122U puts 0x81 there
// in successful replies. Decoders are strict (exact length, known type, reserved bits clear where the
// spec requires it) and throw a CcidError naming what was wrong; they never read past the input.
// This module is pure: encode/decode only. reader.ts checks a reply against the command it answers.

export const CCID_HEADER_SIZE = 10;
/** The ACR122U's dwMaxCCIDMessageLength: header plus 261 bytes of data. */
export const ACR122U_MAX_MESSAGE_LENGTH = 271;
/** Ceiling on dwLength this codec accepts at all (the CCID spec allows at most 65 544 bytes of data per message). */
export const CCID_MAX_DATA_LENGTH = 65544;

export const PC_TO_RDR = {
  IccPowerOn: 0x62,
  IccPowerOff: 0x63,
  GetSlotStatus: 0x65,
  Escape: 0x6b,
  XfrBlock: 0x6f,
} as const;

export const RDR_TO_PC = {
  DataBlock: 0x80,
  SlotStatus: 0x81,
  Escape: 0x83,
} as const;

export const RDR_TO_PC_INTERRUPT = {
  NotifySlotChange: 0x50,
  HardwareError: 0x51,
} as const;

/** bPowerSelect of PC_to_RDR_IccPowerOn. */
export type PowerSelect = 'auto' | '5V' | '3V' | '1.8V';
const POWER_SELECT: Record<PowerSelect, number> = { auto: 0, '5V': 1, '3V': 2, '1.8V': 3 };
const POWER_SELECT_BY_BYTE: readonly PowerSelect[] = ['auto', '5V', '3V', '1.8V'];

export type CcidCommand =
  | { readonly type: 'IccPowerOn'; readonly slot: number; readonly seq: number; readonly power: PowerSelect }
  | { readonly type: 'IccPowerOff'; readonly slot: number; readonly seq: number }
  | { readonly type: 'GetSlotStatus'; readonly slot: number; readonly seq: number }
  | {
      readonly type: 'XfrBlock';
      readonly slot: number;
      readonly seq: number;
      /** Block waiting integer extension (T=1); 0 for the ACR122U. */
      readonly bwi: number;
      /** wLevelParameter: 0 at short-APDU level. */
      readonly levelParameter: number;
      readonly data: Uint8Array;
    }
  | { readonly type: 'Escape'; readonly slot: number; readonly seq: number; readonly data: Uint8Array };

export type CcidCommandType = CcidCommand['type'];

/** bmICCStatus, bits 0-1 of bStatus. */
export type IccStatus = 'active' | 'inactive' | 'absent';
/** bmCommandStatus, bits 6-7 of bStatus. */
export type CommandStatus = 'ok' | 'failed' | 'time-extension';

export interface SlotState {
  readonly icc: IccStatus;
  readonly command: CommandStatus;
}

export type CcidReply =
  | {
      readonly type: 'DataBlock';
      readonly slot: number;
      readonly seq: number;
      readonly status: SlotState;
      /** The raw bError byte; meaningful only when status.command is 'failed' (or, for a time extension, the BWT multiplier). */
      readonly error: number;
      readonly chainParameter: number;
      readonly data: Uint8Array;
    }
  | {
      readonly type: 'SlotStatus';
      readonly slot: number;
      readonly seq: number;
      readonly status: SlotState;
      readonly error: number;
      /** bClockStatus: 0 running, 1 stopped low, 2 stopped high, 3 stopped unknown. */
      readonly clockStatus: number;
    }
  | {
      readonly type: 'Escape';
      readonly slot: number;
      readonly seq: number;
      readonly status: SlotState;
      readonly error: number;
      readonly data: Uint8Array;
    };

export type CcidReplyType = CcidReply['type'];

export interface SlotChange {
  readonly slot: number;
  readonly present: boolean;
  readonly changed: boolean;
}

export type CcidInterruptMessage =
  | { readonly type: 'NotifySlotChange'; readonly slots: readonly SlotChange[] }
  | { readonly type: 'HardwareError'; readonly slot: number; readonly seq: number; readonly code: number };

export type CcidErrorCode =
  /** Fewer bytes than the header or the message's fixed size. */
  | 'too_short'
  /** dwLength does not match the bytes received (or a fixed-size message is not its size). */
  | 'length_mismatch'
  /** dwLength is over the reader's maximum message length. */
  | 'too_long'
  /** A message type this codec does not know or does not expect here. */
  | 'unknown_type'
  /** A field is out of range or a reserved bit is set. */
  | 'bad_field'
  /** The reply is for another slot. */
  | 'wrong_slot'
  /** The reply carries another bSeq than the command (a stale or duplicate reply). */
  | 'wrong_sequence'
  /** The reply's type is not the one that answers the command. */
  | 'wrong_reply_type'
  /** The reader set the command-failed bit; `slotError` says why. */
  | 'command_failed'
  /** No reply in time, after every retry. */
  | 'timeout'
  /** The reader asked for more time more often than allowed. */
  | 'too_many_time_extensions'
  /** The USB transfer failed (stall, babble, unplug). */
  | 'transfer_failed';

export class CcidError extends Error {
  override readonly name = 'CcidError';

  constructor(
    readonly code: CcidErrorCode,
    message: string,
    readonly details: { slotError?: number; status?: SlotState; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  /** bError of a failed command, if that is what this is. */
  get slotError(): number | undefined {
    return this.details.slotError;
  }
}

// ---- status and error bytes -------------------------------------------------------------------

export function decodeStatus(bStatus: number): SlotState {
  if ((bStatus & 0x3c) !== 0) throw new CcidError('bad_field', `bStatus 0x${hex2(bStatus)} has reserved bits 2-5 set`);
  const iccBits = bStatus & 0x03;
  const cmdBits = (bStatus >> 6) & 0x03;
  if (iccBits === 3) throw new CcidError('bad_field', `bStatus 0x${hex2(bStatus)}: bmICCStatus 3 is reserved`);
  if (cmdBits === 3) throw new CcidError('bad_field', `bStatus 0x${hex2(bStatus)}: bmCommandStatus 3 is reserved`);
  const icc: IccStatus = iccBits === 0 ? 'active' : iccBits === 1 ? 'inactive' : 'absent';
  const command: CommandStatus = cmdBits === 0 ? 'ok' : cmdBits === 1 ? 'failed' : 'time-extension';
  return { icc, command };
}

export function encodeStatus(status: SlotState): number {
  const icc = status.icc === 'active' ? 0 : status.icc === 'inactive' ? 1 : 2;
  const cmd = status.command === 'ok' ? 0 : status.command === 'failed' ? 1 : 2;
  return icc | (cmd << 6);
}

/** Slot error codes of CCID Rev 1.1 §6.2.6 (bError when bmCommandStatus is 'failed'). */
export const SLOT_ERRORS: Readonly<Record<number, string>> = {
  0xff: 'command aborted by the host (CMD_ABORTED)',
  0xfe: 'no card, or the card does not answer (ICC_MUTE)',
  0xfd: 'parity error talking to the card (XFR_PARITY_ERROR)',
  0xfc: 'overrun talking to the card (XFR_OVERRUN)',
  0xfb: 'reader hardware error (HW_ERROR)',
  0xf8: 'bad ATR first byte (BAD_ATR_TS)',
  0xf7: 'bad ATR checksum (BAD_ATR_TCK)',
  0xf6: 'protocol not supported (ICC_PROTOCOL_NOT_SUPPORTED)',
  0xf5: 'card class not supported (ICC_CLASS_NOT_SUPPORTED)',
  0xf4: 'procedure byte conflict (PROCEDURE_BYTE_CONFLICT)',
  0xf3: 'protocol deactivated (DEACTIVATED_PROTOCOL)',
  0xf2: 'reader busy with an automatic sequence (BUSY_WITH_AUTO_SEQUENCE)',
  0xf0: 'PIN entry timed out (PIN_TIMEOUT)',
  0xef: 'PIN entry cancelled (PIN_CANCELLED)',
  0xe0: 'slot busy with another command (CMD_SLOT_BUSY)',
  0x00: 'command not supported by the reader',
};

export function describeSlotError(bError: number): string {
  const known = SLOT_ERRORS[bError];
  if (known !== undefined) return known;
  if (bError >= 0x01 && bError <= 0x7f) {
    if (bError === 0x05) return 'invalid slot (byte 5 of the command)';
    if (bError === 0x01) return 'bad message length (byte 1 of the command)';
    return `the reader rejected byte ${bError} of the command`;
  }
  return `reader error 0x${hex2(bError)}`;
}

// ---- commands (PC → reader, bulk OUT) ---------------------------------------------------------

export function encodeCommand(cmd: CcidCommand): Uint8Array<ArrayBuffer> {
  checkByte('bSlot', cmd.slot);
  checkByte('bSeq', cmd.seq);
  const data = cmd.type === 'XfrBlock' || cmd.type === 'Escape' ? cmd.data : new Uint8Array(0);
  if (data.length > CCID_MAX_DATA_LENGTH) throw new CcidError('too_long', `${cmd.type} data of ${data.length} bytes is over the CCID maximum`);
  const out = new Uint8Array(CCID_HEADER_SIZE + data.length);
  out[0] = PC_TO_RDR[cmd.type];
  writeLe32(out, 1, data.length);
  out[5] = cmd.slot;
  out[6] = cmd.seq;
  switch (cmd.type) {
    case 'IccPowerOn':
      out[7] = POWER_SELECT[cmd.power];
      break;
    case 'XfrBlock':
      checkByte('bBWI', cmd.bwi);
      if (!Number.isInteger(cmd.levelParameter) || cmd.levelParameter < 0 || cmd.levelParameter > 0xffff) {
        throw new CcidError('bad_field', `wLevelParameter ${cmd.levelParameter} is not a 16-bit value`);
      }
      out[7] = cmd.bwi;
      out[8] = cmd.levelParameter & 0xff;
      out[9] = cmd.levelParameter >> 8;
      break;
    default:
      break;
  }
  out.set(data, CCID_HEADER_SIZE);
  return out;
}

/** Parses a whole bulk-OUT message (what a reader, e.g. the simulator, receives). */
export function decodeCommand(bytes: Uint8Array, maxMessageLength = CCID_HEADER_SIZE + CCID_MAX_DATA_LENGTH): CcidCommand {
  const { type, length, slot, seq } = readHeader(bytes, maxMessageLength);
  const data = bytes.slice(CCID_HEADER_SIZE);
  const b7 = bytes[7]!;
  const b8 = bytes[8]!;
  const b9 = bytes[9]!;
  const noData = (name: string): void => {
    if (length !== 0) throw new CcidError('length_mismatch', `${name} carries no data but dwLength is ${length}`);
  };
  const rfu = (name: string, from: number): void => {
    for (let i = from; i <= 9; i++) {
      if (bytes[i] !== 0) throw new CcidError('bad_field', `${name}: reserved byte ${i} is 0x${hex2(bytes[i]!)}, not 0`);
    }
  };
  switch (type) {
    case PC_TO_RDR.IccPowerOn: {
      noData('PC_to_RDR_IccPowerOn');
      const power = POWER_SELECT_BY_BYTE[b7];
      if (power === undefined) throw new CcidError('bad_field', `PC_to_RDR_IccPowerOn: bPowerSelect 0x${hex2(b7)} is not 0-3`);
      rfu('PC_to_RDR_IccPowerOn', 8);
      return { type: 'IccPowerOn', slot, seq, power };
    }
    case PC_TO_RDR.IccPowerOff:
      noData('PC_to_RDR_IccPowerOff');
      rfu('PC_to_RDR_IccPowerOff', 7);
      return { type: 'IccPowerOff', slot, seq };
    case PC_TO_RDR.GetSlotStatus:
      noData('PC_to_RDR_GetSlotStatus');
      rfu('PC_to_RDR_GetSlotStatus', 7);
      return { type: 'GetSlotStatus', slot, seq };
    case PC_TO_RDR.XfrBlock:
      return { type: 'XfrBlock', slot, seq, bwi: b7, levelParameter: b8 | (b9 << 8), data };
    case PC_TO_RDR.Escape:
      rfu('PC_to_RDR_Escape', 7);
      return { type: 'Escape', slot, seq, data };
    default:
      throw new CcidError('unknown_type', `unknown or unsupported CCID command type 0x${hex2(type)}`);
  }
}

// ---- replies (reader → PC, bulk IN) ------------------------------------------------------------

export function encodeReply(reply: CcidReply): Uint8Array<ArrayBuffer> {
  checkByte('bSlot', reply.slot);
  checkByte('bSeq', reply.seq);
  checkByte('bError', reply.error);
  const data = reply.type === 'SlotStatus' ? new Uint8Array(0) : reply.data;
  if (data.length > CCID_MAX_DATA_LENGTH) throw new CcidError('too_long', `${reply.type} data of ${data.length} bytes is over the CCID maximum`);
  const out = new Uint8Array(CCID_HEADER_SIZE + data.length);
  out[0] = RDR_TO_PC[reply.type];
  writeLe32(out, 1, data.length);
  out[5] = reply.slot;
  out[6] = reply.seq;
  out[7] = encodeStatus(reply.status);
  out[8] = reply.error;
  if (reply.type === 'DataBlock') {
    checkByte('bChainParameter', reply.chainParameter);
    out[9] = reply.chainParameter;
  } else if (reply.type === 'SlotStatus') {
    if (!Number.isInteger(reply.clockStatus) || reply.clockStatus < 0 || reply.clockStatus > 3) {
      throw new CcidError('bad_field', `bClockStatus ${reply.clockStatus} is not 0-3`);
    }
    out[9] = reply.clockStatus;
  }
  out.set(data, CCID_HEADER_SIZE);
  return out;
}

/** Parses a whole bulk-IN message. Does not judge the status: see checkReply in reader.ts. */
export function decodeReply(bytes: Uint8Array, maxMessageLength = ACR122U_MAX_MESSAGE_LENGTH): CcidReply {
  const { type, length, slot, seq } = readHeader(bytes, maxMessageLength);
  const status = decodeStatus(bytes[7]!);
  const error = bytes[8]!;
  const b9 = bytes[9]!;
  const data = bytes.slice(CCID_HEADER_SIZE);
  switch (type) {
    case RDR_TO_PC.DataBlock:
      return { type: 'DataBlock', slot, seq, status, error, chainParameter: b9, data };
    case RDR_TO_PC.SlotStatus:
      if (length !== 0) throw new CcidError('length_mismatch', `RDR_to_PC_SlotStatus carries no data but dwLength is ${length}`);
      if (b9 > 3) throw new CcidError('bad_field', `RDR_to_PC_SlotStatus: bClockStatus 0x${hex2(b9)} is not 0-3`);
      return { type: 'SlotStatus', slot, seq, status, error, clockStatus: b9 };
    case RDR_TO_PC.Escape:
      if (b9 !== 0) throw new CcidError('bad_field', `RDR_to_PC_Escape: reserved byte 9 is 0x${hex2(b9)}, not 0`);
      return { type: 'Escape', slot, seq, status, error, data };
    default:
      throw new CcidError('unknown_type', `unknown or unsupported CCID reply type 0x${hex2(type)}`);
  }
}

/** The reply type that answers a command (CCID Rev 1.1 table 6.2-1). */
export function replyTypeFor(command: CcidCommandType): CcidReplyType {
  switch (command) {
    case 'IccPowerOn':
    case 'XfrBlock':
      return 'DataBlock';
    case 'IccPowerOff':
    case 'GetSlotStatus':
      return 'SlotStatus';
    case 'Escape':
      return 'Escape';
  }
}

// ---- interrupt IN ------------------------------------------------------------------------------

/** Slot count of a NotifySlotChange message for a reader with `slotCount` slots: 1 + ceil(2·slots / 8) bytes. */
export function notifySlotChangeLength(slotCount: number): number {
  return 1 + Math.ceil((slotCount * 2) / 8);
}

export function encodeInterrupt(message: CcidInterruptMessage): Uint8Array<ArrayBuffer> {
  if (message.type === 'HardwareError') {
    checkByte('bSlot', message.slot);
    checkByte('bSeq', message.seq);
    checkByte('bHardwareErrorCode', message.code);
    return Uint8Array.of(RDR_TO_PC_INTERRUPT.HardwareError, message.slot, message.seq, message.code);
  }
  const slotCount = Math.max(1, ...message.slots.map((s) => s.slot + 1));
  const out = new Uint8Array(notifySlotChangeLength(slotCount));
  out[0] = RDR_TO_PC_INTERRUPT.NotifySlotChange;
  for (const s of message.slots) {
    if (!Number.isInteger(s.slot) || s.slot < 0 || s.slot > 255) throw new CcidError('bad_field', `slot ${s.slot} is not 0-255`);
    const bits = (s.present ? 1 : 0) | (s.changed ? 2 : 0);
    const i = 1 + (s.slot >> 2);
    out[i] = out[i]! | (bits << ((s.slot & 3) * 2));
  }
  return out;
}

/**
 * Parses one interrupt-IN transfer. `slotCount` (bMaxSlotIndex + 1) fixes the expected length of a
 * NotifySlotChange; the result lists every slot the message covers.
 */
export function decodeInterrupt(bytes: Uint8Array, slotCount = 1): CcidInterruptMessage {
  if (bytes.length < 1) throw new CcidError('too_short', 'empty interrupt message');
  const type = bytes[0]!;
  if (type === RDR_TO_PC_INTERRUPT.NotifySlotChange) {
    const want = notifySlotChangeLength(slotCount);
    if (bytes.length < want) throw new CcidError('too_short', `RDR_to_PC_NotifySlotChange of ${bytes.length} bytes; ${want} expected for ${slotCount} slot(s)`);
    if (bytes.length > want) throw new CcidError('length_mismatch', `RDR_to_PC_NotifySlotChange of ${bytes.length} bytes; ${want} expected for ${slotCount} slot(s)`);
    const slots: SlotChange[] = [];
    for (let slot = 0; slot < slotCount; slot++) {
      const bits = (bytes[1 + (slot >> 2)]! >> ((slot & 3) * 2)) & 3;
      slots.push({ slot, present: (bits & 1) !== 0, changed: (bits & 2) !== 0 });
    }
    // Bits for slots the reader does not have must be clear.
    for (let slot = slotCount; slot < (want - 1) * 4; slot++) {
      if (((bytes[1 + (slot >> 2)]! >> ((slot & 3) * 2)) & 3) !== 0) {
        throw new CcidError('bad_field', `RDR_to_PC_NotifySlotChange reports slot ${slot}, but the reader has ${slotCount}`);
      }
    }
    return { type: 'NotifySlotChange', slots };
  }
  if (type === RDR_TO_PC_INTERRUPT.HardwareError) {
    if (bytes.length < 4) throw new CcidError('too_short', `RDR_to_PC_HardwareError of ${bytes.length} bytes; 4 expected`);
    if (bytes.length > 4) throw new CcidError('length_mismatch', `RDR_to_PC_HardwareError of ${bytes.length} bytes; 4 expected`);
    return { type: 'HardwareError', slot: bytes[1]!, seq: bytes[2]!, code: bytes[3]! };
  }
  throw new CcidError('unknown_type', `unknown interrupt message type 0x${hex2(type)}`);
}

// ---- helpers -----------------------------------------------------------------------------------

function readHeader(bytes: Uint8Array, maxMessageLength: number): { type: number; length: number; slot: number; seq: number } {
  if (bytes.length < CCID_HEADER_SIZE) {
    throw new CcidError('too_short', `CCID message of ${bytes.length} bytes is shorter than the ${CCID_HEADER_SIZE}-byte header`);
  }
  const length = (bytes[1]! | (bytes[2]! << 8) | (bytes[3]! << 16) | (bytes[4]! << 24)) >>> 0;
  if (length > maxMessageLength - CCID_HEADER_SIZE) {
    throw new CcidError('too_long', `CCID message type 0x${hex2(bytes[0]!)}: dwLength ${length} is over the maximum of ${maxMessageLength - CCID_HEADER_SIZE}`);
  }
  if (bytes.length - CCID_HEADER_SIZE !== length) {
    throw new CcidError('length_mismatch', `CCID message type 0x${hex2(bytes[0]!)}: dwLength says ${length} data bytes, ${bytes.length - CCID_HEADER_SIZE} arrived`);
  }
  return { type: bytes[0]!, length, slot: bytes[5]!, seq: bytes[6]! };
}

/** dwLength of a message whose header is in `bytes` (at least 10 bytes), or undefined: for reassembling a message from packets. */
export function declaredLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < CCID_HEADER_SIZE) return undefined;
  return (bytes[1]! | (bytes[2]! << 8) | (bytes[3]! << 16) | (bytes[4]! << 24)) >>> 0;
}

function writeLe32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value & 0xff;
  out[offset + 1] = (value >>> 8) & 0xff;
  out[offset + 2] = (value >>> 16) & 0xff;
  out[offset + 3] = (value >>> 24) & 0xff;
}

function checkByte(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new CcidError('bad_field', `${name} ${value} is not a byte`);
}

export function hex2(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, hex2).join(' ');
}
