import type { AccessGroup, Lock, TimeSchedule, TimeScheduleFields } from '../../domain/model.ts';
import type { AccessGroupSummary } from '../../contract/results.ts';
import type { FieldMap } from '../../query/filter-sql.ts';
import { stmt, type ReadDb, type WriteDb } from '../db.ts';
import type { ListSpec } from '../list.ts';
import { bit, SCHEDULE_BOOLEANS, withBooleans, type SqlRow } from './rows.ts';

export const ACCESS_GROUP_FIELDS: FieldMap = {
  id: { column: 'g.id', type: 'string' },
  customer_reference: { column: 'g.customer_reference', type: 'string' },
  holiday_calendar_id: { column: 'g.holiday_calendar_id', type: 'string' },
  created_at: { column: 'g.created_at', type: 'datetime' },
};

export const accessGroupList: ListSpec<SqlRow, AccessGroupSummary> = {
  from: 'access_groups g',
  select: `g.*,
    (SELECT count(*) FROM access_group_locks x WHERE x.access_group_id = g.id) AS lock_count,
    (SELECT count(*) FROM access_group_users x WHERE x.access_group_id = g.id) AS user_count,
    (SELECT count(*) FROM time_schedules x WHERE x.access_group_id = g.id) AS time_schedule_count`,
  fields: ACCESS_GROUP_FIELDS,
  searchColumns: ['g.customer_reference'],
  defaultOrder: [{ field: 'customer_reference', direction: 'asc' }],
  tieBreaker: 'g.pk',
  map: (row) => withBooleans<AccessGroupSummary>(row, []),
};

export function getAccessGroup(db: ReadDb, id: string): AccessGroup | null {
  const row = stmt(db, 'SELECT * FROM access_groups WHERE id = ?').get(id) as SqlRow | undefined;
  return row ? withBooleans<AccessGroup>(row, []) : null;
}

export function insertAccessGroup(db: WriteDb, g: AccessGroup): void {
  stmt(db, 'INSERT INTO access_groups (id, customer_reference, holiday_calendar_id, created_at, updated_at) VALUES (@id, @customer_reference, @holiday_calendar_id, @created_at, @updated_at)').run(g);
}

export function updateAccessGroup(db: WriteDb, g: AccessGroup): void {
  stmt(db, 'UPDATE access_groups SET customer_reference = @customer_reference, holiday_calendar_id = @holiday_calendar_id, updated_at = @updated_at WHERE id = @id').run(g);
}

export function deleteAccessGroup(db: WriteDb, id: string): void {
  stmt(db, 'DELETE FROM access_groups WHERE id = ?').run(id);
}

export function locksOfGroup(db: ReadDb, groupId: string): Array<Pick<Lock, 'id' | 'customer_reference'>> {
  return stmt(
    db,
    'SELECT l.id, l.customer_reference FROM access_group_locks x JOIN locks l ON l.id = x.lock_id WHERE x.access_group_id = ? ORDER BY l.customer_reference COLLATE NOCASE',
  ).all(groupId) as Array<Pick<Lock, 'id' | 'customer_reference'>>;
}

export function memberIds(db: ReadDb, groupId: string): string[] {
  return stmt(db, 'SELECT user_id FROM access_group_users WHERE access_group_id = ?').pluck().all(groupId) as string[];
}

export function memberCount(db: ReadDb, groupId: string): number {
  return (stmt(db, 'SELECT count(*) AS n FROM access_group_users WHERE access_group_id = ?').get(groupId) as { n: number }).n;
}

export function addGroupLock(db: WriteDb, groupId: string, lockId: string): boolean {
  return stmt(db, 'INSERT OR IGNORE INTO access_group_locks (access_group_id, lock_id) VALUES (?, ?)').run(groupId, lockId).changes > 0;
}

export function removeGroupLock(db: WriteDb, groupId: string, lockId: string): boolean {
  return stmt(db, 'DELETE FROM access_group_locks WHERE access_group_id = ? AND lock_id = ?').run(groupId, lockId).changes > 0;
}

export function addGroupUser(db: WriteDb, groupId: string, userId: string): boolean {
  return stmt(db, 'INSERT OR IGNORE INTO access_group_users (access_group_id, user_id) VALUES (?, ?)').run(groupId, userId).changes > 0;
}

export function removeGroupUser(db: WriteDb, groupId: string, userId: string): boolean {
  return stmt(db, 'DELETE FROM access_group_users WHERE access_group_id = ? AND user_id = ?').run(groupId, userId).changes > 0;
}

const toSchedule = (row: SqlRow): TimeSchedule => withBooleans<TimeSchedule>(row, SCHEDULE_BOOLEANS);

export function schedulesOfGroup(db: ReadDb, groupId: string): TimeSchedule[] {
  return (
    stmt(
      db,
      `SELECT id, access_group_id, monday, tuesday, wednesday, thursday, friday, saturday, sunday, holiday, special_1, special_2,
         start_time, end_time, start_date, end_date FROM time_schedules WHERE access_group_id = ? ORDER BY pk`,
    ).all(groupId) as SqlRow[]
  ).map(toSchedule);
}

export function getSchedule(db: ReadDb, id: string): TimeSchedule | null {
  const row = stmt(
    db,
    `SELECT id, access_group_id, monday, tuesday, wednesday, thursday, friday, saturday, sunday, holiday, special_1, special_2,
       start_time, end_time, start_date, end_date FROM time_schedules WHERE id = ?`,
  ).get(id) as SqlRow | undefined;
  return row ? toSchedule(row) : null;
}

function scheduleParams(s: TimeScheduleFields): SqlRow {
  return { ...s, ...Object.fromEntries(SCHEDULE_BOOLEANS.map((k) => [k, bit(s[k])])) };
}

export function insertSchedule(db: WriteDb, s: TimeSchedule, now: string): void {
  stmt(
    db,
    `INSERT INTO time_schedules (id, access_group_id, monday, tuesday, wednesday, thursday, friday, saturday, sunday, holiday, special_1, special_2,
       start_time, end_time, start_date, end_date, created_at, updated_at)
     VALUES (@id, @access_group_id, @monday, @tuesday, @wednesday, @thursday, @friday, @saturday, @sunday, @holiday, @special_1, @special_2,
       @start_time, @end_time, @start_date, @end_date, @now, @now)`,
  ).run({ ...scheduleParams(s), now });
}

export function updateSchedule(db: WriteDb, s: TimeSchedule, now: string): void {
  stmt(
    db,
    `UPDATE time_schedules SET monday = @monday, tuesday = @tuesday, wednesday = @wednesday, thursday = @thursday, friday = @friday,
       saturday = @saturday, sunday = @sunday, holiday = @holiday, special_1 = @special_1, special_2 = @special_2, start_time = @start_time,
       end_time = @end_time, start_date = @start_date, end_date = @end_date, updated_at = @now WHERE id = @id`,
  ).run({ ...scheduleParams(s), now });
}

export function deleteSchedule(db: WriteDb, id: string): void {
  stmt(db, 'DELETE FROM time_schedules WHERE id = ?').run(id);
}
