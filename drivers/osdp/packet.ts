// One OSDP packet on the wire (libosdp src/osdp_phy.c; doc.osdp.dev "Packet structure"):
//
//   [0xFF mark] SOM 0x53 | ADDR | LEN lo | LEN hi | CTRL | [SEC_BLK_LEN SEC_BLK_TYPE data…] | CODE | DATA… | [MAC ×4] | CRC lo CRC hi (or CKSUM)
//
// LEN counts SOM through the check character; the mark is outside it. This module knows where every
// field sits and nothing about what a secure channel does with them: a MAC is computed by whoever
// passes `sign` to the encoder, and checked by whoever reads `macInput` of a decoded packet.
import { checksum8, crc16 } from './crc.ts';

export const MARK = 0xff;
export const SOM = 0x53;
export const BROADCAST_ADDRESS = 0x7f;
/** Set in ADDR on every packet a PD sends. */
export const REPLY_BIT = 0x80;
/** Largest LEN we send or accept (the SIA spec's maximum packet size). */
export const MAX_PACKET_LENGTH = 1440;
export const HEADER_LENGTH = 5;
export const MAC_LENGTH = 4;

const CTRL_SQN = 0x03;
const CTRL_CRC = 0x04;
const CTRL_SCB = 0x08;
const CTRL_RESERVED = 0xf0;

export type Sqn = 0 | 1 | 2 | 3;
export type CheckKind = 'crc' | 'checksum';

export interface SecurityBlock {
  /** SEC_BLK_TYPE, one of `Scs`. */
  type: number;
  /** SEC_BLK_DATA: what follows the type byte (SEC_BLK_LEN counts the length and type bytes too). */
  data: Uint8Array;
}

export interface PacketFields {
  /** 0x00–0x7E, or 0x7F for broadcast; the reply bit is `reply`, not part of this. */
  address: number;
  reply: boolean;
  sqn: Sqn;
  /** Default `crc`. */
  check?: CheckKind;
  securityBlock?: SecurityBlock | null;
  code: number;
  data?: Uint8Array;
  /** The 4 MAC bytes, for a security block of type SCS_15..18 when no `sign` is given to the encoder. */
  mac?: Uint8Array | null;
  /** Send the 0xFF mark byte in front of SOM. Default true. */
  mark?: boolean;
}

export interface Packet {
  address: number;
  reply: boolean;
  sqn: Sqn;
  check: CheckKind;
  securityBlock: SecurityBlock | null;
  code: number;
  data: Uint8Array;
  mac: Uint8Array | null;
  mark: boolean;
  /** SOM through the check character. The other byte fields are views into it. */
  raw: Uint8Array;
}

export type PacketErrorCode =
  /** Fewer bytes than the smallest packet's header. */
  | 'too_short'
  | 'bad_som'
  /** LEN below the smallest packet or above MAX_PACKET_LENGTH. */
  | 'length_out_of_range'
  /** LEN disagrees with the number of bytes given. */
  | 'length_mismatch'
  | 'reserved_control_bits'
  | 'bad_crc'
  | 'bad_checksum'
  /** SEC_BLK_LEN below 2 or past the end, or an unknown SEC_BLK_TYPE. */
  | 'bad_security_block'
  /** No room for the command/reply code. */
  | 'missing_code'
  /** The security block type promises a MAC the packet has no room for. */
  | 'missing_mac';

export interface PacketError {
  code: PacketErrorCode;
  /** The field at fault, by its spec name (`LEN`, `CTRL`, `SEC_BLK_TYPE`, …), or null. */
  field: string | null;
  message: string;
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: PacketError };

/** Whether a security block of this type is followed by a 4-byte MAC (SCS_15..18). */
export function carriesMac(scbType: number): boolean {
  return scbType >= 0x15 && scbType <= 0x18;
}

function knownScbType(scbType: number): boolean {
  return scbType >= 0x11 && scbType <= 0x18;
}

function checkLength(check: CheckKind): number {
  return check === 'crc' ? 2 : 1;
}

/** SQN after `sqn`: 0 (restart) and 3 are both followed by 1. */
export function nextSqn(sqn: Sqn): Sqn {
  return sqn === 3 ? 1 : ((sqn + 1) as Sqn);
}

function hex(n: number, width = 2): string {
  return `0x${n.toString(16).toUpperCase().padStart(width, '0')}`;
}

/**
 * Builds a packet. `sign` receives SOM through the last data byte (LEN already final) and returns the
 * MAC, of which the first 4 bytes are sent; it is called only for security blocks of type SCS_15..18.
 * Throws RangeError for fields no packet can carry: that is a caller's bug, not line noise.
 */
export function encodePacket(fields: PacketFields, sign?: (macInput: Uint8Array) => Uint8Array): Uint8Array {
  const check = fields.check ?? 'crc';
  const data = fields.data ?? new Uint8Array(0);
  const scb = fields.securityBlock ?? null;
  const mark = fields.mark ?? true;
  if (!Number.isInteger(fields.address) || fields.address < 0 || fields.address > 0x7f) {
    throw new RangeError(`ADDR must be 0x00–0x7F, got ${fields.address}`);
  }
  if (!Number.isInteger(fields.sqn) || fields.sqn < 0 || fields.sqn > 3) throw new RangeError(`SQN must be 0–3, got ${fields.sqn}`);
  if (!Number.isInteger(fields.code) || fields.code < 0 || fields.code > 0xff) throw new RangeError(`code must be a byte, got ${fields.code}`);
  if (scb) {
    if (!Number.isInteger(scb.type) || !knownScbType(scb.type)) throw new RangeError(`SEC_BLK_TYPE must be 0x11–0x18, got ${scb.type}`);
    if (scb.data.length > 253) throw new RangeError(`SEC_BLK_DATA is at most 253 bytes, got ${scb.data.length}`);
  }
  const withMac = scb !== null && carriesMac(scb.type);
  if (!withMac && fields.mac) throw new RangeError('a MAC needs a security block of type SCS_15..SCS_18');
  if (withMac && !sign && fields.mac?.length !== MAC_LENGTH) throw new RangeError(`security block ${hex(scb.type)} needs a 4-byte MAC or a signer`);

  const scbLength = scb ? 2 + scb.data.length : 0;
  const bodyEnd = HEADER_LENGTH + scbLength + 1 + data.length;
  const length = bodyEnd + (withMac ? MAC_LENGTH : 0) + checkLength(check);
  if (length > MAX_PACKET_LENGTH) throw new RangeError(`packet would be ${length} bytes; OSDP allows ${MAX_PACKET_LENGTH}`);

  const offset = mark ? 1 : 0;
  const out = new Uint8Array(offset + length);
  const pkt = out.subarray(offset);
  if (mark) out[0] = MARK;
  pkt[0] = SOM;
  pkt[1] = fields.address | (fields.reply ? REPLY_BIT : 0);
  pkt[2] = length & 0xff;
  pkt[3] = length >> 8;
  pkt[4] = fields.sqn | (check === 'crc' ? CTRL_CRC : 0) | (scb ? CTRL_SCB : 0);
  let at = HEADER_LENGTH;
  if (scb) {
    pkt[at++] = scbLength;
    pkt[at++] = scb.type;
    pkt.set(scb.data, at);
    at += scb.data.length;
  }
  pkt[at++] = fields.code;
  pkt.set(data, at);
  at += data.length;
  if (withMac) {
    const mac = sign ? sign(pkt.subarray(0, bodyEnd)) : fields.mac!;
    if (mac.length < MAC_LENGTH) throw new RangeError(`the signer returned ${mac.length} bytes; a MAC is ${MAC_LENGTH}`);
    pkt.set(mac.subarray(0, MAC_LENGTH), at);
    at += MAC_LENGTH;
  }
  if (check === 'crc') {
    const crc = crc16(pkt, 0, at);
    pkt[at] = crc & 0xff;
    pkt[at + 1] = crc >> 8;
  } else {
    pkt[at] = checksum8(pkt, 0, at);
  }
  return out;
}

function failure(code: PacketErrorCode, field: string | null, message: string): DecodeResult<never> {
  return { ok: false, error: { code, field, message } };
}

/** The smallest LEN a packet with this CTRL byte can have: header, code and check character. */
export function minimumLength(ctrl: number): number {
  return HEADER_LENGTH + 1 + (ctrl & CTRL_CRC ? 2 : 1);
}

/**
 * Decodes exactly one packet (an optional mark byte, then SOM through the check character). Never
 * throws: whatever the bytes, the answer is a packet or a PacketError naming the field at fault.
 * The packet's byte fields are views into `bytes`.
 */
export function decodePacket(bytes: Uint8Array): DecodeResult<Packet> {
  const mark = bytes.length > 0 && bytes[0] === MARK;
  const pkt = mark ? bytes.subarray(1) : bytes;
  if (pkt.length < HEADER_LENGTH) {
    return failure('too_short', null, `got ${pkt.length} bytes after the mark; a packet header alone is ${HEADER_LENGTH}`);
  }
  if (pkt[0] !== SOM) return failure('bad_som', 'SOM', `expected SOM 0x53, got ${hex(pkt[0]!)}`);
  const length = pkt[2]! | (pkt[3]! << 8);
  const ctrl = pkt[4]!;
  const min = minimumLength(ctrl);
  if (length < min || length > MAX_PACKET_LENGTH) {
    return failure('length_out_of_range', 'LEN', `LEN is ${length}; expected ${min}–${MAX_PACKET_LENGTH}`);
  }
  if (length !== pkt.length) return failure('length_mismatch', 'LEN', `LEN says ${length} bytes, got ${pkt.length}`);
  if (ctrl & CTRL_RESERVED) return failure('reserved_control_bits', 'CTRL', `CTRL ${hex(ctrl)} sets reserved bits ${hex(ctrl & CTRL_RESERVED)}`);

  const check: CheckKind = ctrl & CTRL_CRC ? 'crc' : 'checksum';
  const checkStart = length - checkLength(check);
  if (check === 'crc') {
    const expected = crc16(pkt, 0, checkStart);
    const got = pkt[checkStart]! | (pkt[checkStart + 1]! << 8);
    if (expected !== got) return failure('bad_crc', 'CRC', `CRC is ${hex(got, 4)}, expected ${hex(expected, 4)}`);
  } else {
    const expected = checksum8(pkt, 0, checkStart);
    if (expected !== pkt[checkStart]) return failure('bad_checksum', 'CKSUM', `checksum is ${hex(pkt[checkStart]!)}, expected ${hex(expected)}`);
  }

  let at = HEADER_LENGTH;
  let securityBlock: SecurityBlock | null = null;
  if (ctrl & CTRL_SCB) {
    if (at + 2 > checkStart) return failure('bad_security_block', 'SEC_BLK_LEN', 'CTRL announces a security block but the packet ends first');
    const scbLength = pkt[at]!;
    const type = pkt[at + 1]!;
    if (scbLength < 2) return failure('bad_security_block', 'SEC_BLK_LEN', `SEC_BLK_LEN is ${scbLength}; it counts itself and the type byte, so at least 2`);
    if (at + scbLength > checkStart) return failure('bad_security_block', 'SEC_BLK_LEN', `SEC_BLK_LEN ${scbLength} runs past the end of the packet`);
    if (!knownScbType(type)) return failure('bad_security_block', 'SEC_BLK_TYPE', `SEC_BLK_TYPE is ${hex(type)}; expected 0x11–0x18`);
    securityBlock = { type, data: pkt.subarray(at + 2, at + scbLength) };
    at += scbLength;
  }
  if (at >= checkStart) return failure('missing_code', 'CODE', 'the packet ends before its command/reply code');
  const code = pkt[at++]!;
  let dataEnd = checkStart;
  let mac: Uint8Array | null = null;
  if (securityBlock && carriesMac(securityBlock.type)) {
    if (dataEnd - at < MAC_LENGTH) {
      return failure('missing_mac', 'MAC', `security block ${hex(securityBlock.type)} needs a 4-byte MAC; ${dataEnd - at} bytes are left`);
    }
    dataEnd -= MAC_LENGTH;
    mac = pkt.subarray(dataEnd, checkStart);
  }
  return {
    ok: true,
    value: {
      address: pkt[1]! & 0x7f,
      reply: (pkt[1]! & REPLY_BIT) !== 0,
      sqn: (ctrl & CTRL_SQN) as Sqn,
      check,
      securityBlock,
      code,
      data: pkt.subarray(at, dataEnd),
      mac,
      mark,
      raw: pkt,
    },
  };
}

/** The bytes a packet's MAC covers: SOM through the last data byte. */
export function macInput(packet: Packet): Uint8Array {
  return packet.raw.subarray(0, packet.raw.length - checkLength(packet.check) - (packet.mac ? MAC_LENGTH : 0));
}
