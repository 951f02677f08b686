// Cloud sync for the admin: connect, status, sync now, conflicts and refused changes. The network
// work runs after the command's transaction (a Later); the CloudService writes what it learns in
// transactions of its own.
import type { CloudService } from '../../cloud/cloud-service.ts';
import { writeLocal } from '../../cloud/local-writes.ts';
import { cloudFields } from '../../cloud/records.ts';
import type { CloudConflict, CloudFailedChange, CloudRecordKind } from '../../cloud/types.ts';
import { GatehouseError, notFound } from '../../contract/errors.ts';
import type { Fields } from '../../domain/cloud.ts';
import { stmt, type ReadDb } from '../../store/db.ts';
import { failedOutbox, openConflicts } from '../../store/repos/cloud.ts';
import type { HandlerGroup, QueryContext } from '../context.ts';
import { later } from '../later.ts';

type Names =
  | 'cloud.status'
  | 'cloud.connect'
  | 'cloud.connect_browser'
  | 'cloud.disconnect'
  | 'cloud.set_otp'
  | 'cloud.sync_now'
  | 'cloud.conflicts.list'
  | 'cloud.conflicts.resolve'
  | 'cloud.failed.list'
  | 'cloud.failed.retry';

function cloudOf(ctx: Pick<QueryContext, 'service'>): CloudService {
  const c = ctx.service.cloud;
  if (!c) throw new GatehouseError('unavailable', 'This Gatehouse runs without cloud sync (no cloud connector)');
  return c;
}

const actorOf = (ctx: Pick<QueryContext, 'actor'>) => {
  if (!ctx.actor) throw new GatehouseError('unauthenticated', 'Sign in first');
  return ctx.actor;
};

/** What the admin knows a record by; for a record gone here, from the edited values a conflict kept. */
function labelOf(db: ReadDb, kind: CloudRecordKind, id: string, kept: unknown): { label: string; exists: boolean } {
  const fields = cloudFields(db, kind, id) ?? (kept && typeof kept === 'object' ? (kept as Fields) : null);
  const exists = stmt(db, `SELECT 1 FROM ${{ iq: 'iqs', lock: 'locks', user: 'users', tag: 'tags', access_group: 'access_groups' }[kind]} WHERE id = ?`).pluck().get(id) !== undefined;
  if (!fields) return { label: id, exists };
  const f = fields as Record<string, unknown>;
  const label =
    kind === 'user'
      ? `${(f.first_name as string) ?? ''} ${(f.last_name as string) ?? ''}`.trim() || ((f.email as string) ?? id)
      : kind === 'tag'
        ? ((f.tag_number as string) ?? id)
        : ((f.customer_reference as string) ?? id);
  return { label, exists };
}

export const cloudHandlers: HandlerGroup<Names> = {
  'cloud.status': (ctx) => cloudOf(ctx).status(),

  'cloud.connect'(ctx, { username, password, ...cfg }) {
    const cloud = cloudOf(ctx);
    const actor = actorOf(ctx);
    return later(() => cloud.connect(actor, { ...cfg, identity_url: cfg.identity_url ?? cfg.api_url, client_secret: cfg.client_secret ?? null }, username, password));
  },

  'cloud.connect_browser'(ctx, cfg) {
    const cloud = cloudOf(ctx);
    const actor = actorOf(ctx);
    return later(() => cloud.connectInBrowser(actor, { ...cfg, identity_url: cfg.identity_url ?? cfg.api_url, client_secret: cfg.client_secret ?? null }));
  },

  'cloud.disconnect'(ctx) {
    const cloud = cloudOf(ctx);
    const actor = actorOf(ctx);
    return later(async () => cloud.disconnect(actor));
  },

  'cloud.set_otp'(ctx, { secret, pin }) {
    const cloud = cloudOf(ctx);
    const actor = actorOf(ctx);
    if ((secret === null) !== (pin === null)) throw new GatehouseError('validation', 'Give both the IQ secret and the PIN, or neither to clear them');
    return later(async () => cloud.setOtp(actor, secret === null || pin === null ? null : { secret, pin }));
  },

  'cloud.sync_now'(ctx) {
    const cloud = cloudOf(ctx);
    return later(() => cloud.syncNow());
  },

  'cloud.conflicts.list': (ctx): CloudConflict[] =>
    openConflicts(ctx.db).map((c) => ({
      ...c,
      ...labelOf(ctx.db, c.kind, c.local_id, c.field === null ? (c.local_value ?? c.cloud_value) : null),
    })),

  'cloud.conflicts.resolve'(ctx, { id, take }) {
    const c = openConflicts(ctx.db).find((x) => x.id === id);
    if (!c) throw notFound('Open conflict', String(id));
    const other = c.winner === 'local' ? 'cloud' : 'local';
    const resolution = take === 'winner' ? ('kept_winner' as const) : other === 'local' ? ('took_local' as const) : ('took_cloud' as const);
    if (take === 'other') {
      const current = cloudFields(ctx.db, c.kind, c.local_id);
      const value = other === 'local' ? c.local_value : c.cloud_value;
      let next: Fields | null;
      if (c.field === null) {
        // A delete against an edit: the other side is the edited record; bring it back as it was edited.
        next = value as Fields | null;
      } else {
        if (!current) throw new GatehouseError('conflict', `The ${c.kind} this conflict is about no longer exists here`);
        next = { ...current, [c.field]: value };
      }
      // An ordinary local change: the outbox hook sends it to the cloud like any other.
      writeLocal(ctx, c.kind, c.local_id, current, next);
    }
    stmt(ctx.db, 'UPDATE cloud_conflicts SET resolved_at = ?, resolution = ? WHERE id = ?').run(ctx.nowIso, resolution, id);
    ctx.afterCommit(() => ctx.service.cloud?.localChanges());
    ctx.log({ target_type: c.kind, target_id: c.local_id, after: { cloud_conflict_resolved: { field: c.field, resolution } } });
    return { id, resolution };
  },

  'cloud.failed.list': (ctx): CloudFailedChange[] =>
    failedOutbox(ctx.db).map((r) => ({
      seq: r.seq,
      kind: r.record_kind,
      local_id: r.local_id,
      label: labelOf(ctx.db, r.record_kind, r.local_id, r.fields).label,
      operation: r.operation,
      error: r.last_error,
      created_at: r.created_at,
    })),

  'cloud.failed.retry'(ctx) {
    const cloud = cloudOf(ctx);
    const actor = actorOf(ctx);
    return later(async () => ({ requeued: cloud.retryFailed(actor) }));
  },
};
