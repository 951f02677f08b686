// Time schedules as rules over instants. A schedule window belongs to the local date it starts on:
// it opens at that date's start_time and closes after end_time (the next day when end_time is earlier
// than start_time). Both ends are resolved to instants with `resolveWallTime`, so on the 23- and
// 25-hour days a window keeps its length instead of vanishing or happening twice. On a date a holiday
// calendar marks, the date's day type replaces its weekday.
import type { DayType, Weekday } from '../domain/enums.ts';
import { WEEKDAYS } from '../domain/enums.ts';
import type { TimeScheduleFields } from '../domain/model.ts';
import { parseLocalDateTime, parseTimeOfDay, weekdayOf } from '../time/local.ts';
import { DAY_MS, resolveWallTime, wallTimeOf, type OffsetFn } from '../time/zone.ts';

export const DAY_TYPE_BITS: Record<DayType, number> = { holiday: 1 << 7, special_1: 1 << 8, special_2: 1 << 9 };
export const WEEKDAY_MASK = 0x7f;

/** A time schedule reduced to numbers: what both the core and a compiled table evaluate. */
export interface ScheduleRule {
  /** Bits 0–6 Monday–Sunday, 7 holiday, 8 special_1, 9 special_2. */
  mask: number;
  /** Seconds after local midnight. */
  startSec: number;
  /** Inclusive last second of the window. */
  endSec: number;
  /** Wall ms from which the schedule applies (inclusive), or null. */
  fromWall: number | null;
  /** Wall ms at which the schedule stops applying (exclusive), or null. */
  untilWall: number | null;
}

/** The date-to-day-type map of one holiday calendar, keyed by local day number. */
export type DayTypeOf = (day: number) => DayType | null;
export const NO_HOLIDAYS: DayTypeOf = () => null;

export type ScheduleVerdict = 'open' | 'holiday' | 'outside_window' | 'before_start_date' | 'after_end_date';

export function toScheduleRule(s: TimeScheduleFields): ScheduleRule {
  let mask = 0;
  WEEKDAYS.forEach((day, i) => {
    if (s[day]) mask |= 1 << i;
  });
  if (s.holiday) mask |= DAY_TYPE_BITS.holiday;
  if (s.special_1) mask |= DAY_TYPE_BITS.special_1;
  if (s.special_2) mask |= DAY_TYPE_BITS.special_2;
  const startSec = parseTimeOfDay(s.start_time);
  const endSec = parseTimeOfDay(s.end_time);
  if (startSec === null || endSec === null) throw new RangeError(`Malformed schedule times ${s.start_time}–${s.end_time}`);
  return { mask, startSec, endSec, fromWall: boundStart(s.start_date), untilWall: boundEnd(s.end_date) };
}

function boundStart(text: string | null): number | null {
  if (text === null) return null;
  const b = parseLocalDateTime(text);
  if (!b) throw new RangeError(`Malformed start_date '${text}'`);
  return b.wallMs;
}

/** A date-only end includes that whole day; a date-time end includes that second. */
function boundEnd(text: string | null): number | null {
  if (text === null) return null;
  const b = parseLocalDateTime(text);
  if (!b) throw new RangeError(`Malformed end_date '${text}'`);
  return b.dateOnly ? b.wallMs + DAY_MS : b.wallMs + 1000;
}

/** Whether the rule selects a local date, given the date's day type. */
export function ruleSelectsDay(rule: ScheduleRule, day: number, dayType: DayType | null): boolean {
  const bit = dayType ? DAY_TYPE_BITS[dayType] : 1 << weekdayOf(day);
  return (rule.mask & bit) !== 0;
}

/**
 * The instants [start, end) of the window that starts on local date `day`. A bound skipped by a
 * spring-forward gap is clamped to the end of the gap, so a window that straddles the gap keeps the
 * wall times that exist; a window lying wholly inside the gap moves forward by the gap instead of
 * vanishing. A bound repeated by a fall-back overlap takes its first occurrence, so the window happens
 * once.
 */
export function windowInterval(rule: ScheduleRule, day: number, offsetAt: OffsetFn): [number, number] {
  const startWall = day * DAY_MS + rule.startSec * 1000;
  const endWall = (rule.endSec < rule.startSec ? day + 1 : day) * DAY_MS + (rule.endSec + 1) * 1000;
  const start = resolveWallTime(offsetAt, startWall, 'clamp');
  const end = resolveWallTime(offsetAt, endWall, 'clamp');
  if (end > start) return [start, end];
  return [resolveWallTime(offsetAt, startWall, 'shift'), resolveWallTime(offsetAt, endWall, 'shift')];
}

export function evaluateSchedule(rule: ScheduleRule, t: number, offsetAt: OffsetFn, dayTypeOf: DayTypeOf): ScheduleVerdict {
  if (rule.fromWall !== null && t < resolveWallTime(offsetAt, rule.fromWall, 'clamp')) return 'before_start_date';
  if (rule.untilWall !== null && t >= resolveWallTime(offsetAt, rule.untilWall, 'clamp')) return 'after_end_date';
  const day = Math.floor(wallTimeOf(offsetAt, t) / DAY_MS);
  let closedByDayType = false;
  // The window containing t can only have started on the local date of t or the one before; the
  // date after is checked too because a fall-back overlap can put t's wall date a day behind.
  for (let d = day - 1; d <= day + 1; d++) {
    const weekdayBit = 1 << weekdayOf(d);
    const dayType = dayTypeOf(d);
    const selected = (rule.mask & (dayType ? DAY_TYPE_BITS[dayType] : weekdayBit)) !== 0;
    const selectedByWeekday = (rule.mask & weekdayBit) !== 0;
    if (!selected && !selectedByWeekday) continue;
    const [start, end] = windowInterval(rule, d, offsetAt);
    if (t < start || t >= end) continue;
    if (selected) return 'open';
    closedByDayType = true;
  }
  return closedByDayType ? 'holiday' : 'outside_window';
}

/** "Mon–Fri 08:00–18:00" style label for explanations. */
export function describeSchedule(s: TimeScheduleFields): string {
  const days = WEEKDAYS.filter((d) => s[d]).map(shortDay);
  const extras = (['holiday', 'special_1', 'special_2'] as const).filter((k) => s[k]);
  const range = `${s.start_time}–${s.end_time}`;
  const dates = s.start_date || s.end_date ? ` (${s.start_date ?? '…'} to ${s.end_date ?? '…'})` : '';
  return `${[...compressDays(days), ...extras].join(', ') || 'no days'} ${range}${dates}`;
}

function shortDay(d: Weekday): string {
  return d.slice(0, 1).toUpperCase() + d.slice(1, 3);
}

function compressDays(days: string[]): string[] {
  const all = WEEKDAYS.map(shortDay);
  const idx = days.map((d) => all.indexOf(d));
  const out: string[] = [];
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1] === idx[j]! + 1) j++;
    out.push(j - i >= 2 ? `${all[idx[i]!]}–${all[idx[j]!]}` : idx.slice(i, j + 1).map((k) => all[k]!).join(', '));
    i = j + 1;
  }
  return out;
}
