// The hub's reader of compiled access tables (docs/access-table.md, format 1), written from the
// document and not from the core's code: the differential test (test/hub) is only worth something if
// the two sides are independent implementations of the same page.
//
// Nothing here throws on bad input. Every entry point returns `{ ok: true, ... } | { ok: false, error }`
// where the error names what was wrong (and where), so a command handler can report it to the PC and
// the active table stays as it was.
import { createHash } from 'node:crypto';
import { concat, equalBytes, Reader, toHex, WireFault, Writer } from './bytes.ts';

export const TABLE_FORMAT = 1;
const TABLE_MAGIC = 'GHAT';
const DIFF_MAGIC = 'GHAD';
const HASH_BUCKETS = 64;
const REGISTRY_BUCKETS = 64;
const MAX_TAG_NUMBER = 9_999_999_999;
/** Bits 0–6 weekdays, 7 holiday, 8 special_1, 9 special_2; anything above is not format 1. */
const MASK_BITS = 0x3ff;

export type DayType = 'holiday' | 'special_1' | 'special_2';
const DAY_TYPES: readonly DayType[] = ['holiday', 'special_1', 'special_2'];

export const USER_FLAG = { blocked: 1, suspended: 2, overridePrivacy: 4, toggleEasyOfficeMode: 8, toggleManualOfficeMode: 16, remoteAccess: 32 } as const;
export const TAG_FLAG = { blocked: 1, lostOrStolen: 2 } as const;

export interface Rule {
  /** Bits 0–6 Monday–Sunday, 7 holiday, 8 special_1, 9 special_2. */
  mask: number;
  startSec: number;
  /** Inclusive last second of the window. */
  endSec: number;
  /** Local wall clock, ms since 1970-01-01 read as UTC; inclusive. */
  fromWall: number | null;
  /** Local wall clock, ms; exclusive. */
  untilWall: number | null;
}

export interface Header {
  format: number;
  iqId: string;
  zone: string;
  validFrom: number;
  validUntil: number;
  initialOffset: number;
  /** Ascending; `at` in epoch ms (the wire carries seconds). */
  transitions: Array<{ at: number; offset: number }>;
}

export interface LockEntry {
  pk: number;
  id: string;
  offlineTags: ReadonlySet<number>;
  eom: (Rule & { autoStart: boolean }) | null;
}

export interface GroupEntry {
  pk: number;
  calendarPk: number;
  lockPks: ReadonlySet<number>;
  /** In record order: the first schedule that opens is the one a grant names. */
  schedules: Array<Rule & { pk: number }>;
}

export interface UserEntry {
  pk: number;
  flags: number;
  validFrom: number | null;
  validUntil: number | null;
  groupPks: number[];
}

export interface TagEntry {
  number: number;
  uid: Uint8Array | null;
  flags: number;
  userPk: number;
  issueCounter: number;
}

/** A verified table, decoded for the evaluator and kept as records for diffs and the flash. */
export interface HubTable {
  /** Hex SHA-256 content hash (the version's identity). */
  hash: string;
  records: ReadonlyMap<string, Uint8Array>;
  bucketDigests: readonly Uint8Array[];
  header: Header;
  registry: ReadonlySet<number>;
  calendars: ReadonlyMap<number, ReadonlyMap<number, DayType>>;
  locks: ReadonlyMap<number, LockEntry>;
  locksById: ReadonlyMap<string, LockEntry>;
  groups: ReadonlyMap<number, GroupEntry>;
  users: ReadonlyMap<number, UserEntry>;
  tags: ReadonlyMap<number, TagEntry>;
  /** Upper-case hex UID → tag number. */
  tagsByUid: ReadonlyMap<string, number>;
}

export interface HubDiff {
  fromHash: string;
  toHash: string;
  removed: string[];
  upserted: Array<{ key: string; bytes: Uint8Array }>;
}

export type TableErrorCode =
  | 'bad_magic'
  | 'truncated'
  | 'malformed_varint'
  | 'bad_string'
  | 'bad_value'
  | 'trailing_bytes'
  | 'unknown_record_kind'
  | 'bad_record'
  | 'bad_key'
  | 'unsorted_records'
  | 'hash_mismatch'
  | 'missing_header'
  | 'unsupported_format'
  | 'missing_registry'
  | 'inconsistent'
  | 'no_active_table'
  | 'wrong_base'
  | 'target_mismatch';

export interface TableError {
  code: TableErrorCode;
  message: string;
  /** Byte offset in the input, when the error is about a place in it. */
  offset?: number;
  /** Record key, when the error is about one record. */
  key?: string;
}

export type Result<T> = ({ ok: true } & T) | { ok: false; error: TableError };

class Refusal extends Error {
  constructor(readonly error: TableError) {
    super(error.message);
  }
}

function refuse(code: TableErrorCode, message: string, extra: Partial<TableError> = {}): never {
  throw new Refusal({ code, message, ...extra });
}

/** Runs a decoder, turning every failure (including ones this code did not foresee) into a TableError. */
function guarded<T>(run: () => T): Result<T> {
  try {
    return { ok: true, ...run() };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, error: e.error };
    if (e instanceof WireFault) return { ok: false, error: { code: e.code, message: e.message, offset: e.offset } };
    return { ok: false, error: { code: 'bad_value', message: `unreadable input: ${e instanceof Error ? e.message : String(e)}` } };
  }
}

// ── Keys and hashing ──────────────────────────────────────────────────────────────────────────────

/** FNV-1a, 32-bit, over the key's ASCII bytes; the bucket is the hash mod 64. */
export function hashBucket(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % HASH_BUCKETS;
}

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

function varintBytes(n: number): Uint8Array {
  return new Writer().uint(n).finish();
}

function bucketDigest(keys: string[], records: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const k of [...keys].sort(compareKeys)) {
    const r = records.get(k)!;
    parts.push(varintBytes(r.length), r);
  }
  return sha256(concat(parts));
}

function rootHash(digests: readonly Uint8Array[]): string {
  return toHex(sha256(new TextEncoder().encode(TABLE_MAGIC), ...digests));
}

/** Recomputes the digests of `dirty` buckets (all when null) and the root hash. */
function rehash(records: ReadonlyMap<string, Uint8Array>, previous: readonly Uint8Array[] | null, dirty: ReadonlySet<number> | null) {
  const members: string[][] = Array.from({ length: HASH_BUCKETS }, () => []);
  for (const k of records.keys()) {
    const b = hashBucket(k);
    if (!dirty || dirty.has(b)) members[b]!.push(k);
  }
  const digests = Array.from({ length: HASH_BUCKETS }, (_, b) =>
    !dirty || dirty.has(b) || !previous ? bucketDigest(members[b]!, records) : previous[b]!,
  );
  return { digests, hash: rootHash(digests) };
}

/** Byte-wise order of the ASCII keys: the order records are serialised and hashed in. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const KEY_RE = /^(H|[RCLGU](0|[1-9]\d*)|T\d{10})$/;

export function tagKey(n: number): string {
  return `T${String(n).padStart(10, '0')}`;
}

/** The key a record's leading bytes name (kind letter and identity). */
function keyOfRecord(rec: Uint8Array): string {
  const r = new Reader(rec);
  const kind = r.u8();
  switch (kind) {
    case 0x48:
      return 'H';
    case 0x52:
    case 0x43:
    case 0x4c:
    case 0x47:
    case 0x55:
      return String.fromCharCode(kind) + r.uint();
    case 0x54: {
      const n = r.uint();
      if (n > MAX_TAG_NUMBER) refuse('bad_record', `tag number ${n} has more than 10 digits`);
      return tagKey(n);
    }
    default:
      return refuse('unknown_record_kind', `unknown record kind 0x${kind.toString(16).padStart(2, '0')}`);
  }
}

// ── Records ───────────────────────────────────────────────────────────────────────────────────────

type Decoded =
  | { kind: 'H'; value: Header }
  | { kind: 'R'; bucket: number; numbers: number[] }
  | { kind: 'C'; pk: number; days: Map<number, DayType> }
  | { kind: 'L'; value: LockEntry }
  | { kind: 'G'; value: GroupEntry }
  | { kind: 'U'; value: UserEntry }
  | { kind: 'T'; value: TagEntry };

function readRule(r: Reader, key: string): Rule {
  const mask = r.uint();
  const startSec = r.uint();
  const endSec = r.uint();
  if (mask & ~MASK_BITS) refuse('bad_record', `schedule day mask 0x${mask.toString(16)} has bits beyond special_2`, { key });
  if (startSec >= 86_400 || endSec >= 86_400) refuse('bad_record', `schedule times ${startSec}–${endSec} are not seconds of a day`, { key });
  const from = r.optionalInt();
  const until = r.optionalInt();
  return { mask, startSec, endSec, fromWall: from === null ? null : from * 1000, untilWall: until === null ? null : until * 1000 };
}

function decodeRecord(rec: Uint8Array, key: string): Decoded {
  const r = new Reader(rec);
  const kind = r.u8();
  let out: Decoded;
  switch (kind) {
    case 0x48: {
      const format = r.uint();
      if (format !== TABLE_FORMAT) refuse('unsupported_format', `table format ${format}; this hub reads format ${TABLE_FORMAT}`, { key });
      const iqId = r.str();
      const zone = r.str();
      const validFrom = r.int();
      const validUntil = r.int();
      const initialOffset = r.int();
      const n = r.uint();
      if (n > r.remaining) refuse('truncated', `header claims ${n} transitions in ${r.remaining} bytes`, { key });
      const transitions: Header['transitions'] = [];
      for (let i = 0; i < n; i++) {
        const at = r.int() * 1000;
        const offset = r.int();
        if (transitions.length && at <= transitions[transitions.length - 1]!.at) refuse('bad_record', 'zone transitions are not in ascending order', { key });
        transitions.push({ at, offset });
      }
      if (validFrom >= validUntil) refuse('bad_record', 'validity window is empty (valid_from ≥ valid_until)', { key });
      out = { kind: 'H', value: { format, iqId, zone, validFrom, validUntil, initialOffset, transitions } };
      break;
    }
    case 0x52: {
      const bucket = r.uint();
      if (bucket >= REGISTRY_BUCKETS) refuse('bad_record', `registry bucket ${bucket} is not below ${REGISTRY_BUCKETS}`, { key });
      const numbers = r.sortedUints();
      for (const n of numbers)
        if (n % REGISTRY_BUCKETS !== bucket || n > MAX_TAG_NUMBER) refuse('inconsistent', `tag number ${n} does not belong in registry bucket ${bucket}`, { key });
      out = { kind: 'R', bucket, numbers };
      break;
    }
    case 0x43: {
      const pk = r.uint();
      const n = r.uint();
      if (n > r.remaining) refuse('truncated', `calendar claims ${n} dates in ${r.remaining} bytes`, { key });
      const days = new Map<number, DayType>();
      let day = 0;
      for (let i = 0; i < n; i++) {
        day += r.int();
        const type = DAY_TYPES[r.u8()];
        if (!type) refuse('bad_record', `calendar date ${day} has an unknown day type`, { key });
        days.set(day, type);
      }
      out = { kind: 'C', pk, days };
      break;
    }
    case 0x4c: {
      const pk = r.uint();
      const id = r.str();
      const offlineTags = new Set(r.sortedUints());
      const eomFlag = r.u8();
      if (eomFlag > 2) refuse('bad_record', `EOM flag ${eomFlag} (0, 1 or 2 expected)`, { key });
      const eom = eomFlag === 0 ? null : { ...readRule(r, key), autoStart: eomFlag === 2 };
      out = { kind: 'L', value: { pk, id, offlineTags, eom } };
      break;
    }
    case 0x47: {
      const pk = r.uint();
      const calendarPk = r.uint();
      const lockPks = new Set(r.sortedUints());
      const n = r.uint();
      if (n > r.remaining) refuse('truncated', `group claims ${n} schedules in ${r.remaining} bytes`, { key });
      const schedules: GroupEntry['schedules'] = [];
      for (let i = 0; i < n; i++) {
        const spk = r.uint();
        schedules.push({ pk: spk, ...readRule(r, key) });
      }
      out = { kind: 'G', value: { pk, calendarPk, lockPks, schedules } };
      break;
    }
    case 0x55: {
      const pk = r.uint();
      const flags = r.uint();
      const validFrom = r.optionalInt();
      const validUntil = r.optionalInt();
      out = { kind: 'U', value: { pk, flags, validFrom, validUntil, groupPks: r.sortedUints() } };
      break;
    }
    case 0x54: {
      const number = r.uint();
      const uid = r.bytes();
      const flags = r.uint();
      const userPk = r.uint();
      const issueCounter = r.uint();
      out = { kind: 'T', value: { number, uid: uid.length ? uid.slice() : null, flags, userPk, issueCounter } };
      break;
    }
    default:
      return refuse('unknown_record_kind', `unknown record kind 0x${kind.toString(16).padStart(2, '0')}`, { key });
  }
  if (!r.done) refuse('trailing_bytes', `${r.remaining} bytes after the end of record ${key}`, { key });
  return out;
}

/** Decodes a record and rethrows a wire fault with the record's key attached. */
function decodeKeyed(rec: Uint8Array, key: string): Decoded {
  try {
    return decodeRecord(rec, key);
  } catch (e) {
    if (e instanceof WireFault) refuse(e.code, `record ${key}: ${e.message}`, { key });
    throw e;
  }
}

/** Builds the evaluator's view of a record set and checks the invariants a table must hold. */
function assemble(records: ReadonlyMap<string, Uint8Array>, hash: string, digests: readonly Uint8Array[]): HubTable {
  let header: Header | null = null;
  const registry = new Set<number>();
  const registryBuckets = new Set<number>();
  const calendars = new Map<number, Map<number, DayType>>();
  const locks = new Map<number, LockEntry>();
  const locksById = new Map<string, LockEntry>();
  const groups = new Map<number, GroupEntry>();
  const users = new Map<number, UserEntry>();
  const tags = new Map<number, TagEntry>();
  for (const [key, rec] of records) {
    const d = decodeKeyed(rec, key);
    switch (d.kind) {
      case 'H':
        header = d.value;
        break;
      case 'R':
        registryBuckets.add(d.bucket);
        for (const n of d.numbers) registry.add(n);
        break;
      case 'C':
        calendars.set(d.pk, d.days);
        break;
      case 'L':
        if (locksById.has(d.value.id)) refuse('inconsistent', `lock id ${d.value.id} appears in two lock records`, { key });
        locks.set(d.value.pk, d.value);
        locksById.set(d.value.id, d.value);
        break;
      case 'G':
        groups.set(d.value.pk, d.value);
        break;
      case 'U':
        users.set(d.value.pk, d.value);
        break;
      case 'T':
        tags.set(d.value.number, d.value);
        break;
    }
  }
  if (!header) return refuse('missing_header', 'the table has no header record (H)');
  if (registryBuckets.size !== REGISTRY_BUCKETS) {
    const missing = Array.from({ length: REGISTRY_BUCKETS }, (_, b) => b).filter((b) => !registryBuckets.has(b));
    refuse('missing_registry', `registry records missing: ${missing.map((b) => `R${b}`).join(', ')}`, { key: `R${missing[0]}` });
  }
  const tagsByUid = new Map<string, number>();
  for (const t of tags.values()) {
    const key = tagKey(t.number);
    if (!users.has(t.userPk)) refuse('inconsistent', `tag record ${key} names user ${t.userPk}, which has no record`, { key });
    if (!registry.has(t.number)) refuse('inconsistent', `tag record ${key} is not in the registry`, { key });
    if (t.uid) {
      const uid = toHex(t.uid).toUpperCase();
      if (tagsByUid.has(uid)) refuse('inconsistent', `card UID ${uid} belongs to two tag records`, { key });
      tagsByUid.set(uid, t.number);
    }
  }
  return { hash, records, bucketDigests: digests, header, registry, calendars, locks, locksById, groups, users, tags, tagsByUid };
}

// ── Whole tables ──────────────────────────────────────────────────────────────────────────────────

/** Reads a serialised table (`GHAT`), verifies its content hash and its invariants. */
export function decodeTable(bytes: Uint8Array): Result<{ table: HubTable }> {
  return guarded(() => {
    const r = new Reader(bytes);
    if (bytes.length < 4 || new TextDecoder().decode(r.raw(4)) !== TABLE_MAGIC) refuse('bad_magic', 'not an access table (magic is not GHAT)', { offset: 0 });
    const claimed = toHex(r.raw(32));
    const count = r.uint();
    if (count > r.remaining) refuse('truncated', `table claims ${count} records in ${r.remaining} bytes`, { offset: r.pos });
    const records = new Map<string, Uint8Array>();
    let prevKey: string | null = null;
    for (let i = 0; i < count; i++) {
      const at = r.pos;
      const rec = r.bytes();
      if (rec.length === 0) refuse('bad_record', `record ${i} at offset ${at} is empty`, { offset: at });
      let key: string;
      try {
        key = keyOfRecord(rec);
      } catch (e) {
        if (e instanceof Refusal) refuse(e.error.code, `record ${i} at offset ${at}: ${e.error.message}`, { offset: at });
        if (e instanceof WireFault) refuse(e.code, `record ${i} at offset ${at}: ${e.message}`, { offset: at });
        throw e;
      }
      if (prevKey !== null && compareKeys(prevKey, key) >= 0)
        refuse('unsorted_records', `record ${key} at offset ${at} ${prevKey === key ? 'repeats a key' : `follows ${prevKey}`}: records must be in ascending key order`, { offset: at, key });
      prevKey = key;
      records.set(key, rec.slice());
    }
    if (!r.done) refuse('trailing_bytes', `${r.remaining} bytes after the last record`, { offset: r.pos });
    const { digests, hash } = rehash(records, null, null);
    if (hash !== claimed) refuse('hash_mismatch', `content hash mismatch: the table claims ${claimed}, its records give ${hash}`, { offset: 4 });
    return { table: assemble(records, hash, digests) };
  });
}

/** The canonical serialisation: magic, hash, record count, records in key order. */
export function serializeTable(table: HubTable): Uint8Array {
  const keys = [...table.records.keys()].sort(compareKeys);
  const parts: Uint8Array[] = [new TextEncoder().encode(TABLE_MAGIC), Uint8Array.from(Buffer.from(table.hash, 'hex')), varintBytes(keys.length)];
  for (const k of keys) {
    const rec = table.records.get(k)!;
    parts.push(varintBytes(rec.length), rec);
  }
  return concat(parts);
}

/** Content hash of a record set, as docs/access-table.md defines it (for fixtures and checks). */
export function contentHash(records: Iterable<Uint8Array>): string {
  const map = new Map<string, Uint8Array>();
  for (const rec of records) map.set(keyOfRecord(rec), rec);
  return rehash(map, null, null).hash;
}

// ── Diffs ─────────────────────────────────────────────────────────────────────────────────────────

export function decodeDiff(bytes: Uint8Array): Result<{ diff: HubDiff }> {
  return guarded(() => {
    const r = new Reader(bytes);
    if (bytes.length < 4 || new TextDecoder().decode(r.raw(4)) !== DIFF_MAGIC) refuse('bad_magic', 'not an access-table diff (magic is not GHAD)', { offset: 0 });
    const fromHash = toHex(r.raw(32));
    const toHash = toHex(r.raw(32));
    const nRemoved = r.uint();
    if (nRemoved > r.remaining) refuse('truncated', `diff claims ${nRemoved} removed keys in ${r.remaining} bytes`, { offset: r.pos });
    const removed: string[] = [];
    for (let i = 0; i < nRemoved; i++) {
      const at = r.pos;
      const key = r.str();
      if (!KEY_RE.test(key)) refuse('bad_key', `removed key ${JSON.stringify(key)} at offset ${at} is not a record key`, { offset: at });
      removed.push(key);
    }
    const nUpserted = r.uint();
    if (nUpserted > r.remaining) refuse('truncated', `diff claims ${nUpserted} records in ${r.remaining} bytes`, { offset: r.pos });
    const upserted: HubDiff['upserted'] = [];
    const seen = new Set<string>();
    for (let i = 0; i < nUpserted; i++) {
      const at = r.pos;
      const rec = r.bytes().slice();
      let key: string;
      try {
        key = keyOfRecord(rec);
        decodeKeyed(rec, key);
      } catch (e) {
        const err = e instanceof Refusal ? e.error : e instanceof WireFault ? { code: e.code, message: e.message } : null;
        if (!err) throw e;
        return refuse(err.code, `diff record ${i} at offset ${at}: ${err.message}`, { offset: at });
      }
      if (seen.has(key)) refuse('bad_record', `diff carries record ${key} twice`, { offset: at, key });
      seen.add(key);
      upserted.push({ key, bytes: rec });
    }
    if (!r.done) refuse('trailing_bytes', `${r.remaining} bytes after the end of the diff`, { offset: r.pos });
    return { diff: { fromHash, toHash, removed, upserted } };
  });
}

/**
 * Applies a diff to a copy of `base`. Refused unless `base` has the diff's from-hash and the result has
 * its to-hash and is a sound table: `base` itself is never modified, so a refused diff changes nothing.
 */
export function applyDiff(base: HubTable | null, diff: HubDiff): Result<{ table: HubTable }> {
  return guarded(() => {
    if (!base) refuse('no_active_table', 'there is no active table to apply a diff to');
    const from = base;
    if (from.hash !== diff.fromHash)
      refuse('wrong_base', `diff is for version ${diff.fromHash.slice(0, 12)}…, the active table is ${from.hash.slice(0, 12)}…`);
    const records = new Map(from.records);
    const dirty = new Set<number>();
    for (const k of diff.removed) if (records.delete(k)) dirty.add(hashBucket(k));
    for (const { key, bytes } of diff.upserted) {
      const old = records.get(key);
      if (old && equalBytes(old, bytes)) continue;
      records.set(key, bytes);
      dirty.add(hashBucket(key));
    }
    const { digests, hash } = rehash(records, from.bucketDigests, dirty);
    if (hash !== diff.toHash)
      refuse('target_mismatch', `diff result is ${hash.slice(0, 12)}…, not its target ${diff.toHash.slice(0, 12)}…: incomplete or altered diff`);
    return { table: assemble(records, hash, digests) };
  });
}

/** Serialises a diff (used by tests and demos to produce input for the hub). */
export function encodeDiff(diff: { fromHash: string; toHash: string; removed: string[]; upserted: Uint8Array[] }): Uint8Array {
  const w = new Writer().raw(new TextEncoder().encode(DIFF_MAGIC)).raw(Buffer.from(diff.fromHash, 'hex')).raw(Buffer.from(diff.toHash, 'hex'));
  w.uint(diff.removed.length);
  for (const k of diff.removed) w.str(k);
  w.uint(diff.upserted.length);
  for (const r of diff.upserted) w.bytes(r);
  return w.finish();
}

/** Serialises a record set as a table, computing its hash (used by fixtures.ts). */
export function encodeTable(records: Iterable<Uint8Array>): Uint8Array {
  const map = new Map<string, Uint8Array>();
  for (const rec of records) map.set(keyOfRecord(rec), rec);
  const { hash } = rehash(map, null, null);
  const keys = [...map.keys()].sort(compareKeys);
  const parts: Uint8Array[] = [new TextEncoder().encode(TABLE_MAGIC), Uint8Array.from(Buffer.from(hash, 'hex')), varintBytes(keys.length)];
  for (const k of keys) parts.push(varintBytes(map.get(k)!.length), map.get(k)!);
  return concat(parts);
}
