// A compiled access table: a set of records with a content hash. The hash is computed over 64 buckets
// (records hashed in key order within each bucket, then the bucket digests), so changing one record
// costs one bucket and the root, not the whole table. Tables serialise to one byte string for a hub,
// and two versions diff into a patch that turns one into the other.
import { createHash, hash as oneShotHash } from 'node:crypto';
import { ByteReader, ByteWriter, TableFormatError } from './bytes.ts';
import { decodeRecord, recordKey, type HeaderRecord } from './records.ts';

/** Few enough that hashing a whole table is cheap, many enough that one changed record rehashes ~1/64 of it. */
const BUCKETS = 64;
const TABLE_MAGIC = new Uint8Array([0x47, 0x48, 0x41, 0x54]); // "GHAT"
const DIFF_MAGIC = new Uint8Array([0x47, 0x48, 0x41, 0x44]); // "GHAD"
const EMPTY_BUCKET = createHash('sha256').digest();

function bucketOf(key: string): number {
  // FNV-1a over the key's UTF-16 units (keys are ASCII).
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & (BUCKETS - 1);
}

export class AccessTable {
  private readonly records = new Map<string, Uint8Array>();
  private readonly bucketDigests: Buffer[] = Array.from({ length: BUCKETS }, () => EMPTY_BUCKET);
  /** Buckets whose digest is stale. Keys are grouped by bucket only when hashing, which keeps put() cheap. */
  private readonly dirty = new Uint8Array(BUCKETS);
  private dirtyCount = 0;
  private rootCache: string | null = null;
  private recordBytes = 0;

  static fromRecords(records: Iterable<Uint8Array>): AccessTable {
    const t = new AccessTable();
    for (const r of records) t.put(r);
    return t;
  }

  get size(): number {
    return this.records.size;
  }

  /** Total bytes of the records (the serialised table adds a few bytes of framing per record). */
  get byteSize(): number {
    return this.recordBytes;
  }

  get(key: string): Uint8Array | undefined {
    return this.records.get(key);
  }

  has(key: string): boolean {
    return this.records.has(key);
  }

  keys(): IterableIterator<string> {
    return this.records.keys();
  }

  /** Adds or replaces a record; returns false when an identical record was already there. */
  put(record: Uint8Array, key = recordKey(record)): boolean {
    const old = this.records.get(key);
    if (old && equalBytes(old, record)) return false;
    this.recordBytes += record.length - (old?.length ?? 0);
    this.records.set(key, record);
    this.markDirty(bucketOf(key));
    return true;
  }

  private markDirty(b: number): void {
    if (!this.dirty[b]) {
      this.dirty[b] = 1;
      this.dirtyCount++;
    }
    this.rootCache = null;
  }

  delete(key: string): boolean {
    const old = this.records.get(key);
    if (!old) return false;
    this.records.delete(key);
    this.recordBytes -= old.length;
    this.markDirty(bucketOf(key));
    return true;
  }

  header(): HeaderRecord {
    const h = this.records.get('H');
    if (!h) throw new TableFormatError('Table has no header record');
    const d = decodeRecord(h);
    if (d.kind !== 'header') throw new TableFormatError('Header record is not a header');
    return d.value;
  }

  /** Hex SHA-256 content hash; equal content gives an equal hash whatever the order of puts. */
  get hash(): string {
    if (this.rootCache) return this.rootCache;
    if (this.dirtyCount > 0) {
      const keysOf: string[][] = Array.from({ length: BUCKETS }, () => []);
      for (const k of this.records.keys()) {
        const b = bucketOf(k);
        if (this.dirty[b]) keysOf[b]!.push(k);
      }
      for (let b = 0; b < BUCKETS; b++) if (this.dirty[b]) this.bucketDigests[b] = this.digestBucket(keysOf[b]!);
      this.dirty.fill(0);
      this.dirtyCount = 0;
    }
    const root = createHash('sha256').update(TABLE_MAGIC);
    for (const d of this.bucketDigests) root.update(d);
    this.rootCache = root.digest('hex');
    return this.rootCache;
  }

  private digestBucket(keys: string[]): Buffer {
    if (keys.length === 0) return EMPTY_BUCKET;
    keys.sort();
    // One buffer per bucket: each record prefixed by its length (varint), then hashed in one go.
    let size = 0;
    for (const k of keys) size += this.records.get(k)!.length + 4;
    const buf = Buffer.allocUnsafe(size);
    let pos = 0;
    for (const k of keys) {
      const rec = this.records.get(k)!;
      let n = rec.length;
      while (n >= 0x80) {
        buf[pos++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      buf[pos++] = n;
      buf.set(rec, pos);
      pos += rec.length;
    }
    return oneShotHash('sha256', buf.subarray(0, pos), 'buffer');
  }

  sortedKeys(): string[] {
    return [...this.records.keys()].sort();
  }

  /** The whole table as one byte string: magic, hash, record count, records in key order. */
  serialize(): Uint8Array {
    const w = new ByteWriter().raw(TABLE_MAGIC).raw(Buffer.from(this.hash, 'hex')).uint(this.records.size);
    for (const k of this.sortedKeys()) w.bytes(this.records.get(k)!);
    return w.finish();
  }

  static parse(bytes: Uint8Array): AccessTable {
    const r = new ByteReader(bytes);
    if (!equalBytes(r.raw(4), TABLE_MAGIC)) throw new TableFormatError('Not an access table (bad magic)');
    const claimed = Buffer.from(r.raw(32)).toString('hex');
    const n = r.uint();
    const t = new AccessTable();
    for (let i = 0; i < n; i++) {
      const rec = r.bytes().slice();
      decodeRecord(rec);
      t.put(rec);
    }
    if (!r.done) throw new TableFormatError('Trailing bytes after the last record');
    if (t.hash !== claimed) throw new TableFormatError(`Content hash mismatch: table says ${claimed}, records give ${t.hash}`);
    return t;
  }

  clone(): AccessTable {
    const t = new AccessTable();
    for (const [k, v] of this.records) t.put(v, k);
    return t;
  }
}

export interface TableDiff {
  fromHash: string;
  toHash: string;
  removed: string[];
  upserted: Uint8Array[];
}

/** What turns `from` into `to`: keys to drop and records to add or replace. */
export function diffTables(from: AccessTable, to: AccessTable): TableDiff {
  const removed: string[] = [];
  const upserted: Uint8Array[] = [];
  for (const k of from.keys()) if (!to.has(k)) removed.push(k);
  for (const k of to.sortedKeys()) {
    const rec = to.get(k)!;
    const old = from.get(k);
    if (!old || !equalBytes(old, rec)) upserted.push(rec);
  }
  return { fromHash: from.hash, toHash: to.hash, removed: removed.sort(), upserted };
}

/** Applies a diff to a copy of `table`; refuses a diff made for another version or one that does not arrive at its target. */
export function applyDiff(table: AccessTable, diff: TableDiff): AccessTable {
  if (table.hash !== diff.fromHash) throw new TableFormatError(`Diff is for version ${diff.fromHash.slice(0, 12)}, table is ${table.hash.slice(0, 12)}`);
  const next = table.clone();
  for (const k of diff.removed) next.delete(k);
  for (const rec of diff.upserted) next.put(rec);
  if (next.hash !== diff.toHash) throw new TableFormatError('Diff did not produce its target version');
  return next;
}

export function serializeDiff(d: TableDiff): Uint8Array {
  const w = new ByteWriter().raw(DIFF_MAGIC).raw(Buffer.from(d.fromHash, 'hex')).raw(Buffer.from(d.toHash, 'hex'));
  w.uint(d.removed.length);
  for (const k of d.removed) w.str(k);
  w.uint(d.upserted.length);
  for (const rec of d.upserted) w.bytes(rec);
  return w.finish();
}

export function parseDiff(bytes: Uint8Array): TableDiff {
  const r = new ByteReader(bytes);
  if (!equalBytes(r.raw(4), DIFF_MAGIC)) throw new TableFormatError('Not an access-table diff (bad magic)');
  const fromHash = Buffer.from(r.raw(32)).toString('hex');
  const toHash = Buffer.from(r.raw(32)).toString('hex');
  const removed: string[] = [];
  for (let i = 0, n = r.uint(); i < n; i++) removed.push(r.str());
  const upserted: Uint8Array[] = [];
  for (let i = 0, n = r.uint(); i < n; i++) {
    const rec = r.bytes().slice();
    decodeRecord(rec);
    upserted.push(rec);
  }
  if (!r.done) throw new TableFormatError('Trailing bytes after the diff');
  return { fromHash, toHash, removed, upserted };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
