// Access-table files for the in-test hub, written from docs/access-table.md (drivers may not use the
// core's compiler): records with a key and an opaque body, the 64-bucket content hash, the GHAT table and
// the GHAD diff. Enough for a hub to check that a file hashes to what it claims and that a diff applies
// to the table it enforces; what the records mean is the hub simulator's business.
import { createHash } from 'node:crypto';
import type { Rng } from '../../../osdp/testing/prng.ts';

export type Records = ReadonlyMap<string, Uint8Array>;

const BUCKETS = 64;
const GHAT = [0x47, 0x48, 0x41, 0x54];
const GHAD = [0x47, 0x48, 0x41, 0x44];
const KIND_LETTERS = new Set(['R', 'C', 'L', 'G', 'U']);

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}
  uint(): number {
    let n = 0;
    for (let scale = 1; ; scale *= 128) {
      const b = this.bytes[this.at++];
      if (b === undefined) throw new Error('truncated');
      n += (b & 0x7f) * scale;
      if (!(b & 0x80)) return n;
    }
  }
  take(n: number): Uint8Array {
    if (this.at + n > this.bytes.length) throw new Error('truncated');
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  get done(): boolean {
    return this.at === this.bytes.length;
  }
}

/** The key a record's leading bytes name: its kind letter, then its identity. */
export function recordKey(record: Uint8Array): string {
  const r = new Reader(record);
  const kind = String.fromCharCode(r.take(1)[0]!);
  if (kind === 'H') return 'H';
  if (kind === 'T') return `T${String(r.uint()).padStart(10, '0')}`;
  if (KIND_LETTERS.has(kind)) return `${kind}${r.uint()}`;
  throw new Error(`unknown record kind ${kind}`);
}

function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h % BUCKETS;
}

const sortedKeys = (records: Records) => [...records.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** The content hash: SHA-256 of `GHAT` and the 64 bucket digests, each over its records in key order. */
export function tableHash(records: Records): string {
  const buckets = Array.from({ length: BUCKETS }, () => createHash('sha256'));
  for (const key of sortedKeys(records)) {
    const rec = records.get(key)!;
    buckets[bucketOf(key)]!.update(Uint8Array.from(varint(rec.length))).update(rec);
  }
  const root = createHash('sha256').update(Uint8Array.from(GHAT));
  for (const b of buckets) root.update(b.digest());
  return root.digest('hex');
}

export function serializeTable(records: Records, claimedHash = tableHash(records)): Uint8Array {
  const parts: number[] = [...GHAT, ...Buffer.from(claimedHash, 'hex'), ...varint(records.size)];
  for (const key of sortedKeys(records)) {
    const rec = records.get(key)!;
    parts.push(...varint(rec.length), ...rec);
  }
  return Uint8Array.from(parts);
}

export function serializeDiff(from: Records, to: Records): Uint8Array {
  const removed = sortedKeys(from).filter((k) => !to.has(k));
  const upserted = sortedKeys(to).filter((k) => !sameBytes(from.get(k), to.get(k)!));
  const parts: number[] = [...GHAD, ...Buffer.from(tableHash(from), 'hex'), ...Buffer.from(tableHash(to), 'hex'), ...varint(removed.length)];
  for (const k of removed) parts.push(...varint(k.length), ...Buffer.from(k, 'ascii'));
  parts.push(...varint(upserted.length));
  for (const k of upserted) parts.push(...varint(to.get(k)!.length), ...to.get(k)!);
  return Uint8Array.from(parts);
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => bytes[i] === b);
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; why: string };

/** A GHAT file's records, refused when they do not give the hash the file claims. */
export function parseTable(bytes: Uint8Array): Parsed<{ hash: string; records: Map<string, Uint8Array> }> {
  try {
    if (!startsWith(bytes, GHAT)) return { ok: false, why: 'not a GHAT table' };
    const r = new Reader(bytes);
    r.take(4);
    const claimed = Buffer.from(r.take(32)).toString('hex');
    const records = new Map<string, Uint8Array>();
    for (let i = 0, n = r.uint(); i < n; i++) {
      const rec = r.take(r.uint()).slice();
      records.set(recordKey(rec), rec);
    }
    if (!r.done) return { ok: false, why: 'trailing bytes' };
    if (tableHash(records) !== claimed) return { ok: false, why: 'records do not give the claimed hash' };
    return { ok: true, value: { hash: claimed, records } };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
}

export interface Diff {
  from: string;
  to: string;
  removed: string[];
  upserted: Uint8Array[];
}

export function parseDiff(bytes: Uint8Array): Parsed<Diff> {
  try {
    if (!startsWith(bytes, GHAD)) return { ok: false, why: 'not a GHAD diff' };
    const r = new Reader(bytes);
    r.take(4);
    const from = Buffer.from(r.take(32)).toString('hex');
    const to = Buffer.from(r.take(32)).toString('hex');
    const removed: string[] = [];
    for (let i = 0, n = r.uint(); i < n; i++) removed.push(Buffer.from(r.take(r.uint())).toString('ascii'));
    const upserted: Uint8Array[] = [];
    for (let i = 0, n = r.uint(); i < n; i++) {
      const rec = r.take(r.uint()).slice();
      recordKey(rec);
      upserted.push(rec);
    }
    if (!r.done) return { ok: false, why: 'trailing bytes' };
    return { ok: true, value: { from, to, removed, upserted } };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
}

export function applyDiff(records: Records, diff: Diff): Map<string, Uint8Array> {
  const next = new Map(records);
  for (const k of diff.removed) next.delete(k);
  for (const rec of diff.upserted) next.set(recordKey(rec), rec);
  return next;
}

/** A header and `count` lock, person and tag records with random bodies of about `bodyBytes`. */
export function sampleRecords(rng: Rng, count: number, bodyBytes = 40): Map<string, Uint8Array> {
  const records = new Map<string, Uint8Array>();
  const add = (head: number[]) => {
    const rec = Uint8Array.from([...head, ...rng.bytes(1 + rng.int(bodyBytes * 2))]);
    records.set(recordKey(rec), rec);
  };
  add([0x48]);
  for (let i = 1; i <= count; i++) {
    const kind = ['L', 'U', 'T'][i % 3]!;
    add([kind.charCodeAt(0), ...varint(kind === 'T' ? 1_000_000 + i * 7 : i)]);
  }
  return records;
}

/** `records` with a few records changed, one removed and one added. */
export function changed(rng: Rng, records: Records): Map<string, Uint8Array> {
  const next = new Map(records);
  const keys = sortedKeys(records).filter((k) => k !== 'H');
  for (let i = 0; i < 3; i++) {
    const k = keys[rng.int(keys.length)]!;
    const rec = next.get(k)!.slice();
    rec[rec.length - 1] = rec[rec.length - 1]! ^ 0xff;
    next.set(k, rec);
  }
  next.delete(keys[0]!);
  const added = Uint8Array.from([0x47, ...varint(900_000 + rng.int(1000)), ...rng.bytes(20)]);
  next.set(recordKey(added), added);
  return next;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}
