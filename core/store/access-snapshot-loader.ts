// Loads the access snapshot (../access/snapshot.ts) from the database, in full or for a few records.
import { toScheduleRule } from '../access/schedule.ts';
import { addTag, emptySnapshot, removeTag, type AccessSnapshot, type SnapshotGroup, type SnapshotTag, type SnapshotUser } from '../access/snapshot.ts';
import type { DayType, SubscriptionState } from '../domain/enums.ts';
import type { TimeScheduleFields } from '../domain/model.ts';
import { parseLocalDate } from '../time/local.ts';
import { stmt, type ReadDb } from './db.ts';
import { SCHEDULE_BOOLEANS, withBooleans, type SqlRow } from './repos/rows.ts';
import { getSite } from './repos/site.ts';

const USER_SQL = `SELECT pk, id, user_id, first_name, last_name, blocked, subscription_state, valid_from, valid_until, remote_access,
  override_privacy_mode, toggle_easy_office_mode, toggle_manual_office_mode FROM users`;
const TAG_SQL = 'SELECT pk, id, tag_number, card_uid, user_id, blocked, lost_or_stolen, issue_counter FROM tags';

function toUser(r: SqlRow): SnapshotUser {
  return {
    pk: r.pk as number,
    id: r.id as string,
    user_id: r.user_id as string,
    first_name: r.first_name as string,
    last_name: r.last_name as string,
    blocked: r.blocked === 1,
    subscription_state: r.subscription_state as SubscriptionState,
    validFromMs: r.valid_from ? Date.parse(r.valid_from as string) : null,
    validUntilMs: r.valid_until ? Date.parse(r.valid_until as string) : null,
    remote_access: r.remote_access === 1,
    override_privacy_mode: r.override_privacy_mode === 1,
    toggle_easy_office_mode: r.toggle_easy_office_mode === 1,
    toggle_manual_office_mode: r.toggle_manual_office_mode === 1,
    groupIds: new Set(),
  };
}

function toTag(r: SqlRow): SnapshotTag {
  return {
    pk: r.pk as number,
    id: r.id as string,
    tag_number: r.tag_number as string,
    card_uid: r.card_uid as string | null,
    user_id: r.user_id as string | null,
    blocked: r.blocked === 1,
    lost_or_stolen: r.lost_or_stolen === 1,
    issue_counter: r.issue_counter as number,
  };
}

const SCHEDULE_SQL = `SELECT pk, id, access_group_id, ${SCHEDULE_BOOLEANS.join(', ')}, start_time, end_time, start_date, end_date FROM time_schedules`;

function toSchedule(r: SqlRow) {
  const fields = withBooleans<TimeScheduleFields & { id: string; access_group_id: string }>(r, SCHEDULE_BOOLEANS);
  const { id, access_group_id, ...f } = fields;
  return { pk: r.pk as number, id, access_group_id, fields: f as TimeScheduleFields, rule: toScheduleRule(f as TimeScheduleFields) };
}

export function loadSnapshot(db: ReadDb): AccessSnapshot {
  const site = getSite(db);
  const snap = emptySnapshot(site?.time_zone ?? 'UTC');
  for (const r of stmt(db, 'SELECT pk, id, customer_reference, time_zone FROM iqs').all() as SqlRow[]) {
    snap.iqs.set(r.id as string, { pk: r.pk as number, id: r.id as string, customer_reference: r.customer_reference as string, time_zone: r.time_zone as string });
  }
  for (const r of stmt(db, 'SELECT pk, id, customer_reference FROM holiday_calendars').all() as SqlRow[]) {
    snap.calendars.set(r.id as string, { pk: r.pk as number, id: r.id as string, customer_reference: r.customer_reference as string, days: new Map() });
  }
  for (const r of stmt(db, 'SELECT calendar_id, date, day_type FROM holiday_dates').all() as SqlRow[]) {
    snap.calendars.get(r.calendar_id as string)?.days.set(parseLocalDate(r.date as string)!, r.day_type as DayType);
  }
  loadLocks(db, snap, null);
  for (const r of stmt(db, USER_SQL).all() as SqlRow[]) snap.users.set(r.id as string, toUser(r));
  for (const r of stmt(db, TAG_SQL).all() as SqlRow[]) addTag(snap, toTag(r));
  for (const r of stmt(db, 'SELECT pk, id, customer_reference, holiday_calendar_id FROM access_groups').all() as SqlRow[]) {
    snap.groups.set(r.id as string, emptyGroup(r));
  }
  for (const r of stmt(db, 'SELECT access_group_id, lock_id FROM access_group_locks').all() as SqlRow[]) {
    snap.groups.get(r.access_group_id as string)?.lockIds.add(r.lock_id as string);
  }
  for (const r of stmt(db, 'SELECT access_group_id, user_id FROM access_group_users').all() as SqlRow[]) {
    snap.groups.get(r.access_group_id as string)?.memberIds.add(r.user_id as string);
    snap.users.get(r.user_id as string)?.groupIds.add(r.access_group_id as string);
  }
  for (const r of stmt(db, `${SCHEDULE_SQL} ORDER BY pk`).all() as SqlRow[]) {
    const s = toSchedule(r);
    snap.groups.get(s.access_group_id)?.schedules.push(s);
  }
  return snap;
}

function emptyGroup(r: SqlRow): SnapshotGroup {
  return {
    pk: r.pk as number,
    id: r.id as string,
    customer_reference: r.customer_reference as string,
    calendarId: r.holiday_calendar_id as string | null,
    lockIds: new Set(),
    memberIds: new Set(),
    schedules: [],
  };
}

function loadLocks(db: ReadDb, snap: AccessSnapshot, ids: string[] | null): void {
  const rows = ids
    ? ids.map((id) => stmt(db, 'SELECT * FROM locks WHERE id = ?').get(id) as SqlRow | undefined).filter((r): r is SqlRow => !!r)
    : (stmt(db, 'SELECT * FROM locks').all() as SqlRow[]);
  for (const r of rows) {
    snap.locks.set(r.id as string, {
      pk: r.pk as number,
      id: r.id as string,
      customer_reference: r.customer_reference as string,
      iq_id: r.iq_id as string | null,
      privacy_mode: r.privacy_mode === 1,
      online: r.online === 1,
      offlineTagIds: new Set(),
      easy_office_mode_schedule: null,
    });
  }
  const filter = ids ? ` WHERE lock_id IN (${ids.map(() => '?').join(',')})` : '';
  if (ids && ids.length === 0) return;
  for (const r of db.prepare(`SELECT lock_id, tag_id FROM lock_offline_keys${filter}`).all(...(ids ?? [])) as SqlRow[]) {
    snap.locks.get(r.lock_id as string)?.offlineTagIds.add(r.tag_id as string);
  }
  for (const r of db.prepare(`SELECT * FROM lock_eom_schedules${filter}`).all(...(ids ?? [])) as SqlRow[]) {
    const lock = snap.locks.get(r.lock_id as string);
    if (!lock) continue;
    const e = withBooleans<Record<string, unknown>>(r, [...SCHEDULE_BOOLEANS, 'eom_auto_start']);
    delete e.lock_id;
    lock.easy_office_mode_schedule = e as never;
  }
}

/** Re-reads people (and their group memberships); removes those that no longer exist. */
export function reloadUsers(db: ReadDb, snap: AccessSnapshot, ids: Iterable<string>): void {
  for (const id of ids) {
    const old = snap.users.get(id);
    if (old) for (const g of old.groupIds) snap.groups.get(g)?.memberIds.delete(id);
    const r = stmt(db, `${USER_SQL} WHERE id = ?`).get(id) as SqlRow | undefined;
    if (!r) {
      snap.users.delete(id);
      continue;
    }
    const u = toUser(r);
    for (const g of stmt(db, 'SELECT access_group_id FROM access_group_users WHERE user_id = ?').pluck().all(id) as string[]) {
      u.groupIds.add(g);
      snap.groups.get(g)?.memberIds.add(id);
    }
    snap.users.set(id, u);
  }
}

export function reloadTags(db: ReadDb, snap: AccessSnapshot, ids: Iterable<string>): void {
  for (const id of ids) {
    removeTag(snap, id);
    const r = stmt(db, `${TAG_SQL} WHERE id = ?`).get(id) as SqlRow | undefined;
    if (r) addTag(snap, toTag(r));
  }
}

/** Re-reads access groups: their locks, members, schedules and calendar. */
export function reloadGroups(db: ReadDb, snap: AccessSnapshot, ids: Iterable<string>): void {
  for (const id of ids) {
    const old = snap.groups.get(id);
    if (old) for (const m of old.memberIds) snap.users.get(m)?.groupIds.delete(id);
    snap.groups.delete(id);
    const r = stmt(db, 'SELECT pk, id, customer_reference, holiday_calendar_id FROM access_groups WHERE id = ?').get(id) as SqlRow | undefined;
    if (!r) continue;
    const g = emptyGroup(r);
    for (const l of stmt(db, 'SELECT lock_id FROM access_group_locks WHERE access_group_id = ?').pluck().all(id) as string[]) g.lockIds.add(l);
    for (const u of stmt(db, 'SELECT user_id FROM access_group_users WHERE access_group_id = ?').pluck().all(id) as string[]) {
      g.memberIds.add(u);
      snap.users.get(u)?.groupIds.add(id);
    }
    for (const s of stmt(db, `${SCHEDULE_SQL} WHERE access_group_id = ? ORDER BY pk`).all(id) as SqlRow[]) g.schedules.push(toSchedule(s));
    snap.groups.set(id, g);
  }
}
