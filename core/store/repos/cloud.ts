// The cloud sync tables (migration 0060): the switch and cursors, the outbox, the id links, the
// per-record queued/base fields and the conflicts. Values that are JSON in SQLite are parsed here.
import { randomUUID } from 'node:crypto';
import type { CloudKind, Fields, Json, LinkKind } from '../../domain/cloud.ts';
import { stmt, type ReadDb, type WriteDb } from '../db.ts';

export type OutboxOperation = 'create' | 'update' | 'delete';

export interface SyncState {
  enabled: boolean;
  cloud_site_id: string | null;
  last_pull_at: string | null;
  last_push_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  entries_continuation_token: string | null;
}

export function getSyncState(db: ReadDb): SyncState {
  const row = stmt(db, 'SELECT enabled, cloud_site_id, last_pull_at, last_push_at, last_error, last_error_at, entries_continuation_token FROM cloud_sync_state').get() as Omit<SyncState, 'enabled'> & {
    enabled: number;
  };
  return { ...row, enabled: row.enabled === 1 };
}

export function isSyncEnabled(db: ReadDb): boolean {
  return stmt(db, 'SELECT enabled FROM cloud_sync_state').pluck().get() === 1;
}

export function setSyncEnabled(db: WriteDb, enabled: boolean): void {
  stmt(db, 'UPDATE cloud_sync_state SET enabled = ?').run(enabled ? 1 : 0);
}

export interface OutboxRow {
  seq: number;
  record_kind: CloudKind;
  local_id: string;
  operation: OutboxOperation;
  fields: Record<string, Json> | null;
  idempotency_key: string;
  state: 'pending' | 'done' | 'failed' | 'superseded';
  attempts: number;
  last_error: string | null;
  created_at: string;
}

const toOutboxRow = (r: Omit<OutboxRow, 'fields'> & { fields: string | null }): OutboxRow => ({ ...r, fields: r.fields === null ? null : (JSON.parse(r.fields) as Record<string, Json>) });

export function appendOutbox(db: WriteDb, row: { kind: CloudKind; local_id: string; operation: OutboxOperation; fields: Record<string, Json> | null }, nowIso: string): void {
  stmt(db, `INSERT INTO cloud_outbox (record_kind, local_id, operation, fields, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?)`).run(
    row.kind,
    row.local_id,
    row.operation,
    row.fields === null ? null : JSON.stringify(row.fields),
    randomUUID(),
    nowIso,
  );
}

/** Pending rows in the order they must reach the cloud. */
export function pendingOutbox(db: ReadDb, limit = 1000): OutboxRow[] {
  return (stmt(db, `SELECT * FROM cloud_outbox WHERE state = 'pending' ORDER BY seq LIMIT ?`).all(limit) as Parameters<typeof toOutboxRow>[0][]).map(toOutboxRow);
}

export function pendingOutboxOf(db: ReadDb, kind: CloudKind, localId: string): OutboxRow[] {
  return (stmt(db, `SELECT * FROM cloud_outbox WHERE state = 'pending' AND record_kind = ? AND local_id = ? ORDER BY seq`).all(kind, localId) as Parameters<typeof toOutboxRow>[0][]).map(
    toOutboxRow,
  );
}

/** Rewrites a pending row's fields; with none left to send it is superseded rather than sent empty. */
export function setOutboxFields(db: WriteDb, seq: number, fields: Record<string, Json>, nowIso: string): void {
  if (Object.keys(fields).length === 0) supersedeOutbox(db, seq, nowIso);
  else stmt(db, `UPDATE cloud_outbox SET fields = ? WHERE seq = ? AND state = 'pending'`).run(JSON.stringify(fields), seq);
}

export function supersedeOutbox(db: WriteDb, seq: number, nowIso: string): void {
  stmt(db, `UPDATE cloud_outbox SET state = 'superseded', finished_at = ? WHERE seq = ? AND state = 'pending'`).run(nowIso, seq);
}

export interface Link {
  kind: LinkKind;
  local_id: string;
  cloud_id: string;
  cloud_user_id: string | null;
}

export function linkByCloudId(db: ReadDb, kind: LinkKind, cloudId: string): Link | null {
  return (stmt(db, 'SELECT kind, local_id, cloud_id, cloud_user_id FROM cloud_links WHERE kind = ? AND cloud_id = ?').get(kind, cloudId) as Link | undefined) ?? null;
}

export function linkByCloudUserId(db: ReadDb, cloudUserId: string): Link | null {
  return (stmt(db, `SELECT kind, local_id, cloud_id, cloud_user_id FROM cloud_links WHERE cloud_user_id = ?`).get(cloudUserId) as Link | undefined) ?? null;
}

export function linkByLocalId(db: ReadDb, kind: LinkKind, localId: string): Link | null {
  return (stmt(db, 'SELECT kind, local_id, cloud_id, cloud_user_id FROM cloud_links WHERE kind = ? AND local_id = ?').get(kind, localId) as Link | undefined) ?? null;
}

export function insertLink(db: WriteDb, link: Link, nowIso: string): void {
  stmt(db, 'INSERT INTO cloud_links (kind, local_id, cloud_id, cloud_user_id, linked_at) VALUES (?, ?, ?, ?, ?)').run(link.kind, link.local_id, link.cloud_id, link.cloud_user_id, nowIso);
}

export function deleteLink(db: WriteDb, kind: LinkKind, localId: string): void {
  stmt(db, 'DELETE FROM cloud_links WHERE kind = ? AND local_id = ?').run(kind, localId);
}

export interface RecordState {
  queued: Fields | null;
  base: Fields | null;
  changed_at: Record<string, number>;
}

export function getRecordState(db: ReadDb, kind: CloudKind, localId: string): RecordState | null {
  const row = stmt(db, 'SELECT queued, base, changed_at FROM cloud_records WHERE kind = ? AND local_id = ?').get(kind, localId) as
    | { queued: string | null; base: string | null; changed_at: string }
    | undefined;
  if (!row) return null;
  return { queued: row.queued === null ? null : (JSON.parse(row.queued) as Fields), base: row.base === null ? null : (JSON.parse(row.base) as Fields), changed_at: JSON.parse(row.changed_at) as Record<string, number> };
}

/** Stores a record's state; one that neither side holds any more is forgotten. */
export function putRecordState(db: WriteDb, kind: CloudKind, localId: string, s: RecordState): void {
  if (s.queued === null && s.base === null) {
    stmt(db, 'DELETE FROM cloud_records WHERE kind = ? AND local_id = ?').run(kind, localId);
    return;
  }
  stmt(
    db,
    `INSERT INTO cloud_records (kind, local_id, queued, base, changed_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (kind, local_id) DO UPDATE SET queued = excluded.queued, base = excluded.base, changed_at = excluded.changed_at`,
  ).run(kind, localId, s.queued === null ? null : JSON.stringify(s.queued), s.base === null ? null : JSON.stringify(s.base), JSON.stringify(s.changed_at));
}

/** Every record the sync engine has queued, of the given kinds (a full rescan compares them all). */
export function queuedIds(db: ReadDb, kind: CloudKind): string[] {
  return stmt(db, 'SELECT local_id FROM cloud_records WHERE kind = ? AND queued IS NOT NULL').pluck().all(kind) as string[];
}

/** Records whose queued fields mention an id (a deleted record they refer to or hold as a member). */
export function queuedMentioning(db: ReadDb, id: string): Array<{ kind: CloudKind; local_id: string }> {
  return stmt(db, `SELECT kind, local_id FROM cloud_records WHERE queued IS NOT NULL AND instr(queued, ?) > 0`).all(id) as Array<{ kind: CloudKind; local_id: string }>;
}

export interface ConflictRow {
  id: number;
  kind: CloudKind;
  local_id: string;
  field: string | null;
  local_value: Json;
  cloud_value: Json;
  base_value: Json;
  winner: 'local' | 'cloud';
  detected_at: string;
}

export function insertConflict(db: WriteDb, c: Omit<ConflictRow, 'id'>): void {
  const json = (v: Json) => (v === null ? null : JSON.stringify(v));
  stmt(
    db,
    `INSERT INTO cloud_conflicts (kind, local_id, field, local_value, cloud_value, base_value, winner, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(c.kind, c.local_id, c.field, json(c.local_value), json(c.cloud_value), json(c.base_value), c.winner, c.detected_at);
}

export function openConflicts(db: ReadDb): ConflictRow[] {
  const rows = stmt(db, 'SELECT * FROM cloud_conflicts WHERE resolved_at IS NULL ORDER BY id').all() as Array<Record<string, unknown>>;
  const parse = (v: unknown): Json => (v === null ? null : (JSON.parse(v as string) as Json));
  return rows.map((r) => ({ ...(r as unknown as ConflictRow), local_value: parse(r.local_value), cloud_value: parse(r.cloud_value), base_value: parse(r.base_value) }));
}

export interface OutboxCounts {
  pending: number;
  failed: number;
  conflicts: number;
  oldest_pending_at: string | null;
}

export function outboxCounts(db: ReadDb): OutboxCounts {
  return stmt(
    db,
    `SELECT (SELECT count(*) FROM cloud_outbox WHERE state = 'pending') AS pending,
            (SELECT count(*) FROM cloud_outbox WHERE state = 'failed') AS failed,
            (SELECT count(*) FROM cloud_conflicts WHERE resolved_at IS NULL) AS conflicts,
            (SELECT min(created_at) FROM cloud_outbox WHERE state = 'pending') AS oldest_pending_at`,
  ).get() as OutboxCounts;
}

// ── The push: attempts and outcomes of outbox rows ────────────────────────────────────────────────

/** Counted before a row is sent and committed, so a send cut short by a crash is known as a retry. */
export function countOutboxAttempt(db: WriteDb, seq: number): void {
  stmt(db, `UPDATE cloud_outbox SET attempts = attempts + 1 WHERE seq = ?`).run(seq);
}

export function finishOutbox(db: WriteDb, seq: number, state: 'done' | 'failed', error: string | null, nowIso: string): void {
  stmt(db, `UPDATE cloud_outbox SET state = ?, last_error = ?, finished_at = ? WHERE seq = ? AND state = 'pending'`).run(state, error, nowIso, seq);
}

export function noteOutboxError(db: WriteDb, seq: number, error: string): void {
  stmt(db, `UPDATE cloud_outbox SET last_error = ? WHERE seq = ?`).run(error, seq);
}

/** Failed rows, newest first: what the cloud refused for good. */
export function failedOutbox(db: ReadDb, limit = 200): OutboxRow[] {
  return (stmt(db, `SELECT * FROM cloud_outbox WHERE state = 'failed' ORDER BY seq DESC LIMIT ?`).all(limit) as Parameters<typeof toOutboxRow>[0][]).map(toOutboxRow);
}

/** Failed rows go back in line (the admin fixed what the cloud refused, or entered the IQ PIN). */
export function requeueFailedOutbox(db: WriteDb): number {
  return stmt(db, `UPDATE cloud_outbox SET state = 'pending', finished_at = NULL, attempts = 0 WHERE state = 'failed'`).run().changes;
}

/** Done and superseded rows older than the cutoff are history nobody needs; pending and failed stay. */
export function pruneOutbox(db: WriteDb, beforeIso: string): number {
  return stmt(db, `DELETE FROM cloud_outbox WHERE state IN ('done', 'superseded') AND finished_at < ?`).run(beforeIso).changes;
}

export function setLinkSuspended(db: WriteDb, localId: string, suspended: boolean): void {
  stmt(db, `UPDATE cloud_links SET suspended = ? WHERE kind = 'user' AND local_id = ?`).run(suspended ? 1 : 0, localId);
}

export function suspendedUserIds(db: ReadDb): string[] {
  return stmt(db, `SELECT local_id FROM cloud_links WHERE kind = 'user' AND suspended = 1 ORDER BY linked_at`).pluck().all() as string[];
}

/** The cloud ids of an access group's schedules that are linked here. */
export function linkedScheduleCloudIds(db: ReadDb, localScheduleIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const id of localScheduleIds) {
    const l = linkByLocalId(db, 'time_schedule', id);
    if (l) out.push(l.cloud_id);
  }
  return out;
}

export function linksOfKind(db: ReadDb, kind: LinkKind): Link[] {
  return stmt(db, 'SELECT kind, local_id, cloud_id, cloud_user_id FROM cloud_links WHERE kind = ?').all(kind) as Link[];
}

// ── Sync state: cursors, outcomes of a round ──────────────────────────────────────────────────────

export function getCursor(db: ReadDb, name: string): string | null {
  return (stmt(db, `SELECT json_extract(cursors, '$.' || ?) FROM cloud_sync_state`).pluck().get(name) as string | null) ?? null;
}

export function setCursor(db: WriteDb, name: string, value: string): void {
  stmt(db, `UPDATE cloud_sync_state SET cursors = json_set(cursors, '$.' || ?, ?)`).run(name, value);
}

export function setCloudSite(db: WriteDb, cloudSiteId: string | null): void {
  stmt(db, 'UPDATE cloud_sync_state SET cloud_site_id = ?').run(cloudSiteId);
}

export function markSyncRound(db: WriteDb, what: 'pull' | 'push', nowIso: string): void {
  stmt(db, `UPDATE cloud_sync_state SET ${what === 'pull' ? 'last_pull_at' : 'last_push_at'} = ?`).run(nowIso);
}

export function setSyncError(db: WriteDb, error: string | null, nowIso: string): void {
  stmt(db, 'UPDATE cloud_sync_state SET last_error = ?, last_error_at = ?').run(error, error === null ? null : nowIso);
}

// ── The account ───────────────────────────────────────────────────────────────────────────────────

export interface CloudAccountRow {
  api_url: string;
  identity_url: string;
  client_id: string;
  account: string | null;
  sealed_client_secret: Uint8Array | null;
  sealed_tokens: Uint8Array | null;
  sealed_otp: Uint8Array | null;
  connected_at: string;
  connected_by: string;
}

export function getCloudAccount(db: ReadDb): CloudAccountRow | null {
  return (stmt(db, 'SELECT * FROM cloud_account').get() as (CloudAccountRow & { singleton: number }) | undefined) ?? null;
}

export function putCloudAccount(db: WriteDb, a: CloudAccountRow): void {
  stmt(
    db,
    `INSERT INTO cloud_account (singleton, api_url, identity_url, client_id, account, sealed_client_secret, sealed_tokens, sealed_otp, connected_at, connected_by)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (singleton) DO UPDATE SET api_url = excluded.api_url, identity_url = excluded.identity_url, client_id = excluded.client_id, account = excluded.account,
       sealed_client_secret = excluded.sealed_client_secret, sealed_tokens = excluded.sealed_tokens, sealed_otp = excluded.sealed_otp,
       connected_at = excluded.connected_at, connected_by = excluded.connected_by`,
  ).run(a.api_url, a.identity_url, a.client_id, a.account, a.sealed_client_secret, a.sealed_tokens, a.sealed_otp, a.connected_at, a.connected_by);
}

export function setSealedTokens(db: WriteDb, sealed: Uint8Array | null): void {
  stmt(db, 'UPDATE cloud_account SET sealed_tokens = ?').run(sealed);
}

export function setSealedOtp(db: WriteDb, sealed: Uint8Array | null): void {
  stmt(db, 'UPDATE cloud_account SET sealed_otp = ?').run(sealed);
}

export function deleteCloudAccount(db: WriteDb): void {
  stmt(db, 'DELETE FROM cloud_account').run();
}
