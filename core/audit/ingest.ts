// Lossless, idempotent ingest of device events into the audit trail (docs/audit.md).
//
// - Idempotent by (source, event_id): delivering a batch twice stores it once, and a duplicate never
//   advances the hash chain.
// - Runs inside the caller's transaction: when it returns, the batch is committed with it, so a device
//   may be acknowledged only after the transaction that called this has committed.
// - Keeps the device's own clock reading and the receive time; when the device clock is clearly wrong
//   (in the future, or before 2020) the entry is filed at its receive time.
// - Maintains the hourly counts and last-seen times in the same transaction.
import type { AccessSnapshot } from '../access/snapshot.ts';
import { lockZone } from '../access/snapshot.ts';
import { GatehouseError, type ErrorIssue } from '../contract/errors.ts';
import { ACCESS_BY, ENTRY_CATEGORIES, ENTRY_DETAILS, INCIDENT_TYPES, type IncidentType } from '../domain/audit.ts';
import { stmt, type WriteDb } from '../store/db.ts';
import { chainHash, entryHashBody, GENESIS, incidentHashBody, personalDigestHex, type SaltPool } from './chain.ts';
import { type ZoneOffsetCache } from './zone-offsets.ts';

export const MAX_BATCH = 10_000;
/** A device clock more than this far ahead of ours is wrong. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;
/** Readings before this are a clock that lost its setting (e.g. 1970 after a power loss). */
const EARLIEST_PLAUSIBLE_MS = Date.UTC(2020, 0, 1);

export interface EntryEvent {
  event_id: string;
  time: number;
  event_category: string;
  event_detail: string | null;
  access_by: string | null;
  lock_id: string | null;
  iq_id: string | null;
  tag_number: string | null;
  user_id: string | null;
  /** Who acted when no site user did (e.g. the operator behind a remote opening); stored as the name. */
  actor_name?: string | null;
}

export interface IncidentEvent {
  event_id: string;
  time: number;
  incident_type: IncidentType;
  lock_id: string | null;
  iq_id: string | null;
}

export interface IngestResult {
  entries: { stored: number; duplicates: number };
  incidents: { stored: number; duplicates: number };
  /** seq of the newly stored entries (for pushing them to live views). */
  stored_entry_seqs: number[];
  /** seq of the newly stored incidents (for the alarms panel's live view). */
  stored_incident_seqs: number[];
  /** Entries filed at receive time because the device clock was implausible. */
  clock_corrected: number;
}

// ── Validation ─────────────────────────────────────────────────────────────────────────────────────

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const TAG_RE = /^\d{10}$/;
const ENTRY_KEYS = new Set(['event_id', 'time', 'event_category', 'event_detail', 'access_by', 'lock_id', 'iq_id', 'tag_number', 'user_id', 'actor_name']);
const INCIDENT_KEYS = new Set(['event_id', 'time', 'incident_type', 'lock_id', 'iq_id']);

/** Date.parse rolls impossible dates over (2026-02-30 → 2 March, 24:00 → next day): refuse them instead. */
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Epoch ms of an ISO-8601 instant that ISO_RE accepted, or NaN when it names no real moment (Feb 30th,
 * 24:00). Hand-parsed: Date.parse would quietly roll impossible dates over, and this runs per event.
 */
function parseInstant(v: string): number {
  const n = (a: number, b: number) => Number(v.slice(a, b));
  const y = n(0, 4);
  const mo = n(5, 7);
  const d = n(8, 10);
  const h = n(11, 13);
  const mi = n(14, 16);
  const sec = n(17, 19);
  const leap = mo === 2 && (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0));
  if (mo < 1 || mo > 12 || d < 1 || d > DAYS_IN_MONTH[mo - 1]! + (leap ? 1 : 0) || h > 23 || mi > 59 || sec > 59) return NaN;
  let i = 19;
  let frac = 0;
  if (v.charCodeAt(i) === 46 /* . */) {
    let j = i + 1;
    while (j < v.length && v.charCodeAt(j) >= 48 && v.charCodeAt(j) <= 57) j++;
    frac = Math.floor(Number(`0.${v.slice(i + 1, j)}`) * 1000);
    i = j;
  }
  let offsetMin = 0;
  if (v[i] !== 'Z') {
    const oh = n(i + 1, i + 3);
    const om = n(i + 4, i + 6);
    if (oh > 23 || om > 59) return NaN;
    offsetMin = (v[i] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // Date.UTC reads years 0–99 as 1900–1999; shifting by a 400-year cycle (146,097 days) avoids that.
  return Date.UTC(y + 400, mo - 1, d, h, mi, sec) - 146_097 * 86_400_000 + frac - offsetMin * 60_000;
}

class Checker {
  readonly issues: ErrorIssue[] = [];
  constructor(private readonly path: string) {}

  fail(field: string, message: string): void {
    if (this.issues.length < 100) this.issues.push({ path: `${this.path}.${field}`, message });
  }

  object(v: unknown, keys: Set<string>): Record<string, unknown> | null {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.issues.push({ path: this.path, message: 'must be an object' });
      return null;
    }
    for (const k of Object.keys(v)) if (!keys.has(k)) this.fail(k, 'unknown field');
    return v as Record<string, unknown>;
  }

  id(o: Record<string, unknown>, k: string, required: boolean): string | null {
    const v = o[k];
    if (v === undefined || v === null) {
      if (required) this.fail(k, 'is required');
      return null;
    }
    if (typeof v !== 'string' || v.length === 0 || v.length > 100) {
      this.fail(k, 'must be a string of 1 to 100 characters');
      return null;
    }
    return v;
  }

  time(o: Record<string, unknown>, k: string): number {
    const v = o[k];
    const ms = typeof v === 'string' && ISO_RE.test(v) ? parseInstant(v) : NaN;
    if (!Number.isFinite(ms)) this.fail(k, 'must be an ISO-8601 date-time with an offset, e.g. 2026-01-31T08:00:00Z');
    return ms;
  }

  oneOf<T extends string>(o: Record<string, unknown>, k: string, values: readonly T[], required: boolean): T | null {
    const v = o[k];
    if (v === undefined || v === null) {
      if (required) this.fail(k, 'is required');
      return null;
    }
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.fail(k, `must be one of ${values.join(', ')}`);
      return null;
    }
    return v as T;
  }
}

export function validateEntries(raw: unknown[]): EntryEvent[] {
  const issues: ErrorIssue[] = [];
  const out: EntryEvent[] = [];
  raw.forEach((item, i) => {
    const c = new Checker(`entries.${i}`);
    const o = c.object(item, ENTRY_KEYS);
    if (o) {
      const tag = o.tag_number;
      if (tag !== undefined && tag !== null && (typeof tag !== 'string' || !TAG_RE.test(tag))) c.fail('tag_number', 'must be exactly 10 digits');
      const e: EntryEvent = {
        event_id: c.id(o, 'event_id', true) ?? '',
        time: c.time(o, 'time'),
        event_category: c.oneOf(o, 'event_category', ENTRY_CATEGORIES, true) ?? '',
        event_detail: c.oneOf(o, 'event_detail', ENTRY_DETAILS, false),
        access_by: c.oneOf(o, 'access_by', ACCESS_BY, false),
        lock_id: c.id(o, 'lock_id', false),
        iq_id: c.id(o, 'iq_id', false),
        tag_number: typeof tag === 'string' ? tag : null,
        user_id: c.id(o, 'user_id', false),
        actor_name: c.id(o, 'actor_name', false),
      };
      if (!e.lock_id && !e.iq_id) c.fail('lock_id', 'an entry needs a lock_id (or at least an iq_id)');
      out.push(e);
    }
    issues.push(...c.issues);
  });
  if (issues.length) throw batchError(issues, 'entries');
  return out;
}

export function validateIncidents(raw: unknown[]): IncidentEvent[] {
  const issues: ErrorIssue[] = [];
  const out: IncidentEvent[] = [];
  raw.forEach((item, i) => {
    const c = new Checker(`incidents.${i}`);
    const o = c.object(item, INCIDENT_KEYS);
    if (o) {
      const e: IncidentEvent = {
        event_id: c.id(o, 'event_id', true) ?? '',
        time: c.time(o, 'time'),
        incident_type: c.oneOf(o, 'incident_type', INCIDENT_TYPES, true) ?? 'tamper',
        lock_id: c.id(o, 'lock_id', false),
        iq_id: c.id(o, 'iq_id', false),
      };
      if (!e.lock_id && !e.iq_id) c.fail('lock_id', 'an incident needs a lock_id or an iq_id');
      out.push(e);
    }
    issues.push(...c.issues);
  });
  if (issues.length) throw batchError(issues, 'incidents');
  return out;
}

function batchError(issues: ErrorIssue[], what: string): GatehouseError {
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new GatehouseError('validation', `${issues[0]!.path}: ${issues[0]!.message}${more}; no ${what} were stored`, issues);
}

// ── Writing ────────────────────────────────────────────────────────────────────────────────────────

type RefKind = 'lock' | 'iq' | 'user' | 'tag' | 'source';
interface KnownRef {
  ref: number;
  aux: string | null;
}

/**
 * Refs known to be committed, per kind and id, shared across batches (refs never change or go away
 * once written). Keyed by the id strings themselves, which are the snapshot's own strings: no key is
 * built per lookup.
 */
export class CommittedRefs {
  readonly byKind: Record<RefKind, Map<string, KnownRef>> = { lock: new Map(), iq: new Map(), user: new Map(), tag: new Map(), source: new Map() };
}

/**
 * Resolves ids to audit refs for one batch, creating refs for records seen for the first time. Refs
 * created by this batch stay `pending` until the caller's transaction commits (then `commit()`): a
 * rolled-back insert must not leave a ref number in the shared cache that SQLite may hand out again.
 */
export class RefResolver {
  private readonly pending = new CommittedRefs();

  constructor(
    private readonly db: WriteDb,
    private readonly committed: CommittedRefs = new CommittedRefs(),
  ) {}

  ref(kind: RefKind, id: string, aux: string | null = null): number {
    const committed = this.committed.byKind[kind];
    const pending = this.pending.byKind[kind];
    let known = committed.get(id) ?? pending.get(id);
    if (!known) {
      const row = stmt(this.db, 'SELECT ref, aux FROM audit_refs WHERE kind = ? AND id = ?').get(kind, id) as KnownRef | undefined;
      if (row) {
        known = row;
        committed.set(id, row);
      } else {
        known = { ref: Number(stmt(this.db, 'INSERT INTO audit_refs (kind, id, aux) VALUES (?, ?, ?)').run(kind, id, aux).lastInsertRowid), aux };
        pending.set(id, known);
      }
    }
    if (aux && known.aux !== aux) {
      stmt(this.db, 'UPDATE audit_refs SET aux = ? WHERE ref = ?').run(aux, known.ref);
      // The new aux is itself uncommitted: keep it out of the shared cache until commit.
      committed.delete(id);
      pending.set(id, { ref: known.ref, aux });
    }
    return known.ref;
  }

  /** A ref only if the audit trail already knows the id (for ids no longer in the site model). */
  existing(kind: Exclude<RefKind, 'source'>, id: string): number | null {
    const known = this.committed.byKind[kind].get(id) ?? this.pending.byKind[kind].get(id);
    if (known) return known.ref;
    const row = stmt(this.db, 'SELECT ref FROM audit_refs WHERE kind = ? AND id = ?').get(kind, id) as { ref: number } | undefined;
    return row?.ref ?? null;
  }

  /** Call once the transaction that created the pending refs has committed. */
  commit(): void {
    for (const kind of Object.keys(this.pending.byKind) as RefKind[]) {
      for (const [id, v] of this.pending.byKind[kind]) this.committed.byKind[kind].set(id, v);
      this.pending.byKind[kind].clear();
    }
  }
}

const names = new WeakMap<object, string>();
/** "First Last", computed once per person object of the snapshot. */
function displayName(u: { first_name: string; last_name: string }): string {
  let n = names.get(u);
  if (n === undefined) names.set(u, (n = `${u.first_name} ${u.last_name}`.trim()));
  return n;
}

interface ChainHead {
  seq: number;
  hash: Buffer;
}

function readHead(db: WriteDb, chain: 'entries' | 'incidents'): ChainHead {
  const row = stmt(db, 'SELECT last_seq, last_hash FROM audit_chain_heads WHERE chain = ?').get(chain) as { last_seq: number; last_hash: Buffer } | undefined;
  return row ? { seq: row.last_seq, hash: row.last_hash } : { seq: 0, hash: GENESIS };
}

function writeHead(db: WriteDb, chain: 'entries' | 'incidents', head: ChainHead): void {
  stmt(db, 'INSERT INTO audit_chain_heads (chain, last_seq, last_hash) VALUES (?, ?, ?) ON CONFLICT(chain) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash').run(
    chain,
    head.seq,
    head.hash,
  );
}

export interface IngestContext {
  db: WriteDb;
  refs: RefResolver;
  snapshot: AccessSnapshot;
  now: number;
  offsets: ZoneOffsetCache;
  salts: SaltPool;
  /** Events before this instant are stored already anonymised (the privacy setting), or null. */
  anonymizeBefore: number | null;
}

export function ingest(ctx: IngestContext, source: string, entries: EntryEvent[], incidents: IncidentEvent[]): IngestResult {
  const { db, snapshot: snap, now, refs } = ctx;
  const sourceRef = refs.ref('source', source);
  const result: IngestResult = { entries: { stored: 0, duplicates: 0 }, incidents: { stored: 0, duplicates: 0 }, stored_entry_seqs: [], stored_incident_seqs: [], clock_corrected: 0 };

  const issues: ErrorIssue[] = [];
  // Paths are built only for a failure: these run once per event.
  const lockRef = (id: string | null, path: () => string): number | null => {
    if (!id) return null;
    if (snap.locks.has(id)) return refs.ref('lock', id);
    const known = refs.existing('lock', id);
    if (known === null) issues.push({ path: path(), message: `no lock '${id}'` });
    return known;
  };
  const iqRef = (id: string | null, path: () => string): number | null => {
    if (!id) return null;
    if (snap.iqs.has(id)) return refs.ref('iq', id);
    const known = refs.existing('iq', id);
    if (known === null) issues.push({ path: path(), message: `no IQ '${id}'` });
    return known;
  };
  const eventTime = (device: number): number => {
    const plausible = device >= EARLIEST_PLAUSIBLE_MS && device <= now + FUTURE_TOLERANCE_MS;
    if (!plausible) result.clock_corrected++;
    return plausible ? device : now;
  };
  const zoneOf = (lockId: string | null, iqId: string | null): string => {
    const lock = lockId ? snap.locks.get(lockId) : undefined;
    if (lock) return lockZone(snap, lock);
    return (iqId ? snap.iqs.get(iqId)?.time_zone : undefined) ?? snap.siteZone;
  };

  // Resolve everything first: an unknown reference anywhere refuses the whole batch before a write.
  const planned = entries.map((e, i) => {
    const lock = e.lock_id ? snap.locks.get(e.lock_id) : undefined;
    const iqId = e.iq_id ?? lock?.iq_id ?? null;
    const tag = e.tag_number ? snap.tagsByNumber.get(e.tag_number) : undefined;
    const userId = e.user_id ?? tag?.user_id ?? null;
    const user = userId ? snap.users.get(userId) : undefined;
    if (e.user_id && !user && refs.existing('user', e.user_id) === null) issues.push({ path: `entries.${i}.user_id`, message: `no user '${e.user_id}'` });
    return {
      e,
      lock_ref: lockRef(e.lock_id, () => `entries.${i}.lock_id`),
      lock_name: lock?.customer_reference ?? null,
      iq_ref: iqRef(iqId, () => `entries.${i}.iq_id`),
      zone: zoneOf(e.lock_id, iqId),
      user,
      userId,
      tag,
    };
  });
  const plannedIncidents = incidents.map((e, i) => {
    const lock = e.lock_id ? snap.locks.get(e.lock_id) : undefined;
    const iqId = e.iq_id ?? lock?.iq_id ?? null;
    return {
      e,
      lock_ref: lockRef(e.lock_id, () => `incidents.${i}.lock_id`),
      lock_name: lock?.customer_reference ?? null,
      iq_ref: iqRef(iqId, () => `incidents.${i}.iq_id`),
      iq_name: iqId ? (snap.iqs.get(iqId)?.customer_reference ?? null) : null,
      zone: zoneOf(e.lock_id, iqId),
    };
  });
  if (issues.length) throw batchError(issues, 'events');

  if (planned.length) {
    // Positional parameters: binding by name costs more than the rest of the row's work.
    const insert = stmt(
      db,
      `INSERT INTO entries (seq, utc_ms, utc_offset_min, device_ms, received_ms, event_category, event_detail, access_by, lock_ref, lock_name,
         iq_ref, user_ref, user_name, tag_ref, tag_number, source_ref, source_event_id, personal_salt, personal_digest, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source_ref, source_event_id) DO NOTHING`,
    );
    const head = readHead(db, 'entries');
    const counts = new Map<string, { hour: number; lock: number; cat: string; detail: string; n: number }>();
    const seen = new Map<number, { ms: number; seq: number; opened: number | null; n: number }>();
    const see = (ref: number | null, ms: number, seq: number, opened: boolean) => {
      if (ref === null) return;
      const s = seen.get(ref);
      if (!s) seen.set(ref, { ms, seq, opened: opened ? ms : null, n: 1 });
      else {
        s.n++;
        if (ms > s.ms) Object.assign(s, { ms, seq });
        if (opened && (s.opened === null || ms > s.opened)) s.opened = ms;
      }
    };
    // This loop runs once per event: plain locals, no per-row objects beyond what the hash needs.
    const noOne = { user_ref: null, user_name: null, tag_ref: null, tag_number: null };
    for (const p of planned) {
      const e = p.e;
      const utc = eventTime(e.time);
      const offset = ctx.offsets.offset(p.zone, utc);
      const anonymous = ctx.anonymizeBefore !== null && utc < ctx.anonymizeBefore;
      const personal = anonymous
        ? noOne
        : {
            user_ref: p.userId ? refs.ref('user', p.userId, p.user?.user_id ?? null) : null,
            user_name: p.user ? displayName(p.user) : (e.actor_name ?? null),
            tag_ref: p.tag ? refs.ref('tag', p.tag.id) : null,
            tag_number: e.tag_number,
          };
      const salt = ctx.salts.take();
      const digest = personalDigestHex(salt.hex, personal);
      const seq = head.seq + 1;
      const hash = chainHash(
        head.hash,
        entryHashBody({
          seq,
          utc_ms: utc,
          utc_offset_min: offset,
          device_ms: e.time,
          received_ms: now,
          event_category: e.event_category,
          event_detail: e.event_detail,
          access_by: e.access_by,
          lock_ref: p.lock_ref,
          lock_name: p.lock_name,
          iq_ref: p.iq_ref,
          source_ref: sourceRef,
          source_event_id: e.event_id,
          personal_digest: digest,
        }),
      );
      const inserted = insert.run(
        seq,
        utc,
        offset,
        e.time,
        now,
        e.event_category,
        e.event_detail,
        e.access_by,
        p.lock_ref,
        p.lock_name,
        p.iq_ref,
        personal.user_ref,
        personal.user_name,
        personal.tag_ref,
        personal.tag_number,
        sourceRef,
        e.event_id,
        anonymous ? null : salt.bytes,
        digest,
        hash,
      );
      if (inserted.changes === 0) {
        result.entries.duplicates++;
        continue;
      }
      head.seq = seq;
      head.hash = hash;
      result.entries.stored++;
      result.stored_entry_seqs.push(seq);
      const hour = Math.floor((utc + offset * 60_000) / 3_600_000);
      const lockKey = p.lock_ref ?? 0;
      const key = `${hour}|${lockKey}|${e.event_category}|${e.event_detail ?? ''}`;
      const c = counts.get(key);
      if (c) c.n++;
      else counts.set(key, { hour, lock: lockKey, cat: e.event_category, detail: e.event_detail ?? '', n: 1 });
      const opened = e.event_category === 'lock_opened';
      // Locks and IQs only: a few hundred at most. People's and tags' last-seen times come from their
      // day-led indexes when asked (query.ts); upserting thousands of them per batch would cost more
      // than everything else ingest does.
      see(p.lock_ref, utc, seq, opened);
      see(p.iq_ref, utc, seq, opened);
    }
    if (result.entries.stored) {
      writeHead(db, 'entries', head);
      const upCount = stmt(
        db,
        'INSERT INTO entry_counts (local_hour, lock_ref, event_category, event_detail, n) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n',
      );
      for (const c of counts.values()) upCount.run(c.hour, c.lock, c.cat, c.detail, c.n);
      // One statement for the whole batch (a JSON array of [ref, ms, seq, opened, n]): a few thousand
      // separate upserts per batch cost more than the rest of the bookkeeping together.
      const upSeen = stmt(
        db,
        `INSERT INTO audit_last_seen (ref, last_ms, last_seq, last_opened_ms, n)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?) WHERE true
         ON CONFLICT(ref) DO UPDATE SET
           last_seq = CASE WHEN excluded.last_ms >= last_ms THEN excluded.last_seq ELSE last_seq END,
           last_ms = max(last_ms, excluded.last_ms),
           last_opened_ms = CASE WHEN excluded.last_opened_ms IS NULL THEN last_opened_ms
                                 ELSE max(coalesce(last_opened_ms, 0), excluded.last_opened_ms) END,
           n = n + excluded.n`,
      );
      upSeen.run(JSON.stringify(Array.from(seen, ([ref, s]) => [ref, s.ms, s.seq, s.opened, s.n])));
    }
  }

  if (plannedIncidents.length) {
    const insert = stmt(
      db,
      `INSERT INTO incidents (seq, utc_ms, utc_offset_min, device_ms, received_ms, incident_type, lock_ref, lock_name, iq_ref, iq_name, source_ref, source_event_id, hash)
       VALUES (@seq, @utc_ms, @utc_offset_min, @device_ms, @received_ms, @incident_type, @lock_ref, @lock_name, @iq_ref, @iq_name, @source_ref, @source_event_id, @hash)
       ON CONFLICT (source_ref, source_event_id) DO NOTHING`,
    );
    const head = readHead(db, 'incidents');
    for (const p of plannedIncidents) {
      const utc = eventTime(p.e.time);
      const row = {
        seq: head.seq + 1,
        utc_ms: utc,
        utc_offset_min: ctx.offsets.offset(p.zone, utc),
        device_ms: p.e.time,
        received_ms: now,
        incident_type: p.e.incident_type,
        lock_ref: p.lock_ref,
        lock_name: p.lock_name,
        iq_ref: p.iq_ref,
        iq_name: p.iq_name,
        source_ref: sourceRef,
        source_event_id: p.e.event_id,
      };
      const hash = chainHash(head.hash, incidentHashBody(row));
      if (insert.run({ ...row, hash }).changes === 0) {
        result.incidents.duplicates++;
        continue;
      }
      head.seq = row.seq;
      head.hash = hash;
      result.incidents.stored++;
      result.stored_incident_seqs.push(row.seq);
    }
    if (result.incidents.stored) writeHead(db, 'incidents', head);
  }
  return result;
}
