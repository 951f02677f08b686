// Pure helpers of the weekly schedule editor: CLP time-schedule fields <-> half-hour cells of the grid.
// No access rule lives here: the grid only draws windows; whether a door opens is the core's answer.
import { WEEKDAYS, type TimeScheduleFields, type Weekday } from '../../../core/contract/index.ts';

/** The grid's columns: the seven weekdays, then the calendar day types a schedule may select. */
export const DAY_TYPE_KEYS = ['holiday', 'special_1', 'special_2'] as const;
export const DAY_KEYS = [...WEEKDAYS, ...DAY_TYPE_KEYS] as const;
export type DayKey = (typeof DAY_KEYS)[number];
export type DayTypeKey = (typeof DAY_TYPE_KEYS)[number];

export const SLOT_SECONDS = 1800;
export const SLOTS = 48;
const DAY_SECONDS = 86_400;

export const isWeekday = (d: DayKey): d is Weekday => (WEEKDAYS as readonly string[]).includes(d);

/** "HH:MM:SS" or "HH:MM" → seconds after midnight, or null. */
export function parseTime(s: string): number | null {
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s.trim());
  if (!m) return null;
  const [h, min, sec] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (h > 23 || min > 59 || sec > 59) return null;
  return h * 3600 + min * 60 + sec;
}

export function formatTime(seconds: number, withSeconds = true): string {
  const s = ((seconds % DAY_SECONDS) + DAY_SECONDS) % DAY_SECONDS;
  const p = (n: number) => String(n).padStart(2, '0');
  const hms = `${p(Math.floor(s / 3600))}:${p(Math.floor((s % 3600) / 60))}`;
  return withSeconds ? `${hms}:${p(s % 60)}` : hms;
}

/** The cell key of a column and half-hour slot. */
export const cellKey = (col: DayKey, slot: number) => `${col}:${slot}`;

export function parseCellKey(key: string): { col: DayKey; slot: number } {
  const i = key.lastIndexOf(':');
  return { col: key.slice(0, i) as DayKey, slot: Number(key.slice(i + 1)) };
}

/** An empty schedule: no day, 08:00:00–16:59:59. */
export function emptySchedule(): TimeScheduleFields {
  return {
    monday: false,
    tuesday: false,
    wednesday: false,
    thursday: false,
    friday: false,
    saturday: false,
    sunday: false,
    holiday: false,
    special_1: false,
    special_2: false,
    start_time: '08:00:00',
    end_time: '16:59:59',
    start_date: null,
    end_date: null,
  };
}

export function fieldsOf(s: TimeScheduleFields): TimeScheduleFields {
  const out = emptySchedule();
  for (const d of DAY_KEYS) out[d] = s[d];
  return { ...out, start_time: s.start_time, end_time: s.end_time, start_date: s.start_date, end_date: s.end_date };
}

/** Where a schedule shows on the grid: per column, seconds from..until (until exclusive, ≤ one day). */
export interface Segment {
  col: DayKey;
  from: number;
  until: number;
  /** The part of a window that runs past midnight into the next day. */
  continued: boolean;
}

/**
 * A window belongs to the day it starts on; past midnight it continues into the next weekday (Sunday
 * into Monday). A day-type window's night part is drawn at the top of its own column, marked continued.
 */
export function segmentsOf(s: TimeScheduleFields): Segment[] {
  const start = parseTime(s.start_time);
  const end = parseTime(s.end_time);
  if (start === null || end === null) return [];
  const endExclusive = end + 1;
  const out: Segment[] = [];
  for (const col of DAY_KEYS) {
    if (!s[col]) continue;
    if (end >= start) {
      out.push({ col, from: start, until: endExclusive, continued: false });
    } else {
      out.push({ col, from: start, until: DAY_SECONDS, continued: false });
      const next = isWeekday(col) ? WEEKDAYS[(WEEKDAYS.indexOf(col) + 1) % 7]! : col;
      if (endExclusive > 0) out.push({ col: next, from: 0, until: endExclusive, continued: true });
    }
  }
  return out;
}

/** One window drawn on the grid: the days it starts on, its first slot and its length in slots. */
export interface DrawnWindow {
  days: DayKey[];
  start: number;
  length: number;
}

/**
 * Reads selected cells as schedules. Weekdays are one ring of 7 × 48 slots, so a run from Monday 22:00
 * into Tuesday 06:00 is one window past midnight; a run longer than a day is cut at midnights. Runs
 * with the same start and length on several days make one schedule (Mon–Fri 08:00–17:00).
 */
export function windowsOf(cells: Iterable<string>): DrawnWindow[] {
  const set = new Set(cells);
  const runs: Array<{ day: DayKey; start: number; length: number }> = [];
  const ring = WEEKDAYS.length * SLOTS;
  const on = (i: number) => set.has(cellKey(WEEKDAYS[Math.floor((((i % ring) + ring) % ring) / SLOTS)]!, (((i % ring) + ring) % ring) % SLOTS));
  const count = [...Array(ring).keys()].filter(on).length;
  if (count === ring) {
    for (const d of WEEKDAYS) runs.push({ day: d, start: 0, length: SLOTS });
  } else if (count > 0) {
    // Start scanning just after an empty slot, so that no run is split at the ring's seam.
    const first = [...Array(ring).keys()].find((i) => !on(i))!;
    let i = first + 1;
    const stop = first + 1 + ring;
    while (i < stop) {
      if (!on(i)) {
        i++;
        continue;
      }
      let j = i;
      while (j < stop && on(j)) j++;
      runs.push(...cutAtMidnights(i % ring, j - i));
      i = j;
    }
  }
  for (const col of DAY_TYPE_KEYS) {
    for (let s = 0; s < SLOTS; ) {
      if (!set.has(cellKey(col, s))) {
        s++;
        continue;
      }
      let e = s;
      while (e < SLOTS && set.has(cellKey(col, e))) e++;
      runs.push({ day: col, start: s, length: e - s });
      s = e;
    }
  }
  const groups = new Map<string, DrawnWindow>();
  for (const r of runs) {
    const key = `${r.start}/${r.length}`;
    const g = groups.get(key) ?? { days: [], start: r.start, length: r.length };
    if (!g.days.includes(r.day)) g.days.push(r.day);
    groups.set(key, g);
  }
  const order = (d: DayKey) => DAY_KEYS.indexOf(d);
  return [...groups.values()]
    .map((g) => ({ ...g, days: g.days.sort((a, b) => order(a) - order(b)) }))
    .sort((a, b) => order(a.days[0]!) - order(b.days[0]!) || a.start - b.start);
}

function cutAtMidnights(at: number, length: number): Array<{ day: DayKey; start: number; length: number }> {
  const day = (i: number) => WEEKDAYS[Math.floor(i / SLOTS) % WEEKDAYS.length]!;
  if (length <= SLOTS) return [{ day: day(at), start: at % SLOTS, length }];
  const out: Array<{ day: DayKey; start: number; length: number }> = [];
  let i = at;
  let left = length;
  while (left > 0) {
    const n = Math.min(left, SLOTS - (i % SLOTS));
    out.push({ day: day(i), start: i % SLOTS, length: n });
    i += n;
    left -= n;
  }
  return out;
}

/** The cells a window covers (the part past midnight on the next weekday). */
export function cellsOf(w: DrawnWindow): string[] {
  const out: string[] = [];
  for (const d of w.days) {
    for (let k = 0; k < w.length; k++) {
      const slot = w.start + k;
      if (slot < SLOTS) out.push(cellKey(d, slot));
      else if (isWeekday(d)) out.push(cellKey(WEEKDAYS[(WEEKDAYS.indexOf(d) + 1) % 7]!, slot - SLOTS));
    }
  }
  return out;
}

/** A drawn window as CLP fields: end_time is inclusive, so a window to 17:00 ends at 16:59:59. */
export function applyWindow(base: TimeScheduleFields, w: DrawnWindow): TimeScheduleFields {
  const out = fieldsOf(base);
  for (const d of DAY_KEYS) out[d] = w.days.includes(d);
  out.start_time = formatTime(w.start * SLOT_SECONDS);
  out.end_time = formatTime((w.start + w.length) * SLOT_SECONDS - 1);
  return out;
}

/** Whether the window runs past midnight (end_time before start_time). */
export function pastMidnight(s: Pick<TimeScheduleFields, 'start_time' | 'end_time'>): boolean {
  const a = parseTime(s.start_time);
  const b = parseTime(s.end_time);
  return a !== null && b !== null && b < a;
}

/** The day ranges of a schedule, compressed: ["monday–friday", "saturday"] as keys for the caller to translate. */
export function dayRuns(s: TimeScheduleFields): Array<{ from: DayKey; to: DayKey }> {
  const idx = WEEKDAYS.map((d, i) => (s[d] ? i : -1)).filter((i) => i >= 0);
  const out: Array<{ from: DayKey; to: DayKey }> = [];
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1] === idx[j]! + 1) j++;
    if (j - i >= 2) out.push({ from: WEEKDAYS[idx[i]!]!, to: WEEKDAYS[idx[j]!]! });
    else for (let k = i; k <= j; k++) out.push({ from: WEEKDAYS[idx[k]!]!, to: WEEKDAYS[idx[k]!]! });
    i = j + 1;
  }
  for (const d of DAY_TYPE_KEYS) if (s[d]) out.push({ from: d, to: d });
  return out;
}

/** Colours of the schedules on the grid (by position), readable with white text. */
export const SCHEDULE_COLOURS = ['#1f6feb', '#8250df', '#1a7f37', '#bc4c00', '#bf3989', '#0a7ea4', '#9a6700', '#cf222e'];
export const colourOf = (index: number) => SCHEDULE_COLOURS[index % SCHEDULE_COLOURS.length]!;
