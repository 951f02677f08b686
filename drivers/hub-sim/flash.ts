// The hub's persistent flash. Two primitives over a medium (a folder of files, or memory for tests):
//
// - replace(name, bytes): atomic — write `name.tmp`, fsync, rename over `name`, fsync the folder. A
//   power cut at any point leaves the old or the new version, never a mix; leftover `.tmp` files are
//   removed at the next boot.
// - append(name, bytes): durable append (write + fsync). A power cut can leave a torn last frame,
//   which the CRC of each frame exposes; boot drops it and compacts the log.
//
// On top of them, HubFlash keeps: the active table with its version, keys (opaque bytes), the site's
// card key (docs/credentials.md), the paired-lock list with its stable indices, the ring's identity (epoch) and the event ring (a snapshot
// plus an append-only log of appends and acks, compacted into a new snapshot when the log grows). Every
// change is on the medium before the call that made it returns.
import { randomInt } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { checksum, concat, frameSlot, fromHex, toHex, unframeSlot } from './bytes.ts';
import { EventRing, type AckOutcome, type EventBody, type HubEvent, type RingSnapshot, type StoredEvent } from './events.ts';

// ── Media ─────────────────────────────────────────────────────────────────────────────────────────

/** Thrown by a medium when an armed power cut fires: the write stopped part-way, as in a real outage. */
export class PowerLossError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PowerLossError';
  }
}

export interface PowerCut {
  op: 'replace' | 'append';
  /** Only writes of this slot; any slot when omitted. */
  name?: string;
  /** Bytes that reach the medium before power goes (for replace: of the temporary file). */
  afterBytes: number;
  /** Skip this many matching writes first. */
  skip?: number;
}

export interface FlashMedium {
  read(name: string): Uint8Array | null;
  replace(name: string, data: Uint8Array): void;
  append(name: string, data: Uint8Array): void;
  remove(name: string): void;
  names(): string[];
  /** Removes what a power cut left behind (`.tmp` copies that never reached their rename). */
  sweepTemporaries(): void;
  /** Arms a one-shot power cut for the next matching write (fault injection for tests). */
  armPowerCut(cut: PowerCut): void;
}

abstract class FaultInjection {
  private cut: PowerCut | null = null;

  armPowerCut(cut: PowerCut): void {
    this.cut = { ...cut };
  }

  /** The number of bytes to write before power goes, or null to write everything. */
  protected cutFor(op: PowerCut['op'], name: string, size: number): number | null {
    const c = this.cut;
    if (!c || c.op !== op || (c.name !== undefined && c.name !== name)) return null;
    if (c.skip) {
      c.skip--;
      return null;
    }
    this.cut = null;
    return Math.max(0, Math.min(size, c.afterBytes));
  }
}

export class MemoryFlash extends FaultInjection implements FlashMedium {
  private readonly files = new Map<string, Uint8Array[]>();

  read(name: string): Uint8Array | null {
    const chunks = this.files.get(name);
    if (!chunks) return null;
    if (chunks.length > 1) {
      const whole = concat(chunks);
      this.files.set(name, [whole]);
      return whole.slice();
    }
    return chunks[0] ? chunks[0].slice() : new Uint8Array(0);
  }

  replace(name: string, data: Uint8Array): void {
    const cut = this.cutFor('replace', name, data.length);
    if (cut !== null) {
      this.files.set(`${name}.tmp`, [data.slice(0, cut)]);
      throw new PowerLossError(`power lost while writing ${name} (${cut} of ${data.length} bytes of the temporary copy)`);
    }
    this.files.delete(`${name}.tmp`);
    this.files.set(name, [data.slice()]);
  }

  append(name: string, data: Uint8Array): void {
    const cut = this.cutFor('append', name, data.length);
    const chunks = this.files.get(name) ?? [];
    this.files.set(name, chunks);
    chunks.push(data.slice(0, cut ?? data.length));
    if (cut !== null) throw new PowerLossError(`power lost while appending to ${name} (${cut} of ${data.length} bytes)`);
  }

  remove(name: string): void {
    this.files.delete(name);
  }

  names(): string[] {
    return [...this.files.keys()].sort();
  }

  sweepTemporaries(): void {
    for (const n of this.names()) if (n.endsWith('.tmp')) this.files.delete(n);
  }
}

export class FileFlash extends FaultInjection implements FlashMedium {
  constructor(readonly dir: string) {
    super();
    mkdirSync(dir, { recursive: true });
    this.sweepTemporaries();
  }

  /** A `.tmp` file is a replace that never reached its rename: the previous version is the valid one. */
  sweepTemporaries(): void {
    for (const n of readdirSync(this.dir)) if (n.endsWith('.tmp')) rmSync(join(this.dir, n), { force: true });
  }

  read(name: string): Uint8Array | null {
    const p = join(this.dir, name);
    return existsSync(p) ? new Uint8Array(readFileSync(p)) : null;
  }

  replace(name: string, data: Uint8Array): void {
    const target = join(this.dir, name);
    const temp = `${target}.tmp`;
    const cut = this.cutFor('replace', name, data.length);
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, data, 0, cut ?? data.length);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (cut !== null) throw new PowerLossError(`power lost while writing ${name} (${cut} of ${data.length} bytes of the temporary copy)`);
    renameSync(temp, target);
    this.syncDir();
  }

  append(name: string, data: Uint8Array): void {
    const cut = this.cutFor('append', name, data.length);
    const fd = openSync(join(this.dir, name), 'a');
    try {
      writeSync(fd, data, 0, cut ?? data.length);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (cut !== null) throw new PowerLossError(`power lost while appending to ${name} (${cut} of ${data.length} bytes)`);
  }

  remove(name: string): void {
    rmSync(join(this.dir, name), { force: true });
    this.syncDir();
  }

  names(): string[] {
    return readdirSync(this.dir).sort();
  }

  /** A rename or unlink is durable only once the folder itself is synced. */
  private syncDir(): void {
    let fd: number | null = null;
    try {
      fd = openSync(this.dir, 'r');
      fsyncSync(fd);
    } catch {
      // Some platforms cannot fsync a folder; the rename is still atomic there.
    } finally {
      if (fd !== null) closeSync(fd);
    }
  }
}

// ── The hub's layout on the medium ────────────────────────────────────────────────────────────────

export const SLOTS = {
  table: 'table.bin',
  keys: 'keys.bin',
  siteKey: 'site-key.bin',
  locks: 'locks.bin',
  ringId: 'ring-id.bin',
  eventsSnapshot: 'events.snap',
  eventsLog: 'events.log',
} as const;

/** AES-128, as the KDF of docs/credentials.md takes it. */
const SITE_KEY_BYTES = 16;

const MAGIC = { table: 'GHTB', keys: 'GHKY', siteKey: 'GHSK', locks: 'GHLK', ringId: 'GHRI', events: 'GHEV' } as const;

export interface StoredTable {
  version: number;
  bytes: Uint8Array;
}

/** The site card key the hub checks credentials with (the wire's SET_SITE_KEY). */
export interface StoredSiteKey {
  /** The core's generation number: a label the hub reports back. */
  generation: number;
  /** The site the credentials name. */
  siteId: string;
  /** 16 bytes. */
  key: Uint8Array;
}

export interface PairedLock {
  /** 1-based, handed out in pairing order and never again within the ring's epoch (docs/iq-protocol.md). */
  index: number;
  lock_id: string;
  paired_at: number;
}

export interface PairedLocks {
  locks: PairedLock[];
  nextIndex: number;
}

export interface FlashReport {
  /** Slots that were present but unreadable (bad CRC, foreign file), and what was done about it. */
  faults: string[];
  /** Log frames dropped at the torn end of the event log. */
  tornLogBytes: number;
  /** A factory reset was interrupted by a power cut and has been completed. */
  completedReset: boolean;
}

/** A random non-zero 32-bit ring epoch, different from `not`. */
function newEpoch(not = 0): number {
  for (;;) {
    const e = randomInt(1, 2 ** 32);
    if (e !== not) return e;
  }
}

type LogFrame = { t: 'e'; e: StoredEvent } | { t: 'a'; upTo: number };

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const parse = (b: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(b));

/** `length (u32 LE) · CRC-32 (u32 LE) · payload`: a torn or corrupt frame fails its length or CRC. */
function logFrame(f: LogFrame): Uint8Array {
  const payload = json(f);
  const out = new Uint8Array(8 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, payload.length, true);
  v.setUint32(4, checksum(payload), true);
  out.set(payload, 8);
  return out;
}

function readLog(bytes: Uint8Array): { frames: LogFrame[]; validBytes: number } {
  const frames: LogFrame[] = [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let pos = 0;
  while (pos + 8 <= bytes.length) {
    const len = v.getUint32(pos, true);
    if (pos + 8 + len > bytes.length) break;
    const payload = bytes.subarray(pos + 8, pos + 8 + len);
    if (v.getUint32(pos + 4, true) !== checksum(payload)) break;
    try {
      frames.push(parse(payload) as LogFrame);
    } catch {
      break;
    }
    pos += 8 + len;
  }
  return { frames, validBytes: pos };
}

export class HubFlash {
  private ring: EventRing;
  private epoch = 0;
  private logFrames = 0;
  private report: FlashReport = { faults: [], tornLogBytes: 0, completedReset: false };

  constructor(
    readonly medium: FlashMedium,
    readonly ringCapacity = 4096,
  ) {
    this.ring = new EventRing(ringCapacity);
  }

  /** Reads everything back (boot). Finishes an interrupted factory reset first. */
  load(): { table: StoredTable | null; keys: Map<string, Uint8Array>; siteKey: StoredSiteKey | null; locks: PairedLocks; report: FlashReport } {
    this.report = { faults: [], tornLogBytes: 0, completedReset: false };
    let id = this.readRingId();
    if (id?.resetPending) {
      this.wipeAllBut(SLOTS.ringId);
      this.writeRingId(id.epoch, false);
      this.report.completedReset = true;
    }
    if (!id) {
      // First boot, or the identity was lost: a new epoch. Stored events are kept under it rather than
      // dropped — a few may then reach the PC twice, under new ids, instead of never.
      id = { epoch: newEpoch(), resetPending: false };
      if (this.medium.read(SLOTS.eventsSnapshot) || this.medium.read(SLOTS.eventsLog))
        this.report.faults.push(`${SLOTS.ringId}: no ring identity; the stored events continue under a new epoch`);
      this.writeRingId(id.epoch, false);
    }
    this.epoch = id.epoch;
    const table = this.readTable();
    const keys = this.readKeys();
    const siteKey = this.readSiteKey();
    const locks = this.readLocks();
    this.loadEvents();
    return { table, keys, siteKey, locks, report: this.report };
  }

  // ── Table ───────────────────────────────────────────────────────────────────────────────────────

  saveTable(t: StoredTable): void {
    const payload = new Uint8Array(8 + t.bytes.length);
    new DataView(payload.buffer).setFloat64(0, t.version, true);
    payload.set(t.bytes, 8);
    this.medium.replace(SLOTS.table, frameSlot(MAGIC.table, payload));
  }

  private readTable(): StoredTable | null {
    const slot = this.medium.read(SLOTS.table);
    if (!slot) return null;
    const payload = unframeSlot(MAGIC.table, slot);
    if (!payload || payload.length < 8) {
      this.report.faults.push(`${SLOTS.table}: unreadable (bad frame or CRC); the hub starts without a table`);
      return null;
    }
    return { version: new DataView(payload.buffer, payload.byteOffset).getFloat64(0, true), bytes: payload.slice(8) };
  }

  // ── Keys and paired locks ───────────────────────────────────────────────────────────────────────

  saveKeys(keys: ReadonlyMap<string, Uint8Array>): void {
    this.medium.replace(SLOTS.keys, frameSlot(MAGIC.keys, json(Object.fromEntries([...keys].map(([k, v]) => [k, toHex(v)])))));
  }

  private readKeys(): Map<string, Uint8Array> {
    const v = this.readJsonSlot(SLOTS.keys, MAGIC.keys);
    const out = new Map<string, Uint8Array>();
    if (v && typeof v === 'object') for (const [k, hex] of Object.entries(v as Record<string, string>)) out.set(k, fromHex(hex));
    return out;
  }

  /** `generation (u32 LE) · key (16) · site id (UTF-8)`, framed: one atomic replace, so a torn write leaves the previous key. */
  saveSiteKey(k: StoredSiteKey): void {
    const id = new TextEncoder().encode(k.siteId);
    const payload = new Uint8Array(4 + SITE_KEY_BYTES + id.length);
    new DataView(payload.buffer).setUint32(0, k.generation, true);
    payload.set(k.key, 4);
    payload.set(id, 4 + SITE_KEY_BYTES);
    this.medium.replace(SLOTS.siteKey, frameSlot(MAGIC.siteKey, payload));
  }

  private readSiteKey(): StoredSiteKey | null {
    const slot = this.medium.read(SLOTS.siteKey);
    if (!slot) return null;
    const payload = unframeSlot(MAGIC.siteKey, slot);
    if (!payload || payload.length <= 4 + SITE_KEY_BYTES) {
      // Without it the hub only checks UIDs; its host sees no key in SITE_KEY_STATE and sends it again.
      this.report.faults.push(`${SLOTS.siteKey}: unreadable (bad frame or CRC); the hub starts without a site key`);
      return null;
    }
    return {
      generation: new DataView(payload.buffer, payload.byteOffset).getUint32(0, true),
      key: payload.slice(4, 4 + SITE_KEY_BYTES),
      siteId: new TextDecoder().decode(payload.subarray(4 + SITE_KEY_BYTES)),
    };
  }

  saveLocks(paired: PairedLocks): void {
    this.medium.replace(SLOTS.locks, frameSlot(MAGIC.locks, json(paired)));
  }

  private readLocks(): PairedLocks {
    const v = this.readJsonSlot(SLOTS.locks, MAGIC.locks) as PairedLocks | null;
    return v && Array.isArray(v.locks) ? v : { locks: [], nextIndex: 1 };
  }

  private readJsonSlot(name: string, magic: string): unknown {
    const slot = this.medium.read(name);
    if (!slot) return null;
    const payload = unframeSlot(magic, slot);
    if (payload) {
      try {
        return parse(payload);
      } catch {
        // falls through to the fault below
      }
    }
    this.report.faults.push(`${name}: unreadable (bad frame or CRC); treated as empty`);
    return null;
  }

  // ── The ring's identity and factory reset ───────────────────────────────────────────────────────

  private readRingId(): { epoch: number; resetPending: boolean } | null {
    const v = this.readJsonSlot(SLOTS.ringId, MAGIC.ringId) as { epoch?: number; resetPending?: boolean } | null;
    return v && typeof v.epoch === 'number' && v.epoch > 0 ? { epoch: v.epoch, resetPending: v.resetPending === true } : null;
  }

  private writeRingId(epoch: number, resetPending: boolean): void {
    this.medium.replace(SLOTS.ringId, frameSlot(MAGIC.ringId, json({ epoch, resetPending })));
  }

  /**
   * Erases table, keys, the site key, paired locks and events, and starts a new ring: a new epoch, ids from 1 (the PC
   * keys events by hub, epoch and id, so the new event 1 is not taken for the old one). The new epoch is
   * written first with a "reset pending" mark, so a reset cut short by a power loss is completed at the
   * next boot instead of leaving half the old state.
   */
  factoryReset(): void {
    const epoch = newEpoch(this.epoch);
    this.writeRingId(epoch, true);
    this.wipeAllBut(SLOTS.ringId);
    this.writeRingId(epoch, false);
    this.epoch = epoch;
    this.ring = new EventRing(this.ringCapacity);
    this.logFrames = 0;
  }

  private wipeAllBut(keep: string): void {
    for (const n of this.medium.names()) if (n !== keep) this.medium.remove(n);
  }

  // ── Events ──────────────────────────────────────────────────────────────────────────────────────

  private loadEvents(): void {
    const stored = this.readJsonSlot(SLOTS.eventsSnapshot, MAGIC.events) as RingSnapshot | null;
    this.ring = stored ? EventRing.from(stored, this.ringCapacity) : new EventRing(this.ringCapacity);
    const log = this.medium.read(SLOTS.eventsLog) ?? new Uint8Array(0);
    const { frames, validBytes } = readLog(log);
    for (const f of frames) {
      if (f.t === 'e') this.ring.push(f.e);
      else this.ring.ack(f.upTo);
    }
    this.logFrames = frames.length;
    if (validBytes < log.length) {
      this.report.tornLogBytes = log.length - validBytes;
      // New frames must not land behind the torn one, where replay would never reach them.
      this.compact();
    }
  }

  /** Appends an event under the next id; returns it once it is on the medium. */
  appendEvent(body: EventBody): StoredEvent {
    const e = { ...body, id: this.ring.nextId } as StoredEvent;
    this.medium.append(SLOTS.eventsLog, logFrame({ t: 'e', e }));
    this.ring.push(e);
    this.logFrames++;
    this.maybeCompact();
    return { ...e };
  }

  /** Cumulative acknowledgement; with `epoch`, only of this ring (a PC that knew an older ring frees nothing). */
  ack(upTo: number, epoch?: number): AckOutcome {
    if (epoch !== undefined && epoch !== this.epoch)
      return { ok: false, error: 'epoch_mismatch', message: `ack for ring epoch ${epoch}; this ring is ${this.epoch}`, epoch: this.epoch, lastId: this.ring.nextId - 1 };
    const bad = this.ring.checkAck(upTo);
    if (bad) return bad;
    if (upTo <= this.ring.ackedUpTo) return { ok: true, ackedUpTo: this.ring.ackedUpTo, freed: 0 };
    this.medium.append(SLOTS.eventsLog, logFrame({ t: 'a', upTo }));
    const freed = this.ring.ack(upTo);
    this.logFrames++;
    this.maybeCompact();
    return { ok: true, ackedUpTo: upTo, freed };
  }

  /** Events after `after`; from the oldest stored when `epoch` names another ring than this one. */
  eventsSince(after: number, opts: { limit?: number; epoch?: number } = {}): HubEvent[] {
    return this.ring.since(opts.epoch !== undefined && opts.epoch !== this.epoch ? 0 : after, opts.limit);
  }

  eventStatus() {
    const lost = this.ring.lost;
    const newestId = this.ring.nextId - 1;
    return {
      epoch: this.epoch,
      /** Oldest event still stored; newestId + 1 when none is (the ring fields of docs/iq-protocol.md). */
      oldestId: this.ring.oldestStoredId() ?? newestId + 1,
      newestId,
      nextId: this.ring.nextId,
      ackedUpTo: this.ring.ackedUpTo,
      stored: this.ring.size,
      capacity: this.ring.capacity,
      lost: lost ? { firstId: lost.firstId, lastId: lost.lastId, count: lost.lastId - lost.firstId + 1 } : null,
    };
  }

  private maybeCompact(): void {
    if (this.logFrames >= Math.max(256, this.ringCapacity)) this.compact();
  }

  /**
   * Snapshot, then empty log. A power cut between the two leaves a snapshot that already contains the
   * log's frames; replaying them is harmless because appends at or below the snapshot's ids and acks
   * at or below its ack are skipped.
   */
  private compact(): void {
    this.medium.replace(SLOTS.eventsSnapshot, frameSlot(MAGIC.events, json(this.ring.snapshot())));
    this.medium.replace(SLOTS.eventsLog, new Uint8Array(0));
    this.logFrames = 0;
  }
}
