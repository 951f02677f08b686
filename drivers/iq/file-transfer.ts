// osdp_FILETRANSFER (0x7C) and osdp_FTSTAT (0x7A) as Gatehouse uses them to carry access tables
// (docs/iq-protocol.md, "Access tables over FILETRANSFER"). These layouts are OSDP's, so integers
// are fixed-width little-endian here, not the varints of the MFG payloads.
import { createHash } from 'node:crypto';
import { FT_TYPES, HASH_BYTES, LIMITS, type FtKind } from './codes.ts';
import type { ReplyOf } from './messages.ts';
import { decodeWith, fail, type DecodeResult, type Reader } from './wire.ts';

/** The data of one osdp_FILETRANSFER command. FtFragmentSize is `data.length`. */
export interface FileTransfer {
  /** FtType, any byte at this layer; Gatehouse hubs accept FT_TYPES only (FTSTAT -2 otherwise). */
  ft_type: number;
  /** FtSizeTotal: the whole file, in bytes. */
  total_size: number;
  /** FtOffset of this fragment. */
  offset: number;
  /** The fragment; empty for an idle message while the hub reports "finishing". */
  data: Uint8Array;
}

/** The data of one osdp_FTSTAT reply. */
export interface FtStat {
  /** FtAction bit 0: the hub accepts other commands between fragments. */
  interleave: boolean;
  /** FtAction bit 1: the transfer must run outside the secure channel. Gatehouse hubs never set it. */
  leave_secure_channel: boolean;
  /** FtAction bit 2: a POLL reply is waiting; the host polls before the next fragment. */
  poll_response_available: boolean;
  /** FtDelay: milliseconds the host waits before the next FILETRANSFER. */
  delay_ms: number;
  /** FtStatusDetail, signed (FT_STATUS). */
  status: number;
  /** FtUpdateMsgMax: a new maximum FILETRANSFER message size, 0 = unchanged. */
  update_msg_max: number;
}

export const FILETRANSFER_HEADER_BYTES = 11;
export const FTSTAT_BYTES = 7;
const FT_ACTION_BITS = 0x07;

/** OSDP FtStatusDetail values. */
export const FT_STATUS = {
  /** Fragment stored; send the next one. */
  ok: 0,
  /** The whole file is staged (stored, checked for framing; not yet in force: that takes ACTIVATE_TABLE). */
  processed: 1,
  /** The hub is about to reboot (never sent for tables). */
  rebooting: 2,
  /** The hub is still writing; keep sending idle (empty) fragments until the status changes. */
  finishing: 3,
  /** The hub dropped the staged file; start again at offset 0. */
  abort: -1,
  /** FtType is not one the hub knows. */
  unrecognized: -2,
  /** This fragment was refused (wrong offset, too big, disagrees with bytes already staged); the staged file is kept. */
  malformed: -3,
} as const;
export type FtStatusName = keyof typeof FT_STATUS | 'unknown';

export function ftStatusName(status: number): FtStatusName {
  for (const [name, v] of Object.entries(FT_STATUS)) if (v === status) return name as keyof typeof FT_STATUS;
  return 'unknown';
}

// ── Codecs ────────────────────────────────────────────────────────────────────────────────────────

function u16(r: Reader, field: string): number {
  const lo = r.u8(field);
  return lo | (r.u8(field) << 8);
}

function u32(r: Reader, field: string): number {
  const b0 = r.u8(field);
  const b1 = r.u8(field);
  const b2 = r.u8(field);
  return (b0 | (b1 << 8) | (b2 << 16)) + r.u8(field) * 0x1000000;
}

function putU16(out: Uint8Array, at: number, v: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${field}: ${v} is outside 0..65535`);
  out[at] = v & 0xff;
  out[at + 1] = v >>> 8;
}

function putU32(out: Uint8Array, at: number, v: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new RangeError(`${field}: ${v} is outside 0..2^32-1`);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(at, v, true);
}

function checkFileTransfer(total: number, offset: number, size: number): readonly [string, string] | null {
  if (total < 1) return ['total_size', 'FtSizeTotal must be at least 1'];
  if (offset + size > total) return ['offset', `fragment ${offset}..${offset + size} runs past FtSizeTotal ${total}`];
  return null;
}

export function encodeFileTransfer(ft: FileTransfer): Uint8Array {
  const bad = checkFileTransfer(ft.total_size, ft.offset, ft.data.length);
  if (bad) throw new RangeError(`${bad[0]}: ${bad[1]}`);
  const out = new Uint8Array(FILETRANSFER_HEADER_BYTES + ft.data.length);
  if (!Number.isInteger(ft.ft_type) || ft.ft_type < 0 || ft.ft_type > 0xff) throw new RangeError(`ft_type: ${ft.ft_type} is not a byte`);
  out[0] = ft.ft_type;
  putU32(out, 1, ft.total_size, 'total_size');
  putU32(out, 5, ft.offset, 'offset');
  putU16(out, 9, ft.data.length, 'fragment_size');
  out.set(ft.data, FILETRANSFER_HEADER_BYTES);
  return out;
}

export function decodeFileTransfer(bytes: Uint8Array): DecodeResult<FileTransfer> {
  return decodeWith(bytes, (r) => {
    const ft_type = r.u8('ft_type');
    const total_size = u32(r, 'total_size');
    const offset = u32(r, 'offset');
    const size = u16(r, 'fragment_size');
    if (size < r.remaining) fail('trailing_bytes', 'fragment_size', `FtFragmentSize ${size} but ${r.remaining} data byte(s) follow`);
    const data = r.raw('data', size);
    const bad = checkFileTransfer(total_size, offset, size);
    if (bad) fail('bad_field', bad[0], bad[1]);
    return { ft_type, total_size, offset, data };
  });
}

export function encodeFtStat(s: FtStat): Uint8Array {
  const out = new Uint8Array(FTSTAT_BYTES);
  out[0] = (s.interleave ? 1 : 0) | (s.leave_secure_channel ? 2 : 0) | (s.poll_response_available ? 4 : 0);
  putU16(out, 1, s.delay_ms, 'delay_ms');
  if (!Number.isInteger(s.status) || s.status < -0x8000 || s.status > 0x7fff) throw new RangeError(`status: ${s.status} is not a signed 16-bit value`);
  putU16(out, 3, s.status & 0xffff, 'status');
  putU16(out, 5, s.update_msg_max, 'update_msg_max');
  return out;
}

export function decodeFtStat(bytes: Uint8Array): DecodeResult<FtStat> {
  return decodeWith(bytes, (r) => {
    const action = r.u8('action');
    if (action & ~FT_ACTION_BITS) fail('bad_field', 'action', `reserved FtAction bits set: 0x${action.toString(16)}`);
    const delay_ms = u16(r, 'delay_ms');
    const raw = u16(r, 'status');
    return {
      interleave: (action & 1) !== 0,
      leave_secure_channel: (action & 2) !== 0,
      poll_response_available: (action & 4) !== 0,
      delay_ms,
      status: raw >= 0x8000 ? raw - 0x10000 : raw,
      update_msg_max: u16(r, 'update_msg_max'),
    };
  });
}

// ── Table files ───────────────────────────────────────────────────────────────────────────────────

const MAGIC_TABLE = [0x47, 0x48, 0x41, 0x54]; // GHAT
const MAGIC_DIFF = [0x47, 0x48, 0x41, 0x44]; // GHAD

export type TableFileHead = { ft_type: 'table'; hash: Uint8Array } | { ft_type: 'diff'; from_hash: Uint8Array; to_hash: Uint8Array };

/**
 * Which FtType a serialised table or diff (docs/access-table.md) travels as, and the hash ACTIVATE_TABLE
 * must name. Reads the head only: the records are checked by whoever applies the file.
 */
export function tableFileHead(file: Uint8Array): DecodeResult<TableFileHead> {
  const starts = (magic: readonly number[]) => file.length >= 4 && magic.every((b, i) => file[i] === b);
  const diff = starts(MAGIC_DIFF);
  const head = file.subarray(0, Math.min(file.length, 4 + (diff ? 2 : 1) * HASH_BYTES));
  return decodeWith(head, (r): TableFileHead => {
    r.raw('magic', 4);
    if (diff) return { ft_type: 'diff', from_hash: r.raw('from_hash', HASH_BYTES), to_hash: r.raw('to_hash', HASH_BYTES) };
    if (starts(MAGIC_TABLE)) return { ft_type: 'table', hash: r.raw('hash', HASH_BYTES) };
    return fail('bad_field', 'magic', 'file does not start with GHAT (table) or GHAD (diff)');
  });
}

export function ftTypeCode(kind: FtKind): number {
  return FT_TYPES.byName.get(kind)!;
}

/** OSDP packet bytes around a FILETRANSFER's data: SOM, ADDR, LEN×2, CTRL, CMD, CRC×2. */
const OSDP_PACKET_OVERHEAD = 8;
/** Secure channel: SCB (length, type), 4-byte MAC, and up to 16 bytes of AES padding. */
const OSDP_SC_OVERHEAD = 2 + 4 + 16;

/**
 * The largest fragment that keeps a FILETRANSFER packet within `maxPacket` bytes (the hub's receive
 * size from osdp_PDCAP, or FtUpdateMsgMax once the hub has sent one).
 */
export function maxFragmentSize(maxPacket: number, secureChannel: boolean): number {
  const n = maxPacket - OSDP_PACKET_OVERHEAD - (secureChannel ? OSDP_SC_OVERHEAD : 0) - FILETRANSFER_HEADER_BYTES;
  if (n < 1) throw new RangeError(`a ${maxPacket}-byte packet leaves no room for file data`);
  return Math.min(n, 0xffff);
}

/** The FILETRANSFER commands that send `file` from `fromOffset` on, in order. */
export function fragmentFile(file: Uint8Array, kind: FtKind, maxFragment: number, fromOffset = 0): FileTransfer[] {
  if (file.length < 1 || file.length > LIMITS.maxFileSize) throw new RangeError(`file of ${file.length} bytes cannot be sent`);
  if (!Number.isInteger(maxFragment) || maxFragment < 1 || maxFragment > 0xffff) throw new RangeError(`maxFragment ${maxFragment} is outside 1..65535`);
  if (!Number.isInteger(fromOffset) || fromOffset < 0 || fromOffset > file.length) throw new RangeError(`fromOffset ${fromOffset} is outside the file`);
  const out: FileTransfer[] = [];
  for (let offset = fromOffset; offset < file.length; offset += maxFragment) {
    out.push({ ft_type: ftTypeCode(kind), total_size: file.length, offset, data: file.subarray(offset, Math.min(offset + maxFragment, file.length)) });
  }
  return out;
}

export function prefixSha256(file: Uint8Array, n: number): Uint8Array {
  return new Uint8Array(createHash('sha256').update(file.subarray(0, n)).digest());
}

/**
 * Where to resume sending `file` after a reconnect, from the hub's FILE_STATUS answer: the staged
 * prefix counts only if it is the same kind, the same size and the same bytes (its SHA-256 matches
 * ours); otherwise the host starts over at 0, which makes the hub drop what it had.
 * Returns file.length when the whole file is already staged (go straight to ACTIVATE_TABLE).
 */
export function resumeOffset(file: Uint8Array, kind: FtKind, state: ReplyOf<'file_state'>): number {
  if (state.ft_type !== kind || state.total_size !== file.length || state.received > file.length) return 0;
  const ours = prefixSha256(file, state.received);
  return ours.every((b, i) => b === state.prefix_sha256[i]) ? state.received : 0;
}
