// Every DST change of every test zone inside the table window, swept deterministically: for each, a site
// whose schedules start, end, or lie inside the skipped or repeated stretch, cross midnight, carry date
// bounds on it, or fall on a holiday / special day that day; decisions every 15 minutes over ±8 h and to
// the millisecond around every window edge the core computes must match decide(), and the lock's EOM
// window and its auto-start / end entries must follow the core's schedule rule exactly.
import { describe, expect, it } from 'vitest';
import { decide } from '../../core/access/decide.ts';
import { evaluateSchedule, NO_HOLIDAYS, toScheduleRule, windowInterval } from '../../core/access/schedule.ts';
import { AccessCompiler } from '../../core/access/table/compile.ts';
import { BASE_MS, buildSnapshot, type SiteSpec } from '../../core/access/testing/random-site.ts';
import { WEEKDAYS, type DayType } from '../../core/domain/enums.ts';
import type { EasyOfficeModeSchedule, TimeScheduleFields } from '../../core/domain/model.ts';
import { formatLocalDate, formatTimeOfDay } from '../../core/time/local.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, findTransitions, liveOffsetFn } from '../../core/time/zone.ts';
import { SimulatedHub } from '../../drivers/hub-sim/hub.ts';
import { comparable, expectedOf, WINDOW, ZONES } from './support.ts';

const BASE_DAY = BASE_MS / DAY_MS;

interface Change {
  zone: string;
  at: number;
  /** The skipped (spring) or repeated (fall) wall-clock stretch [a, b), as wall ms. */
  a: number;
  b: number;
  kind: 'gap' | 'overlap';
}

const changes: Change[] = ZONES.flatMap((zone) => {
  const offsetAt = liveOffsetFn(zone);
  return findTransitions(offsetAt, WINDOW.from + DAY_MS, WINDOW.until - DAY_MS).transitions.map((t) => {
    const before = t.at + offsetAt(t.at - 1000) * MINUTE_MS;
    const after = t.at + t.offset * MINUTE_MS;
    return { zone, at: t.at, a: Math.min(before, after), b: Math.max(before, after), kind: after > before ? ('gap' as const) : ('overlap' as const) };
  });
});

const secOfDay = (wall: number) => Math.floor((((wall % DAY_MS) + DAY_MS) % DAY_MS) / 1000);
const dayOf = (wall: number) => Math.floor(wall / DAY_MS);

function fields(startWall: number, endWallExclusive: number, extra: Partial<TimeScheduleFields> = {}): TimeScheduleFields {
  const f = {
    holiday: false,
    special_1: false,
    special_2: false,
    start_time: formatTimeOfDay(secOfDay(startWall)),
    end_time: formatTimeOfDay(secOfDay(endWallExclusive - 1000)),
    start_date: null,
    end_date: null,
  } as TimeScheduleFields;
  WEEKDAYS.forEach((d) => (f[d] = true));
  return { ...f, ...extra };
}

/** Schedules placed on, across, inside and next to the change, plus date bounds and day types on that day. */
function sweepSite(c: Change): { spec: SiteSpec; eom: EasyOfficeModeSchedule } {
  const { a, b } = c;
  const m = MINUTE_MS;
  const day = dayOf(a);
  const iso = (wall: number) => `${formatLocalDate(dayOf(wall))}T${formatTimeOfDay(secOfDay(wall))}`;
  const specialOnly = { ...Object.fromEntries(WEEKDAYS.map((d) => [d, false])), special_1: true };
  const groups: Array<{ schedules: TimeScheduleFields[]; calendar: number | null }> = [
    { schedules: [fields(a - 60 * m, a + 30 * m)], calendar: null }, // ends inside
    { schedules: [fields(a + 10 * m, b + 30 * m)], calendar: null }, // starts inside
    { schedules: [fields(a + 5 * m, a + 20 * m)], calendar: null }, // wholly inside (when the change is ≥ 20 min)
    { schedules: [fields(b, b + 60 * m)], calendar: null }, // starts where it ends
    { schedules: [fields(a, b)], calendar: null }, // exactly the change
    { schedules: [fields(a - 120 * m, a)], calendar: null }, // ends where it starts
    { schedules: [fields(a - 5 * HOUR_MS, a + 15 * m)], calendar: null }, // long, often across midnight
    { schedules: [fields(a, a + 1000)], calendar: null }, // one second
    { schedules: [fields(day * DAY_MS, (day + 1) * DAY_MS)], calendar: 0 }, // all day, but the day is a holiday
    { schedules: [fields(day * DAY_MS, (day + 1) * DAY_MS, { holiday: true })], calendar: 0 }, // all day, holidays included
    { schedules: [fields(a - 3 * HOUR_MS, b + 3 * HOUR_MS, specialOnly)], calendar: 1 }, // special days only (the day and the one before)
    { schedules: [fields(day * DAY_MS, (day + 1) * DAY_MS, { start_date: iso(a + 10 * m), end_date: iso(b + 20 * m) })], calendar: null }, // check-in/out bounds on the change
    { schedules: [fields(day * DAY_MS, (day + 1) * DAY_MS, { start_date: formatLocalDate(day), end_date: formatLocalDate(day) })], calendar: null }, // date-only bounds: that day
    { schedules: [fields(a - 30 * m, b - 1000, { end_date: formatLocalDate(day - 1) })], calendar: null }, // ends at the day's midnight
    { schedules: [], calendar: null }, // no schedule: all hours
  ];
  const calendars: Array<Array<{ day: number; type: DayType }>> = [
    [{ day: day - BASE_DAY, type: 'holiday' }],
    [
      { day: day - BASE_DAY - 1, type: 'special_1' },
      { day: day - BASE_DAY, type: 'special_1' },
    ],
  ];
  const spec: SiteSpec = {
    iqZones: [c.zone],
    locks: [{ iq: 0, privacy: false, offlineTags: [] }],
    users: groups.map((_, i) => ({ blocked: false, suspended: false, validFrom: null, validUntil: null, override: false, groups: [i] })),
    tags: groups.map((_, i) => ({ owner: i, blocked: false, lost: false })),
    groups: groups.map((g) => ({ locks: [0], schedules: g.schedules, calendar: g.calendar })),
    calendars,
  };
  const eom = { ...fields(a - 45 * m, b + 45 * m), eom_auto_start: true } as EasyOfficeModeSchedule;
  return { spec, eom };
}

describe('every DST change in the table window, swept', () => {
  it('has changes of every kind to sweep', () => {
    const zonesWithChanges = new Set(changes.map((c) => c.zone));
    expect(zonesWithChanges.size).toBe(10); // all but Kolkata and UTC
    expect(changes.filter((c) => c.kind === 'gap').length).toBeGreaterThanOrEqual(10);
    expect(changes.filter((c) => c.kind === 'overlap').length).toBeGreaterThanOrEqual(10);
    // midnight changes, where a local day starts at 01:00 or 00:00–00:59 happens twice
    expect(changes.some((c) => secOfDay(c.a) === 0)).toBe(true);
    expect(changes.some((c) => c.b - c.a === 2 * HOUR_MS)).toBe(true); // Troll
    expect(changes.some((c) => c.b - c.a === 30 * MINUTE_MS)).toBe(true); // Lord Howe
  });

  it.each(changes.map((c) => [`${c.zone} ${c.kind} ${new Date(c.at).toISOString()}`, c] as const))('%s', (_name, c) => {
    const { spec, eom } = sweepSite(c);
    const snap = buildSnapshot(spec);
    snap.locks.get('lock-0')!.easy_office_mode_schedule = eom;
    const tables = new AccessCompiler(snap, BASE_MS).compileAll();
    const hub = new SimulatedHub({ clock: () => c.at - 12 * HOUR_MS, iqId: 'iq-0' });
    expect(hub.installTable(tables.get('iq-0')!.serialize())).toMatchObject({ ok: true });

    // Every 15 minutes over ±8 h, and to the millisecond around every window edge the core computes.
    const offsetAt = liveOffsetFn(c.zone);
    const instants = new Set<number>();
    for (let t = c.at - 8 * HOUR_MS; t <= c.at + 8 * HOUR_MS; t += 15 * MINUTE_MS) instants.add(t);
    for (const g of snap.groups.values())
      for (const s of g.schedules)
        for (let d = dayOf(c.a) - 2; d <= dayOf(c.a) + 1; d++)
          for (const edge of windowInterval(s.rule, d, offsetAt)) for (const k of [-1000, -1, 0, 1000]) instants.add(edge + k);
    for (const k of [-1000, 0, 1000]) instants.add(c.at + k);

    let grants = 0;
    const reasons = new Set<string>();
    for (const t of [...instants].sort((x, y) => x - y)) {
      for (const tag of snap.tags.values()) {
        const got = hub.presentTag('lock-0', tag.tag_number, { at: t }).decision;
        const expected = expectedOf(snap, decide(snap, tag.tag_number, 'lock-0', t));
        expect({ ...comparable(got), at: new Date(t).toISOString(), tag: tag.tag_number }).toEqual({ ...expected, at: new Date(t).toISOString(), tag: tag.tag_number });
        if (got.granted) grants++;
        reasons.add(got.reason);
      }
      // The EOM window, and its auto-start / end entries, follow the core's schedule rule to the millisecond.
      const open = evaluateSchedule(toScheduleRule(eom), t, offsetAt, NO_HOLIDAYS) === 'open';
      expect({ at: new Date(t).toISOString(), eom: hub.eomWindowAt('lock-0', t) !== null }).toEqual({ at: new Date(t).toISOString(), eom: open });
    }
    // The sweep saw both outcomes and the holiday rule, so it could have failed.
    expect(grants).toBeGreaterThan(100);
    expect(reasons).toContain('outside_schedule');
    expect(reasons).toContain('holiday');

    const eomEntries = hub.eventsSince(0).filter((e) => e.kind === 'entry' && e.event_category === 'easy_office_mode');
    const rule = toScheduleRule(eom);
    const openAt = (t: number) => evaluateSchedule(rule, t, offsetAt, NO_HOLIDAYS) === 'open';
    const starts = eomEntries.filter((e) => e.kind === 'entry' && e.event_detail === 'start').map((e) => e.time);
    const ends = eomEntries.filter((e) => e.kind === 'entry' && e.event_detail === 'end').map((e) => e.time);
    expect(starts.length).toBeGreaterThan(0);
    expect(ends.length).toBeGreaterThan(0);
    for (const s of starts) expect({ start: new Date(s).toISOString(), open: openAt(s), before: openAt(s - 1) }).toEqual({ start: new Date(s).toISOString(), open: true, before: false });
    for (const e of ends) expect({ end: new Date(e).toISOString(), open: openAt(e), before: openAt(e - 1) }).toEqual({ end: new Date(e).toISOString(), open: false, before: true });
  });
});
