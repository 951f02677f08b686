// The outbox hook: called by the service inside every command's transaction, after the handler and
// before the commit, so an outbox row exists exactly when the change it describes committed.
//
// It does not trust handlers to describe their changes in cloud terms. It takes what the command
// touched, reads those records' cloud fields as they now are, and compares them with the fields last
// queued: whatever differs is the change to send. A touch that changed nothing the cloud has (a
// battery report, a rename to the same name) writes nothing, and a cascade the handler did not log
// (a tag losing its owner when the owner is deleted) is found through the records that mention it.
import { CLOUD_KINDS, type CloudKind, type Json } from '../domain/cloud.ts';
import type { SiteDatabase, WriteDb } from '../store/db.ts';
import { appendOutbox, getRecordState, isSyncEnabled, putRecordState, setSyncEnabled, queuedIds, queuedMentioning, type OutboxOperation } from '../store/repos/cloud.ts';
import { changedFields, sameFields } from './conflicts.ts';
import { allIds, cloudFields, groupsWithUser } from './records.ts';

/** What a command touched, by kind (the service's ChangeSet and operator-log targets). */
export type Touched = ReadonlyMap<string, ReadonlySet<string>>;


interface Change {
  kind: CloudKind;
  id: string;
  operation: OutboxOperation;
  fields: Record<string, Json> | null;
}

/** Appends the outbox rows for what a command changed (how many); nothing at all while sync is off. */
export function recordCloudChanges(db: WriteDb, touched: Touched, now: number): number {
  if (!isSyncEnabled(db)) return 0;
  const work: Array<[CloudKind, string]> = [];
  const seen = new Set<string>();
  const add = (kind: CloudKind, id: string) => {
    const key = `${kind}\u0000${id}`;
    if (seen.has(key)) return;
    seen.add(key);
    work.push([kind, id]);
  };
  // A touch of the site means the command replaced or reloaded the whole model (a site document).
  const everything = touched.has('site');
  for (const kind of CLOUD_KINDS) {
    const ids = everything ? [...allIds(db, kind), ...queuedIds(db, kind)] : [...(touched.get(kind) ?? [])];
    for (const id of ids) add(kind, id);
  }
  // An import may log a new membership against the person only.
  for (const [kind, id] of [...work]) if (kind === 'user') for (const g of groupsWithUser(db, id)) add('access_group', g);

  const changes: Change[] = [];
  for (let i = 0; i < work.length; i++) {
    const [kind, id] = work[i]!;
    const current = cloudFields(db, kind, id);
    const state = getRecordState(db, kind, id);
    const queued = state?.queued ?? null;
    if (sameFields(current, queued)) continue;
    const changed_at = { ...(state?.changed_at ?? {}) };
    if (current === null) {
      changes.push({ kind, id, operation: 'delete', fields: null });
      // Whoever held or referred to it changed with it (foreign keys cascade without a log record).
      for (const m of queuedMentioning(db, id)) add(m.kind, m.local_id);
    } else {
      const fields = queued === null ? { ...current } : changedFields(queued, current);
      for (const f of Object.keys(changedFields(queued ?? {}, current))) changed_at[f] = now;
      changes.push({ kind, id, operation: queued === null ? 'create' : 'update', fields });
    }
    putRecordState(db, kind, id, { queued: current, base: state?.base ?? null, changed_at });
  }

  // The cloud must hear of a record before anything refers to it, and of a reference's removal before
  // the record goes: creates and updates in dependency order, then deletes in the reverse order.
  const rank = (c: Change) => (c.operation === 'delete' ? 2 * CLOUD_KINDS.length - CLOUD_KINDS.indexOf(c.kind) : CLOUD_KINDS.indexOf(c.kind));
  const ordered = changes.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i);
  const nowIso = new Date(now).toISOString();
  for (const { c } of ordered) appendOutbox(db, { kind: c.kind, local_id: c.id, operation: c.operation, fields: c.fields }, nowIso);
  return ordered.length;
}

/**
 * Switches sync on or off for the site. Switching on compares every record with what was last queued,
 * so the records that existed before (or changed while sync was off) are queued as one batch.
 */
export function setCloudSyncEnabled(db: SiteDatabase, enabled: boolean, now: number): void {
  db.transaction((w) => {
    setSyncEnabled(w, enabled);
    if (enabled) recordCloudChanges(w, new Map([['site', new Set<string>()]]), now);
  });
}
