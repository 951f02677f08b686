import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TimeScheduleFields } from '../domain/model.ts';
import { parseLocalDate } from '../time/local.ts';
import { DAY_MS, findTransitions, liveOffsetFn, MINUTE_MS } from '../time/zone.ts';
import { evaluateSchedule, NO_HOLIDAYS, toScheduleRule, windowInterval, type DayTypeOf } from './schedule.ts';

const everyDay = { monday: true, tuesday: true, wednesday: true, thursday: true, friday: true, saturday: true, sunday: true };
const noDays = { monday: false, tuesday: false, wednesday: false, thursday: false, friday: false, saturday: false, sunday: false };
const base: TimeScheduleFields = { ...everyDay, holiday: false, special_1: false, special_2: false, start_time: '08:00:00', end_time: '17:59:59', start_date: null, end_date: null };

const ams = liveOffsetFn('Europe/Amsterdam');
const at = (iso: string) => Date.parse(iso);
const open = (s: Partial<TimeScheduleFields>, iso: string, zone = ams, days: DayTypeOf = NO_HOLIDAYS) =>
  evaluateSchedule(toScheduleRule({ ...base, ...s }), at(iso), zone, days);

describe('schedule windows in local wall time', () => {
  it('opens inside the window and closes after the inclusive end second', () => {
    expect(open({}, '2026-06-01T08:00:00+02:00')).toBe('open');
    expect(open({}, '2026-06-01T17:59:59+02:00')).toBe('open');
    expect(open({}, '2026-06-01T18:00:00+02:00')).toBe('outside_window');
    expect(open({}, '2026-06-01T07:59:59+02:00')).toBe('outside_window');
  });

  it('follows the lock zone, not UTC', () => {
    const ny = liveOffsetFn('America/New_York');
    expect(open({}, '2026-06-01T12:30:00Z', ny)).toBe('open'); // 08:30 in New York
    expect(open({}, '2026-06-01T11:30:00Z', ny)).toBe('outside_window'); // 07:30 in New York
  });

  it('runs a window across midnight from the selected day into the next', () => {
    const night = { ...noDays, monday: true, start_time: '22:00:00', end_time: '05:59:59' };
    expect(open(night, '2026-06-01T23:30:00+02:00')).toBe('open'); // Monday night
    expect(open(night, '2026-06-02T03:00:00+02:00')).toBe('open'); // Tuesday early, from Monday
    expect(open(night, '2026-06-02T06:00:00+02:00')).toBe('outside_window');
    expect(open(night, '2026-06-02T23:00:00+02:00')).toBe('outside_window'); // Tuesday night is not selected
    expect(open(night, '2026-06-01T03:00:00+02:00')).toBe('outside_window'); // Monday early belongs to Sunday
  });

  it('honours start and end dates, date-only ends including the whole day', () => {
    const dated = { start_date: '2026-06-02', end_date: '2026-06-04' };
    expect(open(dated, '2026-06-01T09:00:00+02:00')).toBe('before_start_date');
    expect(open(dated, '2026-06-04T17:00:00+02:00')).toBe('open');
    expect(open(dated, '2026-06-05T09:00:00+02:00')).toBe('after_end_date');
    const checkInOut = { start_time: '00:00:00', end_time: '23:59:59', start_date: '2026-06-02T15:00:00', end_date: '2026-06-04T11:00:00' };
    expect(open(checkInOut, '2026-06-02T14:59:59+02:00')).toBe('before_start_date');
    expect(open(checkInOut, '2026-06-02T15:00:00+02:00')).toBe('open');
    expect(open(checkInOut, '2026-06-04T11:00:00+02:00')).toBe('open');
    expect(open(checkInOut, '2026-06-04T11:00:01+02:00')).toBe('after_end_date');
  });

  it('closes on a holiday of the local date unless the schedule includes holidays', () => {
    const xmas = parseLocalDate('2026-12-25')!;
    const cal: DayTypeOf = (d) => (d === xmas ? 'holiday' : null);
    const syd = liveOffsetFn('Australia/Sydney');
    // 2026-12-24T22:00Z is already 09:00 on the 25th in Sydney: a holiday there.
    expect(open({}, '2026-12-24T22:00:00Z', syd, cal)).toBe('holiday');
    expect(open({ holiday: true }, '2026-12-24T22:00:00Z', syd, cal)).toBe('open');
    // The same instant is the 24th in Amsterdam.
    expect(open({ start_time: '00:00:00', end_time: '23:59:59' }, '2026-12-24T22:00:00Z', ams, cal)).toBe('open');
  });

  it('opens on a special day only for schedules that select that day type', () => {
    const day = parseLocalDate('2026-06-06')!; // a Saturday
    const cal: DayTypeOf = (d) => (d === day ? 'special_1' : null);
    const weekdaysOnly = { ...everyDay, saturday: false, sunday: false };
    expect(open(weekdaysOnly, '2026-06-06T10:00:00+02:00', ams, cal)).toBe('outside_window');
    expect(open({ ...weekdaysOnly, special_1: true }, '2026-06-06T10:00:00+02:00', ams, cal)).toBe('open');
  });
});

describe('DST days: no window is lost or doubled', () => {
  it('spring forward (Amsterdam 2026-03-29, 02:00→03:00)', () => {
    // A window straddling the gap keeps the wall times that exist.
    expect(open({ start_time: '02:30:00', end_time: '03:29:59' }, '2026-03-29T03:10:00+02:00')).toBe('open');
    expect(open({ start_time: '02:30:00', end_time: '03:29:59' }, '2026-03-29T03:30:00+02:00')).toBe('outside_window');
    // A window wholly inside the gap moves forward by the gap rather than vanishing.
    expect(open({ start_time: '02:15:00', end_time: '02:44:59' }, '2026-03-29T03:20:00+02:00')).toBe('open');
    expect(open({ start_time: '02:15:00', end_time: '02:44:59' }, '2026-03-29T03:45:00+02:00')).toBe('outside_window');
    // A window ending in the gap closes when the gap begins.
    expect(open({ start_time: '01:30:00', end_time: '02:29:59' }, '2026-03-29T01:59:00+01:00')).toBe('open');
    expect(open({ start_time: '01:30:00', end_time: '02:29:59' }, '2026-03-29T03:00:00+02:00')).toBe('outside_window');
  });

  it('fall back (Amsterdam 2026-10-25, 03:00→02:00): the repeated hour opens once', () => {
    const w = { start_time: '02:15:00', end_time: '02:44:59' };
    expect(open(w, '2026-10-25T02:20:00+02:00')).toBe('open');
    expect(open(w, '2026-10-25T02:20:00+01:00')).toBe('outside_window');
    // A window spanning the overlap is one continuous stretch of 3 wall hours + 1.
    const span = toScheduleRule({ ...base, start_time: '01:00:00', end_time: '03:59:59' });
    const [s, e] = windowInterval(span, parseLocalDate('2026-10-25')!, ams);
    expect((e - s) / 3_600_000).toBe(4);
  });

  const zones = ['Europe/Amsterdam', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'UTC'];
  const from = Date.UTC(2026, 0, 1);
  const dstDays = zones.flatMap((z) => {
    const fn = liveOffsetFn(z);
    return findTransitions(fn, from, from + 800 * DAY_MS).transitions.map((t) => ({ zone: z, day: Math.floor((t.at + fn(t.at) * MINUTE_MS) / DAY_MS) }));
  });

  it('every window instance is a non-empty interval, and consecutive ones never overlap', () => {
    expect(dstDays.length).toBeGreaterThan(10);
    fc.assert(
      fc.property(
        fc.constantFrom(...dstDays, { zone: 'Asia/Kolkata', day: 20_600 }, { zone: 'UTC', day: 20_700 }),
        fc.integer({ min: -1, max: 1 }),
        fc.integer({ min: 0, max: 86_399 }),
        fc.integer({ min: 0, max: 86_399 }),
        ({ zone, day }, shift, startSec, endSec) => {
          const fn = liveOffsetFn(zone);
          const rule = toScheduleRule({ ...base, start_time: fmt(startSec), end_time: fmt(endSec) });
          const d = day + shift;
          const [s, e] = windowInterval(rule, d, fn);
          expect(e).toBeGreaterThan(s);
          const [nextS] = windowInterval(rule, d + 1, fn);
          expect(nextS).toBeGreaterThanOrEqual(e);
          // The window is open exactly on [s, e): probed every few minutes around it.
          for (let t = s - 90 * MINUTE_MS; t < e + 90 * MINUTE_MS; t += 7 * MINUTE_MS) {
            const inside = (t >= s && t < e) || inWindow(rule, d - 1, fn, t) || inWindow(rule, d + 1, fn, t);
            expect(evaluateSchedule(rule, t, fn, NO_HOLIDAYS) === 'open').toBe(inside);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

function inWindow(rule: ReturnType<typeof toScheduleRule>, day: number, fn: (t: number) => number, t: number): boolean {
  const [s, e] = windowInterval(rule, day, fn);
  return t >= s && t < e;
}

function fmt(sec: number): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(sec / 3600))}:${p(Math.floor(sec / 60) % 60)}:${p(sec % 60)}`;
}
