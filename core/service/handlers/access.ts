import { decide, explain, UnknownLockError, UnknownUserError } from '../../access/decide.ts';
import { invalid, notFound } from '../../contract/errors.ts';
import type { AccessGroupDetail } from '../../contract/results.ts';
import type { AccessGroup, TimeSchedule } from '../../domain/model.ts';
import type { ReadDb } from '../../store/db.ts';
import { listRows } from '../../store/list.ts';
import {
  accessGroupList,
  addGroupLock,
  addGroupUser,
  deleteAccessGroup,
  deleteSchedule,
  getAccessGroup,
  getSchedule,
  insertAccessGroup,
  insertSchedule,
  locksOfGroup,
  memberCount,
  memberIds,
  removeGroupLock,
  removeGroupUser,
  schedulesOfGroup,
  updateAccessGroup,
  updateSchedule,
} from '../../store/repos/access-groups.ts';
import { listAccessTables } from '../../store/repos/access-tables.ts';
import { deleteCalendar, getCalendar, insertCalendar, listCalendars, removeDate, renameCalendar, upsertDate } from '../../store/repos/holidays.ts';
import { getLock } from '../../store/repos/locks.ts';
import { getUser, userList } from '../../store/repos/users.ts';
import type { CommandContext, HandlerGroup } from '../context.ts';
import { delta, must, newId, patched, saveIfChanged } from './common.ts';

type Names =
  | 'access_groups.list'
  | 'access_groups.get'
  | 'access_groups.create'
  | 'access_groups.update'
  | 'access_groups.delete'
  | 'access_groups.locks.update'
  | 'access_groups.users.list'
  | 'access_groups.users.update'
  | 'access_groups.time_schedules.create'
  | 'access_groups.time_schedules.update'
  | 'access_groups.time_schedules.delete'
  | 'holiday_calendars.list'
  | 'holiday_calendars.create'
  | 'holiday_calendars.update'
  | 'holiday_calendars.delete'
  | 'access.decide'
  | 'access.explain'
  | 'access.preview'
  | 'access.tables';

export function groupDetail(db: ReadDb, id: string): AccessGroupDetail {
  const g = must(getAccessGroup(db, id), 'Access group', id);
  return { ...g, locks: locksOfGroup(db, id), user_count: memberCount(db, id), time_schedules: schedulesOfGroup(db, id) };
}

function checkCalendar(ctx: CommandContext, id: string | null | undefined): void {
  if (id && !getCalendar(ctx.db, id)) throw invalid(`holiday_calendar_id: calendar '${id}' does not exist`, [{ path: 'holiday_calendar_id', message: 'no such calendar' }]);
}

function checkAll(ids: string[], exists: (id: string) => boolean, what: string, path: string): void {
  const missing = ids.filter((id) => !exists(id));
  if (missing.length) throw invalid(`${path}: ${what} '${missing[0]}' does not exist${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}`, missing.slice(0, 50).map((m) => ({ path, message: `no ${what} '${m}'` })));
}

export const accessHandlers: HandlerGroup<Names> = {
  'access_groups.list': (ctx, input) => listRows(ctx.db, accessGroupList, input),
  'access_groups.get': (ctx, { id }) => groupDetail(ctx.db, id),
  'access_groups.create'(ctx, input) {
    checkCalendar(ctx, input.holiday_calendar_id);
    checkAll(input.lock_ids, (id) => !!getLock(ctx.db, id), 'lock', 'lock_ids');
    const g: AccessGroup = { id: newId(), customer_reference: input.customer_reference, holiday_calendar_id: input.holiday_calendar_id, created_at: ctx.nowIso, updated_at: ctx.nowIso };
    insertAccessGroup(ctx.db, g);
    for (const l of input.lock_ids) addGroupLock(ctx.db, g.id, l);
    for (const s of input.time_schedules) insertSchedule(ctx.db, { ...s, id: newId(), access_group_id: g.id }, ctx.nowIso);
    const detail = groupDetail(ctx.db, g.id);
    ctx.log({ target_type: 'access_group', target_id: g.id, after: detail });
    return detail;
  },
  'access_groups.update'(ctx, { id, ...patch }) {
    const before = must(getAccessGroup(ctx.db, id), 'Access group', id);
    checkCalendar(ctx, patch.holiday_calendar_id);
    saveIfChanged(ctx, { kind: 'access_group', id }, before, patched(before, patch), (r) => updateAccessGroup(ctx.db, r));
    return groupDetail(ctx.db, id);
  },
  'access_groups.delete'(ctx, { id }) {
    const before = groupDetail(ctx.db, id);
    const members = memberIds(ctx.db, id);
    deleteAccessGroup(ctx.db, id);
    ctx.log({ target_type: 'access_group', target_id: id, before, touches: [{ kind: 'access_group', id }, ...members.map((m) => ({ kind: 'user' as const, id: m }))] });
    return { id };
  },
  'access_groups.locks.update'(ctx, { id, add_ids, remove_ids }) {
    must(getAccessGroup(ctx.db, id), 'Access group', id);
    checkAll(add_ids, (l) => !!getLock(ctx.db, l), 'lock', 'add_ids');
    const added = add_ids.filter((l) => addGroupLock(ctx.db, id, l));
    const removed = remove_ids.filter((l) => removeGroupLock(ctx.db, id, l));
    ctx.log({ target_type: 'access_group', target_id: id, before: { removed_lock_ids: removed }, after: { added_lock_ids: added } });
    return groupDetail(ctx.db, id);
  },
  'access_groups.users.list'(ctx, { id, ...list }) {
    must(getAccessGroup(ctx.db, id), 'Access group', id);
    return listRows(ctx.db, { ...userList, where: { sql: 'u.id IN (SELECT user_id FROM access_group_users WHERE access_group_id = ?)', params: [id] } }, list);
  },
  'access_groups.users.update'(ctx, { id, add_ids, remove_ids }) {
    must(getAccessGroup(ctx.db, id), 'Access group', id);
    checkAll(add_ids, (u) => !!getUser(ctx.db, u), 'user', 'add_ids');
    const added = add_ids.filter((u) => addGroupUser(ctx.db, id, u));
    const removed = remove_ids.filter((u) => removeGroupUser(ctx.db, id, u));
    // Membership lives in the people's table records, not the group's: touch only the people.
    ctx.log({
      target_type: 'access_group',
      target_id: id,
      before: { removed_user_ids: removed },
      after: { added_user_ids: added },
      touches: [...added, ...removed].map((u) => ({ kind: 'user' as const, id: u })),
    });
    return { id, user_count: memberCount(ctx.db, id) };
  },
  'access_groups.time_schedules.create'(ctx, { access_group_id, ...fields }) {
    must(getAccessGroup(ctx.db, access_group_id), 'Access group', access_group_id);
    const s: TimeSchedule = { ...fields, id: newId(), access_group_id };
    insertSchedule(ctx.db, s, ctx.nowIso);
    ctx.log({ target_type: 'access_group', target_id: access_group_id, after: { time_schedule: s } });
    return s;
  },
  'access_groups.time_schedules.update'(ctx, { id, ...fields }) {
    const before = must(getSchedule(ctx.db, id), 'Time schedule', id);
    const after: TimeSchedule = { ...fields, id, access_group_id: before.access_group_id };
    updateSchedule(ctx.db, after, ctx.nowIso);
    ctx.log({ target_type: 'access_group', target_id: before.access_group_id, before: { time_schedule: before }, after: { time_schedule: after } });
    return after;
  },
  'access_groups.time_schedules.delete'(ctx, { id }) {
    const before = must(getSchedule(ctx.db, id), 'Time schedule', id);
    deleteSchedule(ctx.db, id);
    ctx.log({ target_type: 'access_group', target_id: before.access_group_id, before: { time_schedule: before } });
    return { id };
  },

  'holiday_calendars.list': (ctx) => listCalendars(ctx.db),
  'holiday_calendars.create'(ctx, { customer_reference, dates }) {
    const id = newId();
    insertCalendar(ctx.db, { id, customer_reference, created_at: ctx.nowIso, updated_at: ctx.nowIso });
    for (const d of dates) upsertDate(ctx.db, { ...d, calendar_id: id });
    const after = getCalendar(ctx.db, id)!;
    ctx.log({ target_type: 'holiday_calendar', target_id: id, after });
    return after;
  },
  'holiday_calendars.update'(ctx, { id, customer_reference, add_dates, remove_dates }) {
    const before = must(getCalendar(ctx.db, id), 'Holiday calendar', id);
    if (customer_reference !== undefined) renameCalendar(ctx.db, id, customer_reference, ctx.nowIso);
    for (const d of remove_dates) removeDate(ctx.db, id, d);
    for (const d of add_dates) upsertDate(ctx.db, { ...d, calendar_id: id });
    const after = getCalendar(ctx.db, id)!;
    const d = delta(before, after);
    if (d) ctx.log({ target_type: 'holiday_calendar', target_id: id, ...d });
    return after;
  },
  'holiday_calendars.delete'(ctx, { id }) {
    const before = must(getCalendar(ctx.db, id), 'Holiday calendar', id);
    deleteCalendar(ctx.db, id);
    ctx.log({ target_type: 'holiday_calendar', target_id: id, before });
    return { id };
  },

  'access.decide'(ctx, { tag_number, lock_id, at }) {
    try {
      return decide(ctx.service.engine.snapshot, tag_number, lock_id, at ? Date.parse(at) : ctx.now);
    } catch (e) {
      if (e instanceof UnknownLockError) throw notFound('Lock', lock_id);
      throw e;
    }
  },
  'access.explain'(ctx, { tag_number, user_id, lock_id, at, privacy_mode, offline }) {
    try {
      const subject = tag_number !== undefined ? { kind: 'tag' as const, tag_number } : { kind: 'user' as const, user_id: user_id! };
      return explain(ctx.service.engine.snapshot, subject, lock_id, at ? Date.parse(at) : ctx.now, { privacy_mode, offline });
    } catch (e) {
      if (e instanceof UnknownLockError) throw notFound('Lock', lock_id);
      if (e instanceof UnknownUserError) throw notFound('User', user_id!);
      throw e;
    }
  },
  'access.preview': (ctx, input) => ctx.service.preview(ctx.actor!, input, ctx.meta),
  'access.tables': (ctx) => listAccessTables(ctx.db),
};
