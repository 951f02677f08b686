import { BATTERY_LEVELS, IQ_LINK_STATES, LOCK_TYPES, LOCKED_STATES, OFFICE_MODES } from '../../domain/enums.ts';
import type { EasyOfficeModeSchedule, Lock, Tag } from '../../domain/model.ts';
import type { FieldMap } from '../../query/filter-sql.ts';
import { stmt, type ReadDb, type WriteDb } from '../db.ts';
import type { ListSpec } from '../list.ts';
import { bit, SCHEDULE_BOOLEANS, withBooleans, type SqlRow } from './rows.ts';
import { toTag } from './tags.ts';

const BOOLS = ['left_open_alarm', 'intrusion_alarm', 'tamper', 'privacy_mode', 'online'] as const;

const SELECT = `l.*,
  (SELECT count(*) FROM lock_offline_keys k WHERE k.lock_id = l.id) AS offline_access_keys_count,
  e.lock_id AS e_lock_id, e.eom_auto_start AS e_eom_auto_start, e.monday AS e_monday, e.tuesday AS e_tuesday,
  e.wednesday AS e_wednesday, e.thursday AS e_thursday, e.friday AS e_friday, e.saturday AS e_saturday, e.sunday AS e_sunday,
  e.holiday AS e_holiday, e.special_1 AS e_special_1, e.special_2 AS e_special_2, e.start_time AS e_start_time,
  e.end_time AS e_end_time, e.start_date AS e_start_date, e.end_date AS e_end_date`;
const FROM = 'locks l LEFT JOIN lock_eom_schedules e ON e.lock_id = l.id';

function toLock(row: SqlRow): Lock {
  const eom: SqlRow = {};
  const base: SqlRow = {};
  for (const [k, v] of Object.entries(row)) {
    if (k.startsWith('e_')) eom[k.slice(2)] = v;
    else base[k] = v;
  }
  const lock = withBooleans<Lock>(base, BOOLS);
  lock.easy_office_mode_schedule = eom.lock_id ? withBooleans<EasyOfficeModeSchedule>({ ...eom, lock_id: undefined }, [...SCHEDULE_BOOLEANS, 'eom_auto_start']) : null;
  if (lock.easy_office_mode_schedule) delete (lock.easy_office_mode_schedule as unknown as SqlRow).lock_id;
  return lock;
}

export const LOCK_FIELDS: FieldMap = {
  id: { column: 'l.id', type: 'string' },
  customer_reference: { column: 'l.customer_reference', type: 'string' },
  mac: { column: 'l.mac', type: 'string' },
  lock_type: { column: 'l.lock_type', type: 'enum', values: LOCK_TYPES },
  iq_id: { column: 'l.iq_id', type: 'string' },
  iq_link_state: { column: 'l.iq_link_state', type: 'enum', values: IQ_LINK_STATES },
  locked_state: { column: 'l.locked_state', type: 'enum', values: LOCKED_STATES },
  battery_level: { column: 'l.battery_level', type: 'enum', values: BATTERY_LEVELS },
  left_open_alarm: { column: 'l.left_open_alarm', type: 'boolean' },
  intrusion_alarm: { column: 'l.intrusion_alarm', type: 'boolean' },
  tamper: { column: 'l.tamper', type: 'boolean' },
  privacy_mode: { column: 'l.privacy_mode', type: 'boolean' },
  online: { column: 'l.online', type: 'boolean' },
  office_mode: { column: 'l.office_mode', type: 'enum', values: OFFICE_MODES },
  offline_access_keys_limit: { column: 'l.offline_access_keys_limit', type: 'number' },
  floor: { column: 'l.floor', type: 'string' },
  created_at: { column: 'l.created_at', type: 'datetime' },
};

export const lockList: ListSpec<SqlRow, Lock> = {
  from: FROM,
  select: SELECT,
  fields: LOCK_FIELDS,
  searchColumns: ['l.customer_reference', 'l.mac', 'l.floor'],
  defaultOrder: [{ field: 'customer_reference', direction: 'asc' }],
  tieBreaker: 'l.pk',
  map: toLock,
};

export function getLock(db: ReadDb, id: string): Lock | null {
  const row = stmt(db, `SELECT ${SELECT} FROM ${FROM} WHERE l.id = ?`).get(id) as SqlRow | undefined;
  return row ? toLock(row) : null;
}

export function insertLock(db: WriteDb, lock: Lock): void {
  stmt(
    db,
    `INSERT INTO locks (id, customer_reference, mac, lock_type, iq_id, iq_link_state, locked_state, battery_level, left_open_alarm,
       intrusion_alarm, tamper, privacy_mode, online, office_mode, offline_access_keys_limit, floor, created_at, updated_at)
     VALUES (@id, @customer_reference, @mac, @lock_type, @iq_id, @iq_link_state, @locked_state, @battery_level, @left_open_alarm,
       @intrusion_alarm, @tamper, @privacy_mode, @online, @office_mode, @offline_access_keys_limit, @floor, @created_at, @updated_at)`,
  ).run(lockParams(lock));
}

export function updateLock(db: WriteDb, lock: Lock): void {
  stmt(
    db,
    `UPDATE locks SET customer_reference = @customer_reference, mac = @mac, lock_type = @lock_type, iq_id = @iq_id,
       iq_link_state = @iq_link_state, locked_state = @locked_state, battery_level = @battery_level, left_open_alarm = @left_open_alarm,
       intrusion_alarm = @intrusion_alarm, tamper = @tamper, privacy_mode = @privacy_mode, online = @online, office_mode = @office_mode,
       offline_access_keys_limit = @offline_access_keys_limit, floor = @floor, updated_at = @updated_at WHERE id = @id`,
  ).run(lockParams(lock));
}

function lockParams(lock: Lock): SqlRow {
  const { easy_office_mode_schedule: _e, offline_access_keys_count: _c, ...rest } = lock;
  return {
    ...rest,
    left_open_alarm: bit(lock.left_open_alarm),
    intrusion_alarm: bit(lock.intrusion_alarm),
    tamper: bit(lock.tamper),
    privacy_mode: bit(lock.privacy_mode),
    online: bit(lock.online),
  };
}

export function setEomSchedule(db: WriteDb, lockId: string, s: EasyOfficeModeSchedule | null, now: string): void {
  stmt(db, 'UPDATE locks SET updated_at = ? WHERE id = ?').run(now, lockId);
  stmt(db, 'DELETE FROM lock_eom_schedules WHERE lock_id = ?').run(lockId);
  if (!s) return;
  stmt(
    db,
    `INSERT INTO lock_eom_schedules (lock_id, eom_auto_start, monday, tuesday, wednesday, thursday, friday, saturday, sunday,
       holiday, special_1, special_2, start_time, end_time, start_date, end_date)
     VALUES (@lock_id, @eom_auto_start, @monday, @tuesday, @wednesday, @thursday, @friday, @saturday, @sunday,
       @holiday, @special_1, @special_2, @start_time, @end_time, @start_date, @end_date)`,
  ).run({
    ...s,
    lock_id: lockId,
    eom_auto_start: bit(s.eom_auto_start),
    ...Object.fromEntries(SCHEDULE_BOOLEANS.map((k) => [k, bit(s[k])])),
  });
}

export function deleteLock(db: WriteDb, id: string): void {
  stmt(db, 'DELETE FROM locks WHERE id = ?').run(id);
}

export function offlineKeyTags(db: ReadDb, lockId: string): Tag[] {
  return (stmt(db, 'SELECT t.* FROM lock_offline_keys k JOIN tags t ON t.id = k.tag_id WHERE k.lock_id = ? ORDER BY t.tag_number').all(lockId) as SqlRow[]).map(toTag);
}

export function addOfflineKey(db: WriteDb, lockId: string, tagId: string, now: string): boolean {
  return stmt(db, 'INSERT OR IGNORE INTO lock_offline_keys (lock_id, tag_id, created_at) VALUES (?, ?, ?)').run(lockId, tagId, now).changes > 0;
}

export function removeOfflineKey(db: WriteDb, lockId: string, tagId: string): boolean {
  return stmt(db, 'DELETE FROM lock_offline_keys WHERE lock_id = ? AND tag_id = ?').run(lockId, tagId).changes > 0;
}
