// One sync round with the cloud (docs/cloud-sync.md, "A sync round"): pull every kind and merge it,
// then push the outbox in order, then read the cloud's entries into the audit trail. Rounds never
// overlap, so an apply never edits an outbox row while it is being sent.
//
// Everything the round learns is written in small transactions as it goes (one per pulled record, one
// per acknowledged change, one per page of entries), so a crash at any moment loses at most the step
// in flight, and the next round carries on from what is on disk.
import type { IngestResult } from '../audit/ingest.ts';
import { ACCESS_BY, ENTRY_CATEGORIES, ENTRY_DETAILS, INCIDENT_TYPES } from '../domain/audit.ts';
import { CLOUD_KINDS, type CloudKind, type Fields, type Json } from '../domain/cloud.ts';
import { systemActor } from '../service/actor.ts';
import type { GatehouseService } from '../service/service.ts';
import { stmt, type ReadDb, type WriteDb } from '../store/db.ts';
import {
  countOutboxAttempt,
  deleteLink,
  finishOutbox,
  getCursor,
  getRecordState,
  insertLink,
  linkByCloudUserId,
  linkByCloudId,
  linkByLocalId,
  linksOfKind,
  markSyncRound,
  noteOutboxError,
  outboxCounts,
  pendingOutbox,
  pendingOutboxOf,
  putRecordState,
  setCursor,
  setLinkSuspended,
  setSyncError,
  supersedeOutbox,
  type OutboxRow,
} from '../store/repos/cloud.ts';
import { applyCloudRecord, type CloudRecord } from './apply.ts';
import { normalized, sameValue } from './conflicts.ts';
import { CloudPortError, NEW_SCHEDULE_PREFIX, type CloudEntry, type CloudIncident, type CloudPort, type CloudPush, type PushResult } from './port.ts';
import { completed, GROUP_PREFIXES } from './records.ts';
import type { SyncRoundReport } from './types.ts';

export type { SyncRoundReport };

export interface CloudSyncOptions {
  now?: () => number;
  /** How far back the entries read reaches again each round, for entries the cloud files late. */
  entriesOverlapMs?: number;
  /** Where entries start when the site has never read any: the cloud keeps 90 days. */
  entriesHistoryMs?: number;
  /** Two entries of one lock and category this close together (KS times are whole seconds), one from a hub and one from the cloud, are one event. */
  sameEventWindowMs?: number;
}

const cloudActor = systemActor('cloud sync');
const DAY = 86_400_000;
const CLOUD_SOURCE = 'cloud';
const CATEGORIES = new Set<string>(ENTRY_CATEGORIES);
const DETAILS = new Set<string>(ENTRY_DETAILS);
const METHODS = new Set<string>(ACCESS_BY);
const INCIDENTS = new Set<string>(INCIDENT_TYPES);

/** A local change the cloud cannot be told yet: it names a record the cloud does not have. */
class Unresolved extends Error {}

export class CloudSync {
  readonly #service: GatehouseService;
  readonly #port: CloudPort;
  readonly #now: () => number;
  readonly #overlapMs: number;
  readonly #historyMs: number;
  readonly #sameEventMs: number;
  #running: Promise<SyncRoundReport> | null = null;

  constructor(service: GatehouseService, port: CloudPort, opts: CloudSyncOptions = {}) {
    this.#service = service;
    this.#port = port;
    this.#now = opts.now ?? (() => service.now());
    this.#overlapMs = opts.entriesOverlapMs ?? 10 * 60_000;
    this.#historyMs = opts.entriesHistoryMs ?? 90 * DAY;
    this.#sameEventMs = opts.sameEventWindowMs ?? 999;
  }

  get running(): boolean {
    return this.#running !== null;
  }

  /** Runs a round, or joins the one under way. */
  sync(): Promise<SyncRoundReport> {
    this.#running ??= this.#round().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  get #db() {
    return this.#service.db;
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }

  async #round(): Promise<SyncRoundReport> {
    const report: SyncRoundReport = {
      started_at: this.#iso(),
      finished_at: '',
      complete: false,
      pulled: { applied: 0, unchanged: 0, deleted: 0, deferred: 0 },
      pushed: { done: 0, failed: 0, coalesced: 0, waiting: 0 },
      entries: { stored: 0, duplicates: 0, merged_with_hub: 0, skipped: 0 },
      incidents: { stored: 0, merged_with_hub: 0, skipped: 0 },
      conflicts: 0,
      error: null,
    };
    try {
      // Pull first: a field changed on both sides is found as a conflict against the base before the
      // local value is sent over the cloud's (the merge drops what it overruled from the outbox).
      await this.#pull(report);
      const pushed = await this.#push(report);
      await this.#pullEntries(report);
      await this.#pullIncidents(report);
      report.complete = pushed && report.pulled.deferred === 0;
    } catch (e) {
      report.error = describe(e);
    }
    report.finished_at = this.#iso();
    this.#db.transaction((db) => setSyncError(db, report.error, report.finished_at));
    return report;
  }

  // ── Pull ──────────────────────────────────────────────────────────────────────────────────────────

  async #pull(report: SyncRoundReport): Promise<void> {
    const deferred: CloudRecord[] = [];
    for (const kind of CLOUD_KINDS) {
      const seen = new Set<string>();
      for await (const rec of this.#port.list(kind)) {
        seen.add(rec.cloud_id);
        this.#apply(rec, report, deferred);
      }
      // Only after the whole list was read: a linked record the cloud no longer lists was deleted there.
      for (const link of linksOfKind(this.#db.read, kind)) {
        if (seen.has(link.cloud_id)) continue;
        this.#apply({ kind, cloud_id: link.cloud_id, fields: null, updated_at: this.#iso() }, report, deferred);
        report.pulled.deleted++;
      }
    }
    // A record naming one the pass had not reached yet (or a kind listed later) gets another go.
    for (let progress = true; progress && deferred.length > 0; ) {
      const again = deferred.splice(0);
      for (const rec of again) this.#apply(rec, report, deferred);
      progress = deferred.length < again.length;
    }
    report.pulled.deferred = deferred.length;
    this.#db.transaction((db) => markSyncRound(db, 'pull', this.#iso()));
  }

  #apply(rec: CloudRecord, report: SyncRoundReport, deferred: CloudRecord[]): void {
    const r = applyCloudRecord(this.#service, rec);
    if (r.outcome === 'deferred') deferred.push(rec);
    else {
      report.pulled[r.outcome]++;
      report.conflicts += r.conflicts;
    }
  }

  // ── Push ──────────────────────────────────────────────────────────────────────────────────────────

  /** Sends the outbox in order; false when a change has to wait for the next round. */
  async #push(report: SyncRoundReport): Promise<boolean> {
    for (;;) {
      const rows = pendingOutbox(this.#db.read, 500);
      if (rows.length === 0) break;
      const skip = new Set<number>();
      for (const row of rows) {
        if (skip.has(row.seq)) continue;
        const outcome = await this.#pushRow(row, report, skip);
        if (outcome === 'wait') {
          report.pushed.waiting = outboxCounts(this.#db.read).pending;
          return false;
        }
      }
    }
    this.#db.transaction((db) => markSyncRound(db, 'push', this.#iso()));
    return true;
  }

  async #pushRow(row: OutboxRow, report: SyncRoundReport, skip: Set<number>): Promise<'sent' | 'wait'> {
    let prepared: { push: CloudPush; local: Record<string, Json> | null; coalesced: number[] } | null;
    try {
      prepared = this.#prepare(row);
    } catch (e) {
      if (!(e instanceof Unresolved)) throw e;
      this.#db.transaction((db) => finishOutbox(db, row.seq, 'failed', e.message, this.#iso()));
      report.pushed.failed++;
      return 'sent';
    }
    if (prepared === null) {
      // Nothing the cloud needs: a delete of a record it never had, an update emptied by a merge.
      this.#db.transaction((db) => finishOutbox(db, row.seq, 'done', null, this.#iso()));
      return 'sent';
    }
    // Counted (and committed) before the send: after a crash mid-send the next attempt knows it may be a retry.
    this.#db.transaction((db) => countOutboxAttempt(db, row.seq));
    let result: PushResult;
    try {
      result = await this.#port.push(prepared.push);
    } catch (e) {
      const err = e instanceof CloudPortError ? e : new CloudPortError('transient', describe(e), { cause: e });
      if (err.kind === 'not_found') {
        // The cloud no longer has the record: the next pull sees it gone and weighs that against this edit.
        this.#db.transaction((db) => finishOutbox(db, row.seq, 'done', err.message, this.#iso()));
        return 'sent';
      }
      if (err.kind === 'refused') {
        this.#db.transaction((db) => finishOutbox(db, row.seq, 'failed', err.message, this.#iso()));
        report.pushed.failed++;
        return 'sent';
      }
      this.#db.transaction((db) => noteOutboxError(db, row.seq, err.message));
      if (err.kind === 'auth') throw err;
      report.error = err.message;
      return 'wait';
    }
    const { push, local, coalesced } = prepared;
    this.#db.transaction((db) => {
      const nowIso = this.#iso();
      finishOutbox(db, row.seq, 'done', null, nowIso);
      for (const seq of coalesced) {
        supersedeOutbox(db, seq, nowIso);
        skip.add(seq);
      }
      this.#acknowledge(db, row, push, local, result, nowIso);
    });
    report.pushed.done++;
    report.pushed.coalesced += coalesced.length;
    return 'sent';
  }

  /**
   * The change in cloud ids, with later pending updates of the same record folded in when everything
   * they name is in the cloud already (thirty days offline should not mean thirty days of PATCHes).
   */
  #prepare(row: OutboxRow): { push: CloudPush; local: Record<string, Json> | null; coalesced: number[] } | null {
    const db = this.#db.read;
    const kind = row.record_kind;
    const link = linkByLocalId(db, kind, row.local_id);
    const state = getRecordState(db, kind, row.local_id);
    let operation = row.operation;
    let local: Record<string, Json> | null = row.fields;
    if (operation === 'delete') {
      if (!link) return null;
    } else if (operation === 'create' && link) {
      // Linked by a pull since (the create whose answer was lost, adopted): only what the cloud lacks.
      operation = 'update';
      local = withoutBase(local ?? {}, state?.base ?? null);
    } else if (operation === 'update' && !link) {
      // Its create never reached the cloud (refused earlier): send the whole record as a create.
      if (!state?.queued) return null;
      operation = 'create';
      local = { ...state.queued };
    }
    const coalesced: number[] = [];
    if (operation !== 'delete') {
      for (const later of pendingOutboxOf(db, kind, row.local_id)) {
        if (later.seq <= row.seq) continue;
        if (later.operation !== 'update' || later.fields === null) break;
        try {
          this.#toCloud(kind, later.fields);
        } catch (e) {
          if (e instanceof Unresolved) break;
          throw e;
        }
        local = { ...local, ...later.fields };
        coalesced.push(later.seq);
      }
      if (Object.keys(local ?? {}).length === 0 && operation === 'update') return null;
    }
    const fields = local === null ? null : this.#toCloud(kind, local);
    const push: CloudPush = {
      kind,
      operation,
      cloud_id: link?.cloud_id ?? null,
      cloud_user_id: link?.cloud_user_id ?? null,
      fields,
      retry: row.attempts > 0,
    };
    if (kind === 'access_group') push.linked_schedules = this.#linkedSchedules(state?.queued ?? null, state?.base ?? null);
    return { push, local, coalesced };
  }

  #linkedSchedules(...maps: Array<Fields | null>): string[] {
    const out = new Set<string>();
    for (const m of maps) {
      for (const key of Object.keys(m ?? {})) {
        if (!key.startsWith(GROUP_PREFIXES.schedule)) continue;
        const l = linkByLocalId(this.#db.read, 'time_schedule', key.slice(GROUP_PREFIXES.schedule.length));
        if (l) out.add(l.cloud_id);
      }
    }
    return [...out];
  }

  /** Local ids to cloud ids; a reference to a record the cloud does not have throws Unresolved. */
  #toCloud(kind: CloudKind, fields: Record<string, Json>): Record<string, Json> {
    const db = this.#db.read;
    const cloudOf = (k: 'user' | 'iq' | 'lock', id: string): string => {
      const l = linkByLocalId(db, k, id);
      if (!l) throw new Unresolved(`it names ${k} ${id}, which the cloud does not have (its own change was refused or is not sent yet)`);
      return k === 'user' && kind === 'access_group' ? l.cloud_user_id! : l.cloud_id;
    };
    const out: Record<string, Json> = {};
    for (const [key, value] of Object.entries(fields)) {
      if (kind === 'tag' && key === 'user_id') out[key] = value === null ? null : cloudOf('user', value as string);
      else if (kind === 'lock' && key === 'iq_id') out[key] = value === null ? null : cloudOf('iq', value as string);
      else if (kind === 'access_group' && key !== 'customer_reference') {
        const [prefix, k] = key.startsWith(GROUP_PREFIXES.user)
          ? [GROUP_PREFIXES.user, 'user' as const]
          : key.startsWith(GROUP_PREFIXES.lock)
            ? [GROUP_PREFIXES.lock, 'lock' as const]
            : [GROUP_PREFIXES.schedule, null];
        const id = key.slice(prefix.length);
        if (k === null) {
          const l = linkByLocalId(db, 'time_schedule', id);
          if (l) out[GROUP_PREFIXES.schedule + l.cloud_id] = value;
          else if (value !== null) out[NEW_SCHEDULE_PREFIX + id] = value;
          continue;
        }
        // A member or lock already gone from the cloud needs no removal.
        if (value === null && !linkByLocalId(db, k, id)) continue;
        out[prefix + cloudOf(k, id)] = value;
      } else out[key] = value;
    }
    return out;
  }

  /** What the cloud now holds is the new base; links for what it created. One transaction with the row's end. */
  #acknowledge(db: WriteDb, row: OutboxRow, push: CloudPush, local: Record<string, Json> | null, result: PushResult, nowIso: string): void {
    const kind = row.record_kind;
    const state = getRecordState(db, kind, row.local_id);
    if (push.operation === 'delete') {
      deleteLink(db, kind, row.local_id);
      if (state) putRecordState(db, kind, row.local_id, { ...state, base: null });
      return;
    }
    const existing = linkByLocalId(db, kind, row.local_id);
    if (!existing && !linkByCloudId(db, kind, result.cloud_id)) {
      insertLink(db, { kind, local_id: row.local_id, cloud_id: result.cloud_id, cloud_user_id: kind === 'user' ? (result.cloud_user_id ?? result.cloud_id) : null }, nowIso);
    }
    for (const [localSchedule, cloudSchedule] of Object.entries(result.created_schedules ?? {})) {
      if (!linkByLocalId(db, 'time_schedule', localSchedule)) insertLink(db, { kind: 'time_schedule', local_id: localSchedule, cloud_id: cloudSchedule, cloud_user_id: null }, nowIso);
    }
    if (kind === 'user' && result.suspended !== undefined) setLinkSuspended(db, row.local_id, result.suspended);
    for (const [key, value] of Object.entries(local ?? {})) {
      if (value === null && key.startsWith(GROUP_PREFIXES.schedule)) deleteLink(db, 'time_schedule', key.slice(GROUP_PREFIXES.schedule.length));
    }
    const base = push.operation === 'create' ? completed(kind, local ?? {}) : normalized({ ...(state?.base ?? completed(kind, {})), ...local });
    putRecordState(db, kind, row.local_id, { queued: state?.queued ?? null, base, changed_at: state?.changed_at ?? {} });
  }

  // ── Entries and incidents ─────────────────────────────────────────────────────────────────────────

  /**
   * The cloud's entries or incidents into the audit trail, a page per transaction with the cursor (the
   * newest time read). Each round reads again from a little before the cursor, for events the cloud
   * files late; the trail's (source, event id) key makes a second delivery a no-op.
   */
  async #pullEvents<T extends { utc_date_time: string }>(
    what: 'entries' | 'incidents',
    pages: (since: string) => AsyncIterable<T[]>,
    map: (db: WriteDb, page: T[]) => { entries: unknown[]; incidents: unknown[] },
    counted: (r: IngestResult) => void,
  ): Promise<void> {
    const name = `${what}_since`;
    const cursor = getCursor(this.#db.read, name);
    const since = cursor ? Date.parse(cursor) - this.#overlapMs : this.#now() - this.#historyMs;
    for await (const page of pages(new Date(since).toISOString())) {
      if (page.length === 0) continue;
      this.#service.transact(cloudActor, 'entries.ingest', (ctx) => {
        const mapped = map(ctx.db, page);
        if (mapped.entries.length + mapped.incidents.length > 0) counted(ctx.service.audit.ingest(ctx, CLOUD_SOURCE, mapped.entries, mapped.incidents));
        const newest = page.reduce((m, e) => (e.utc_date_time > m ? e.utc_date_time : m), cursor ?? '');
        setCursor(ctx.db, name, new Date(Date.parse(newest)).toISOString());
      });
    }
    // A site with none yet still remembers how far it has read: weeks offline later, the next read
    // starts here and not a history window before whenever that is.
    if (cursor === null && getCursor(this.#db.read, name) === null) {
      this.#db.transaction((db) => setCursor(db, name, new Date(since).toISOString()));
    }
  }

  #pullEntries(report: SyncRoundReport): Promise<void> {
    return this.#pullEvents(
      'entries',
      (since) => this.#port.entries(since),
      (db, page) => ({ entries: this.#mapEntries(db, page, report), incidents: [] }),
      (r) => {
        report.entries.stored += r.entries.stored;
        report.entries.duplicates += r.entries.duplicates;
      },
    );
  }

  #pullIncidents(report: SyncRoundReport): Promise<void> {
    return this.#pullEvents(
      'incidents',
      (since) => this.#port.incidents(since),
      (db, page) => ({ entries: [], incidents: this.#mapIncidents(db, page, report) }),
      (r) => {
        report.incidents.stored += r.incidents.stored;
      },
    );
  }

  /**
   * Cloud entries in local ids. One the hubs already delivered (same lock, category and moment, from
   * another source) is the same event heard twice and is left out; so is a category Gatehouse does not know.
   */
  #mapEntries(db: WriteDb, page: CloudEntry[], report: SyncRoundReport): unknown[] {
    const cloudSource = this.#cloudSourceRef(db);
    const out: unknown[] = [];
    for (const e of page) {
      if (!CATEGORIES.has(e.event_category)) {
        report.entries.skipped++;
        continue;
      }
      const lock = e.lock_id ? (linkByCloudId(db, 'lock', e.lock_id)?.local_id ?? null) : null;
      const user = e.user_id ? (linkByCloudUserId(db, e.user_id)?.local_id ?? null) : null;
      const at = Date.parse(e.utc_date_time);
      if (lock && this.#heardFromHub(db, 'entries', 'event_category', e.event_category, 'lock', lock, at, cloudSource)) {
        report.entries.merged_with_hub++;
        continue;
      }
      out.push({
        event_id: e.id,
        time: new Date(at).toISOString(),
        event_category: e.event_category,
        event_detail: e.event_detail !== null && DETAILS.has(e.event_detail) ? e.event_detail : null,
        access_by: e.access_by !== null && METHODS.has(e.access_by) ? e.access_by : null,
        lock_id: lock,
        iq_id: null,
        tag_number: null,
        user_id: user && userExists(db, user) ? user : null,
      });
    }
    return out;
  }

  /** Cloud incidents in local ids, the same way: one a hub reported already is left out. */
  #mapIncidents(db: WriteDb, page: CloudIncident[], report: SyncRoundReport): unknown[] {
    const cloudSource = this.#cloudSourceRef(db);
    const out: unknown[] = [];
    for (const e of page) {
      if (!INCIDENTS.has(e.incident_type)) {
        report.incidents.skipped++;
        continue;
      }
      const lock = e.lock_id ? (linkByCloudId(db, 'lock', e.lock_id)?.local_id ?? null) : null;
      const iq = e.iq_id ? (linkByCloudId(db, 'iq', e.iq_id)?.local_id ?? null) : null;
      const at = Date.parse(e.utc_date_time);
      const heard = lock
        ? this.#heardFromHub(db, 'incidents', 'incident_type', e.incident_type, 'lock', lock, at, cloudSource)
        : iq !== null && this.#heardFromHub(db, 'incidents', 'incident_type', e.incident_type, 'iq', iq, at, cloudSource);
      if (heard) {
        report.incidents.merged_with_hub++;
        continue;
      }
      out.push({ event_id: e.id, time: new Date(at).toISOString(), incident_type: e.incident_type, lock_id: lock, iq_id: iq });
    }
    return out;
  }

  #cloudSourceRef(db: ReadDb): number {
    return (stmt(db, `SELECT ref FROM audit_refs WHERE kind = 'source' AND id = ?`).pluck().get(CLOUD_SOURCE) as number | undefined) ?? -1;
  }

  #heardFromHub(db: ReadDb, table: 'entries' | 'incidents', typeColumn: string, type: string, refKind: 'lock' | 'iq', id: string, at: number, cloudSource: number): boolean {
    const ref = stmt(db, `SELECT ref FROM audit_refs WHERE kind = ? AND id = ?`).pluck().get(refKind, id) as number | undefined;
    if (ref === undefined) return false;
    return (
      stmt(db, `SELECT 1 FROM ${table} WHERE ${typeColumn} = ? AND utc_ms BETWEEN ? AND ? AND ${refKind}_ref = ? AND source_ref <> ? LIMIT 1`)
        .pluck()
        .get(type, at - this.#sameEventMs, at + this.#sameEventMs, ref, cloudSource) !== undefined
    );
  }
}

const userExists = (db: ReadDb, id: string) => stmt(db, 'SELECT 1 FROM users WHERE id = ?').pluck().get(id) !== undefined;

/** The fields of a change the base already holds, left out. */
function withoutBase(fields: Record<string, Json>, base: Fields | null): Record<string, Json> {
  if (!base) return fields;
  return Object.fromEntries(Object.entries(fields).filter(([k, v]) => !sameValue(base[k], v)));
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
