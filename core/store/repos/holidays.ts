import type { HolidayCalendar, HolidayDate } from '../../domain/model.ts';
import type { HolidayCalendarDetail } from '../../contract/results.ts';
import { stmt, type ReadDb, type WriteDb } from '../db.ts';

export function listCalendars(db: ReadDb): HolidayCalendarDetail[] {
  const cals = stmt(db, 'SELECT id, customer_reference, created_at, updated_at FROM holiday_calendars ORDER BY customer_reference COLLATE NOCASE, pk').all() as HolidayCalendar[];
  return cals.map((c) => ({ ...c, dates: datesOf(db, c.id) }));
}

export function getCalendar(db: ReadDb, id: string): HolidayCalendarDetail | null {
  const c = stmt(db, 'SELECT id, customer_reference, created_at, updated_at FROM holiday_calendars WHERE id = ?').get(id) as HolidayCalendar | undefined;
  return c ? { ...c, dates: datesOf(db, id) } : null;
}

function datesOf(db: ReadDb, id: string): HolidayDate[] {
  return stmt(db, 'SELECT calendar_id, date, day_type, description FROM holiday_dates WHERE calendar_id = ? ORDER BY date').all(id) as HolidayDate[];
}

export function insertCalendar(db: WriteDb, c: HolidayCalendar): void {
  stmt(db, 'INSERT INTO holiday_calendars (id, customer_reference, created_at, updated_at) VALUES (@id, @customer_reference, @created_at, @updated_at)').run(c);
}

export function renameCalendar(db: WriteDb, id: string, name: string, now: string): void {
  stmt(db, 'UPDATE holiday_calendars SET customer_reference = ?, updated_at = ? WHERE id = ?').run(name, now, id);
}

export function upsertDate(db: WriteDb, d: HolidayDate): void {
  stmt(
    db,
    `INSERT INTO holiday_dates (calendar_id, date, day_type, description) VALUES (@calendar_id, @date, @day_type, @description)
     ON CONFLICT(calendar_id, date) DO UPDATE SET day_type = excluded.day_type, description = excluded.description`,
  ).run(d);
}

export function removeDate(db: WriteDb, calendarId: string, date: string): boolean {
  return stmt(db, 'DELETE FROM holiday_dates WHERE calendar_id = ? AND date = ?').run(calendarId, date).changes > 0;
}

export function deleteCalendar(db: WriteDb, id: string): void {
  stmt(db, 'DELETE FROM holiday_calendars WHERE id = ?').run(id);
}
