import { acknowledgeIncident, getIncident, listIncidents } from '../../audit/incidents.ts';
import { countBy, getEntry, inactivity, lastSeen, listEntries, type EntryFilter } from '../../audit/query.ts';
import { applyRetention, getRetentionSettings, setRetentionSettings } from '../../audit/retention.ts';
import { verifyAudit } from '../../audit/verify.ts';
import { GatehouseError, invalid } from '../../contract/errors.ts';
import type { IncidentRow } from '../../contract/results.ts';
import { listRows } from '../../store/list.ts';
import { operatorLogList } from '../../store/repos/operator-log.ts';
import { parseLocalDateTime } from '../../time/local.ts';
import type { HandlerGroup } from '../context.ts';
import { must } from './common.ts';

type Names =
  | 'entries.list'
  | 'entries.get'
  | 'entries.counts'
  | 'entries.last_seen'
  | 'entries.inactivity'
  | 'entries.ingest'
  | 'incidents.list'
  | 'incidents.get'
  | 'incidents.acknowledge'
  | 'audit.verify'
  | 'audit.settings.get'
  | 'audit.settings.update'
  | 'audit.retention.run'
  | 'operator_log.list';

/** Contract filter fields → the query's filter (instants as epoch ms). */
export function entryFilter(i: Partial<Record<keyof EntryFilter, unknown>>): EntryFilter {
  const f: EntryFilter = {};
  for (const k of ['lock_id', 'iq_id', 'user_id', 'tag_id', 'tag_number', 'event_category', 'event_detail', 'access_by'] as const) {
    if (typeof i[k] === 'string') f[k] = i[k] as string;
  }
  if (typeof i.from === 'string') f.from = Date.parse(i.from);
  if (typeof i.until === 'string') f.until = Date.parse(i.until);
  if (f.from !== undefined && f.until !== undefined && f.until <= f.from) throw invalid('until must be after from', [{ path: 'until', message: 'not after from' }]);
  return f;
}

const seqOf = (id: string, what = 'an entry'): number => {
  if (!/^\d{1,15}$/.test(id)) throw invalid(`id: '${id}' is not ${what} id`, [{ path: 'id', message: 'not a number' }]);
  return Number(id);
};

export const auditHandlers: HandlerGroup<Names> = {
  'entries.list': (ctx, { cursor, direction, limit, with_count, ...filter }) => listEntries(ctx.db, entryFilter(filter), { cursor, direction, limit, with_count }),
  'entries.get': (ctx, { id }) => must(getEntry(ctx.db, seqOf(id)), 'Entry', id),
  'entries.counts'(ctx, { group_by, from_local, until_local, ...filter }) {
    const fromLocal = from_local ? parseLocalDateTime(from_local)!.wallMs : undefined;
    const untilLocal = until_local ? parseLocalDateTime(until_local)!.wallMs : undefined;
    return countBy(ctx.db, group_by, { ...entryFilter(filter), fromLocal, untilLocal });
  },
  'entries.last_seen': (ctx, { kind, ids }) => lastSeen(ctx.db, kind, ids),
  'entries.inactivity': (ctx, { days, limit }) => inactivity(ctx.db, ctx.now - days * 86_400_000, limit),
  'entries.ingest': (ctx, { source, entries, incidents }) => ctx.service.audit.ingest(ctx, source, entries, incidents),

  'incidents.list': (ctx, { cursor, direction, limit, with_count, from, until, ...f }) =>
    listIncidents(ctx.db, { ...f, from: from ? Date.parse(from) : undefined, until: until ? Date.parse(until) : undefined }, { cursor, direction, limit, with_count }),
  'incidents.get': (ctx, { id }) => must(getIncident(ctx.db, seqOf(id, 'an incident')), 'Incident', id),
  'incidents.acknowledge'(ctx, { ids, comment }) {
    const by = ctx.actor?.name ?? 'unknown';
    const out: IncidentRow[] = [];
    for (const id of [...new Set(ids)]) {
      const before = must(getIncident(ctx.db, seqOf(id, 'an incident')), 'Incident', id);
      if (before.acknowledged) throw new GatehouseError('conflict', `Incident ${id} was already acknowledged by ${before.acknowledged_by} at ${before.acknowledged_at}`);
      acknowledgeIncident(ctx.db, seqOf(id), by, ctx.nowIso, comment);
      ctx.log({ target_type: 'entry', target_id: `incident:${id}`, before: { acknowledged: false }, after: { acknowledged: true, comment }, touches: [] });
      out.push(getIncident(ctx.db, seqOf(id))!);
    }
    return out;
  },

  'audit.verify': (ctx) => verifyAudit(ctx.db),
  'audit.settings.get': (ctx) => getRetentionSettings(ctx.db),
  'audit.settings.update'(ctx, patch) {
    const before = getRetentionSettings(ctx.db);
    const after = setRetentionSettings(ctx.db, patch);
    if (JSON.stringify(before) !== JSON.stringify(after)) ctx.log({ target_type: 'site', target_id: null, before, after, touches: [] });
    return after;
  },
  'audit.retention.run'(ctx, { max_rows }) {
    const r = applyRetention(ctx.db, getRetentionSettings(ctx.db), ctx.now, max_rows, ctx.nowIso);
    if (r.deleted_entries || r.deleted_incidents || r.anonymized_entries) ctx.log({ target_type: 'entry', target_id: null, after: r, touches: [] });
    return r;
  },
  'operator_log.list': (ctx, input) => listRows(ctx.db, operatorLogList, input),
};
