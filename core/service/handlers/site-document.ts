// site.export and site.import: the site model as one JSON document (docs/site-document.md, the format in
// ../../io/site-document.ts). Export reads everything in one read transaction, in a fixed order, so two
// exports of the same data differ only in exported_at. Import checks the whole document before it
// writes anything, then (into an empty site model, or with replace after removing the current one)
// writes it in the command's one transaction: a failure anywhere leaves the installation as it was.
import { conflict, invalid } from '../../contract/errors.ts';
import type { SiteDocumentCounts } from '../../contract/results.ts';
import type { Iq, Lock } from '../../domain/model.ts';
import {
  checkSiteDocument,
  documentCounts,
  SITE_DOCUMENT_FORMAT,
  SITE_DOCUMENT_VERSION,
  type ParsedSiteDocument,
  type SiteDocument,
  type SiteDocumentAccessGroup,
  type SiteDocumentHolidayCalendar,
  type SiteDocumentLock,
} from '../../io/site-document.ts';
import { stmt, type ReadDb } from '../../store/db.ts';
import {
  addGroupUser,
  addGroupLock,
  deleteAccessGroup,
  getAccessGroup,
  insertAccessGroup,
  insertSchedule,
  locksOfGroup,
  memberIds,
  schedulesOfGroup,
} from '../../store/repos/access-groups.ts';
import { deleteCalendar, getCalendar, insertCalendar, upsertDate } from '../../store/repos/holidays.ts';
import { deleteIq, getIq, insertIq } from '../../store/repos/iqs.ts';
import { addOfflineKey, deleteLock, getLock, insertLock, offlineKeyTags, setEomSchedule } from '../../store/repos/locks.ts';
import { getSite, updateSite } from '../../store/repos/site.ts';
import { deleteTag, getTag, insertTag } from '../../store/repos/tags.ts';
import { deleteUser, getUser, insertUser } from '../../store/repos/users.ts';
import { DEVICE_STATE_IQ, deviceStateLock } from '../../domain/device-state.ts';
import type { CommandContext, HandlerGroup } from '../context.ts';
import { must } from './common.ts';

/** The tables of the site model, in an order that can be deleted one by one (referrers first). */
const MODEL_TABLES = ['access_groups', 'holiday_calendars', 'tags', 'users', 'locks', 'iqs'] as const;
type ModelTable = (typeof MODEL_TABLES)[number];

/** Ids of a table in export order: by creation, then id. Table names are the constants above. */
function idsOf(db: ReadDb, table: ModelTable): string[] {
  return stmt(db, `SELECT id FROM ${table} ORDER BY created_at, id`).pluck().all() as string[];
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function exportDocument(db: ReadDb, exportedAt: string): SiteDocument {
  const site = must(getSite(db), 'Site', 'this installation');
  const locks = idsOf(db, 'locks').map((id): SiteDocumentLock => {
    const { offline_access_keys_count: _count, ...lock } = getLock(db, id)!;
    return { ...lock, offline_key_tag_ids: offlineKeyTags(db, id).map((t) => t.id) };
  });
  const tags = idsOf(db, 'tags').map((id) => {
    const { owner: _owner, ...tag } = getTag(db, id)!;
    return tag;
  });
  const calendars = idsOf(db, 'holiday_calendars').map((id): SiteDocumentHolidayCalendar => {
    const c = getCalendar(db, id)!;
    return { ...c, dates: c.dates.map(({ calendar_id: _c, ...d }) => d) };
  });
  const groups = idsOf(db, 'access_groups').map(
    (id): SiteDocumentAccessGroup => ({
      ...getAccessGroup(db, id)!,
      lock_ids: locksOfGroup(db, id)
        .map((l) => l.id)
        .sort(byString),
      user_ids: memberIds(db, id).sort(byString),
      time_schedules: schedulesOfGroup(db, id).map(({ access_group_id: _g, ...t }) => t),
    }),
  );
  return {
    format: SITE_DOCUMENT_FORMAT,
    version: SITE_DOCUMENT_VERSION,
    exported_at: exportedAt,
    site: { id: site.id, site_uid: site.site_uid, customer_reference: site.customer_reference, time_zone: site.time_zone },
    iqs: idsOf(db, 'iqs').map((id) => getIq(db, id)!),
    locks,
    users: idsOf(db, 'users').map((id) => getUser(db, id)!),
    tags,
    holiday_calendars: calendars,
    access_groups: groups,
  };
}

function currentCounts(db: ReadDb): Omit<SiteDocumentCounts, 'time_schedules'> & { total: number } {
  const count = (table: ModelTable) => (stmt(db, `SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  const c = {
    iqs: count('iqs'),
    locks: count('locks'),
    users: count('users'),
    tags: count('tags'),
    access_groups: count('access_groups'),
    holiday_calendars: count('holiday_calendars'),
  };
  return { ...c, total: Object.values(c).reduce((a, b) => a + b, 0) };
}

const LABELS: Record<ModelTable, [string, string]> = {
  iqs: ['IQ', 'IQs'],
  locks: ['lock', 'locks'],
  users: ['person', 'people'],
  tags: ['tag', 'tags'],
  access_groups: ['access group', 'access groups'],
  holiday_calendars: ['holiday calendar', 'holiday calendars'],
};

function describeCounts(c: Record<ModelTable, number>): string {
  return (Object.keys(LABELS) as ModelTable[])
    .filter((k) => c[k] > 0)
    .map((k) => `${c[k]} ${LABELS[k][c[k] === 1 ? 0 : 1]}`)
    .join(', ');
}

/** Reports progress through ctx.meta.onProgress: at the start, every 1 % and at the end. */
function progress(ctx: CommandContext, total: number, phase: string): () => void {
  const every = Math.max(1, Math.floor(total / 100));
  let done = 0;
  ctx.meta.onProgress?.(0, total, phase);
  return () => {
    done++;
    if (done % every === 0 || done === total) ctx.meta.onProgress?.(done, total, phase);
  };
}

function removeModel(ctx: CommandContext): void {
  const ids = MODEL_TABLES.map((t) => [t, idsOf(ctx.db, t)] as const);
  const step = progress(
    ctx,
    ids.reduce((n, [, list]) => n + list.length, 0),
    'removing',
  );
  const remove: Record<ModelTable, (id: string) => void> = {
    access_groups: (id) => deleteAccessGroup(ctx.db, id),
    holiday_calendars: (id) => deleteCalendar(ctx.db, id),
    tags: (id) => deleteTag(ctx.db, id),
    users: (id) => deleteUser(ctx.db, id),
    locks: (id) => deleteLock(ctx.db, id),
    iqs: (id) => deleteIq(ctx.db, id),
  };
  for (const [table, list] of ids) {
    for (const id of list) {
      remove[table](id);
      step();
    }
  }
}

function writeModel(ctx: CommandContext, doc: ParsedSiteDocument): void {
  const c = documentCounts(doc);
  const step = progress(ctx, c.iqs + c.locks + c.users + c.tags + c.holiday_calendars + c.access_groups, 'importing');
  for (const { dates, ...cal } of doc.holiday_calendars) {
    insertCalendar(ctx.db, cal);
    for (const d of dates) upsertDate(ctx.db, { ...d, calendar_id: cal.id });
    step();
  }
  for (const q of doc.iqs) {
    const iq: Iq = {
      id: q.id,
      mac: q.mac,
      customer_reference: q.customer_reference,
      time_zone: q.time_zone,
      subscribed: q.subscribed,
      reset_date: q.reset_date,
      firmware: q.firmware,
      serial: q.serial,
      ...DEVICE_STATE_IQ,
      created_at: q.created_at,
      updated_at: q.updated_at,
    };
    insertIq(ctx.db, iq);
    step();
  }
  for (const l of doc.locks) {
    const lock: Lock = {
      id: l.id,
      customer_reference: l.customer_reference,
      mac: l.mac,
      lock_type: l.lock_type,
      iq_id: l.iq_id,
      ...deviceStateLock(l.iq_id),
      offline_access_keys_limit: l.offline_access_keys_limit,
      offline_access_keys_count: 0,
      easy_office_mode_schedule: l.easy_office_mode_schedule,
      floor: l.floor,
      created_at: l.created_at,
      updated_at: l.updated_at,
    };
    insertLock(ctx.db, lock);
    if (l.easy_office_mode_schedule) setEomSchedule(ctx.db, l.id, l.easy_office_mode_schedule, l.updated_at);
    step();
  }
  for (const u of doc.users) {
    insertUser(ctx.db, u);
    step();
  }
  for (const t of doc.tags) {
    insertTag(ctx.db, t);
    step();
  }
  // Offline keys need both their lock and their tag.
  for (const l of doc.locks) for (const t of l.offline_key_tag_ids) addOfflineKey(ctx.db, l.id, t, ctx.nowIso);
  for (const { lock_ids, user_ids, time_schedules, ...g } of doc.access_groups) {
    insertAccessGroup(ctx.db, g);
    for (const l of lock_ids) addGroupLock(ctx.db, g.id, l);
    for (const u of user_ids) addGroupUser(ctx.db, g.id, u);
    // In document order: the group's order decides which schedule is reported as the one that granted.
    for (const t of time_schedules) insertSchedule(ctx.db, { ...t, access_group_id: g.id }, ctx.nowIso);
    step();
  }
}

export const siteDocumentHandlers: HandlerGroup<'site.export' | 'site.import'> = {
  'site.export'(ctx) {
    // One read transaction: a consistent snapshot even while a running server writes to the file.
    return ctx.db.transaction(() => exportDocument(ctx.db, ctx.nowIso))();
  },

  'site.import'(ctx, { document, replace, dry_run }) {
    const checked = checkSiteDocument(document as unknown);
    if (!checked.document) {
      const first = checked.issues[0]!;
      const more = checked.issues.length > 1 ? ` (and ${checked.issues.length - 1} more)` : '';
      throw invalid(`The site document was not imported: ${first.path}: ${first.message}${more}`, checked.issues);
    }
    const doc = checked.document;
    const counts = documentCounts(doc);
    const before = currentCounts(ctx.db);
    if (before.total > 0 && !replace) {
      const { total: _t, ...existing } = before;
      throw conflict(
        `This installation already has a site model (${describeCounts(existing)}). Import with --replace (replace: true) to replace it with the document, or import into a new installation.`,
      );
    }
    if (dry_run) return { counts, dry_run: true };

    const site = must(getSite(ctx.db), 'Site', 'this installation');
    if (before.total > 0) removeModel(ctx);
    // The site keeps its own id and uid; it takes the document's name and zone.
    updateSite(ctx.db, { customer_reference: doc.site.customer_reference, time_zone: doc.site.time_zone }, ctx.nowIso);
    writeModel(ctx, doc);

    const { total: _t, ...replaced } = before;
    ctx.log({
      target_type: 'site',
      target_id: site.id,
      before: before.total > 0 ? { counts: replaced, customer_reference: site.customer_reference, time_zone: site.time_zone } : null,
      after: {
        counts,
        replaced: before.total > 0,
        customer_reference: doc.site.customer_reference,
        time_zone: doc.site.time_zone,
        source: { site_id: doc.site.id ?? null, site_uid: doc.site.site_uid ?? null, exported_at: doc.exported_at },
      },
      // Everything changed: the access engine reloads the whole snapshot and recompiles every IQ.
      touches: [{ kind: 'site', id: site.id }],
    });
    return { counts, dry_run: false };
  },
};
