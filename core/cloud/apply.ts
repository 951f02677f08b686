// Applying one record pulled from the cloud (docs/cloud-sync.md, "Pulling"): map it to the local
// record through the id links, merge it with the local version against the base, write the result
// through the handlers' repository functions in one command transaction (so the access tables follow
// and the operator log names the cloud), and remember what the cloud holds as the new base.
//
// Applying the same pulled record again changes nothing: the base is then the cloud's version, so the
// cloud side shows no change and the merge keeps the local record as it is.
import { randomUUID } from 'node:crypto';
import type { CloudKind, Fields, Json } from '../domain/cloud.ts';
import { systemActor } from '../service/actor.ts';
import type { GatehouseService } from '../service/service.ts';
import { stmt, type ReadDb, type WriteDb } from '../store/db.ts';
import { schedulesOfGroup } from '../store/repos/access-groups.ts';
import {
  deleteLink,
  getRecordState,
  insertConflict,
  insertLink,
  linkByCloudId,
  linkByCloudUserId,
  linkByLocalId,
  pendingOutboxOf,
  putRecordState,
  setOutboxFields,
  supersedeOutbox,
} from '../store/repos/cloud.ts';
import { findIqByMac } from '../store/repos/iqs.ts';
import { getTagByNumber } from '../store/repos/tags.ts';
import { findUserByEmail } from '../store/repos/users.ts';
import { mergeRecord, sameFields, sameValue, type MergeResult } from './conflicts.ts';
import { writeLocal } from './local-writes.ts';
import { cloudFields, completed, GROUP_PREFIXES, scheduleFields } from './records.ts';

/**
 * A record as the cloud holds it, in cloud ids: a tag's `user_id` is the owner's site-user id, a
 * lock's `iq_id` the IQ's cloud id, an access group's members `user:<platform user id>`,
 * `lock:<cloud lock id>` and `time_schedule:<cloud schedule id>`.
 */
export interface CloudRecord {
  kind: CloudKind;
  cloud_id: string;
  /** Users: the platform user id, the other id the cloud knows a person by. */
  cloud_user_id?: string;
  /** null: deleted in the cloud. */
  fields: Fields | null;
  /** When the cloud last changed the record. */
  updated_at: string;
}

export type ApplyResult =
  | { outcome: 'applied' | 'unchanged'; local_id: string | null; conflicts: number }
  /** It refers to a cloud record not linked here yet: nothing was written; apply it after that one. */
  | { outcome: 'deferred'; missing: { kind: string; cloud_id: string } };

class MissingLink extends Error {
  constructor(readonly missing: { kind: string; cloud_id: string }) {
    super(`no local record for cloud ${missing.kind} ${missing.cloud_id}`);
  }
}

const COMMAND = { user: 'users.update', tag: 'tags.update', lock: 'locks.update', iq: 'iqs.update', access_group: 'access_groups.update' } as const;
const cloudActor = systemActor('cloud sync');

export function applyCloudRecord(service: GatehouseService, rec: CloudRecord): ApplyResult {
  try {
    return service.transact(cloudActor, COMMAND[rec.kind], (ctx) => {
      const db = ctx.db;
      const link = linkByCloudId(db, rec.kind, rec.cloud_id);
      if (!link && rec.fields === null) return { outcome: 'unchanged', local_id: null, conflicts: 0 };
      // Natural keys are plain fields (never references), so the match needs no id mapping first.
      const localId = link?.local_id ?? naturalMatch(db, rec.kind, rec.fields) ?? randomUUID();
      const incoming = rec.fields && toLocal(db, rec.kind, localId, rec.fields, ctx.nowIso);
      if (!link) insertLink(db, { kind: rec.kind, local_id: localId, cloud_id: rec.cloud_id, cloud_user_id: rec.cloud_user_id ?? null }, ctx.nowIso);

      const state = getRecordState(db, rec.kind, localId);
      const current = cloudFields(db, rec.kind, localId);
      const cloudAt = Date.parse(rec.updated_at);
      const result = mergeRecord(state?.base ?? null, { fields: current, at: 0, fieldAt: state?.changed_at }, { fields: incoming, at: cloudAt });

      const wrote = !sameFields(result.merged, current);
      if (wrote) writeLocal(ctx, rec.kind, localId, current, result.merged);
      const conflicts = recordConflicts(db, rec.kind, localId, result, ctx.nowIso);
      settleOutbox(db, rec.kind, localId, result, incoming, ctx.nowIso);

      const changed_at = { ...(state?.changed_at ?? {}) };
      for (const f of Object.keys(incoming ?? {})) if (result.merged && sameValue(result.merged[f], incoming![f]) && !sameValue(current?.[f], incoming![f])) changed_at[f] = cloudAt;
      const deletedInCloud = incoming === null;
      // Queued is what the record holds now, so the outbox hook sees nothing of the cloud's own change.
      putRecordState(db, rec.kind, localId, { queued: cloudFields(db, rec.kind, localId), base: incoming, changed_at });
      if (deletedInCloud) deleteLink(db, rec.kind, localId);
      return { outcome: wrote || conflicts > 0 || !link ? 'applied' : 'unchanged', local_id: localId, conflicts };
    });
  } catch (e) {
    if (e instanceof MissingLink) return { outcome: 'deferred', missing: e.missing };
    throw e;
  }
}

/**
 * The record in local ids. A time schedule new to this site is matched to an unlinked schedule of the
 * same group with the same fields (our own create whose answer was lost), or gets a local id; either
 * way it is linked.
 */
function toLocal(db: WriteDb, kind: CloudKind, localId: string, fields: Fields, nowIso: string): Fields {
  const unlinkedSchedules = kind === 'access_group' ? schedulesOfGroup(db, localId).filter((s) => !linkByLocalId(db, 'time_schedule', s.id)) : [];
  const local = (k: 'user' | 'iq' | 'lock', cloudId: string) => {
    const l = linkByCloudId(db, k, cloudId);
    if (!l) throw new MissingLink({ kind: k, cloud_id: cloudId });
    return l.local_id;
  };
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === null) continue;
    if (kind === 'tag' && key === 'user_id') out[key] = local('user', value as string);
    else if (kind === 'lock' && key === 'iq_id') out[key] = local('iq', value as string);
    else if (kind === 'access_group' && key.startsWith(GROUP_PREFIXES.user)) {
      const platformId = key.slice(GROUP_PREFIXES.user.length);
      const l = linkByCloudUserId(db, platformId);
      if (!l) throw new MissingLink({ kind: 'user', cloud_id: platformId });
      out[GROUP_PREFIXES.user + l.local_id] = value;
    } else if (kind === 'access_group' && key.startsWith(GROUP_PREFIXES.lock)) out[GROUP_PREFIXES.lock + local('lock', key.slice(GROUP_PREFIXES.lock.length))] = value;
    else if (kind === 'access_group' && key.startsWith(GROUP_PREFIXES.schedule)) {
      const cloudId = key.slice(GROUP_PREFIXES.schedule.length);
      let l = linkByCloudId(db, 'time_schedule', cloudId);
      if (!l) {
        const same = unlinkedSchedules.findIndex((s) => sameValue(scheduleFields(s), value));
        const local = same >= 0 ? unlinkedSchedules.splice(same, 1)[0]!.id : randomUUID();
        insertLink(db, (l = { kind: 'time_schedule', local_id: local, cloud_id: cloudId, cloud_user_id: null }), nowIso);
      }
      out[GROUP_PREFIXES.schedule + l.local_id] = value;
    } else out[key] = value;
  }
  return completed(kind, out);
}

/**
 * An unlinked cloud record that is a local one the cloud already has: our own create whose answer was
 * lost, or a site connected to a cloud site it was set up alongside. Matched by what the cloud keeps
 * unique (e-mail, tag number, IQ MAC), and only to a local record not linked to anything else.
 */
function naturalMatch(db: ReadDb, kind: CloudKind, fields: Fields | null): string | null {
  if (kind === 'access_group' || kind === 'lock') {
    // Names are not unique: only a record of ours still waiting for its create to be acknowledged counts.
    const table = kind === 'lock' ? 'locks' : 'access_groups';
    const ids = (
      stmt(db, `SELECT id FROM ${table} WHERE customer_reference = ? AND id IN (SELECT local_id FROM cloud_outbox WHERE state = 'pending' AND record_kind = ? AND operation = 'create')`)
        .pluck()
        .all(fields?.customer_reference ?? null, kind) as string[]
    ).filter((id) => !linkByLocalId(db, kind, id));
    return ids.length === 1 ? ids[0]! : null;
  }
  const candidate =
    kind === 'user' && typeof fields?.email === 'string'
      ? findUserByEmail(db, fields.email)
      : kind === 'tag' && typeof fields?.tag_number === 'string'
        ? getTagByNumber(db, fields.tag_number)
        : kind === 'iq' && typeof fields?.mac === 'string'
          ? findIqByMac(db, fields.mac)
          : null;
  return candidate && !linkByLocalId(db, kind, candidate.id) ? candidate.id : null;
}

function recordConflicts(db: WriteDb, kind: CloudKind, localId: string, r: MergeResult, nowIso: string): number {
  for (const c of r.conflicts) insertConflict(db, { kind, local_id: localId, field: c.field, local_value: c.local, cloud_value: c.cloud, base_value: c.base, winner: c.winner, detected_at: nowIso });
  const d = r.deleteConflict;
  if (d) {
    const edited = d.edited as Json;
    insertConflict(db, {
      kind,
      local_id: localId,
      field: null,
      local_value: d.deletedBy === 'local' ? null : edited,
      cloud_value: d.deletedBy === 'cloud' ? null : edited,
      base_value: d.base as Json,
      winner: d.deletedBy,
      detected_at: nowIso,
    });
  }
  return r.conflicts.length + (d ? 1 : 0);
}

/**
 * Pending local changes the merge overruled must not be sent afterwards: a field the cloud already
 * holds as merged is dropped from them, and a record the cloud deleted has nothing left to send.
 */
function settleOutbox(db: WriteDb, kind: CloudKind, localId: string, r: MergeResult, incoming: Fields | null, nowIso: string): void {
  for (const row of pendingOutboxOf(db, kind, localId)) {
    if (r.merged === null) {
      if (incoming === null) supersedeOutbox(db, row.seq, nowIso);
      continue;
    }
    if (row.fields === null) continue;
    const merged = r.merged;
    const keep = Object.fromEntries(Object.entries(row.fields).filter(([f]) => !sameValue(merged[f], incoming?.[f])));
    if (Object.keys(keep).length !== Object.keys(row.fields).length) setOutboxFields(db, row.seq, keep, nowIso);
  }
}
