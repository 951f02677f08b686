// fast-check arbitraries for small random sites, used by the property tests that hold decide(), the
// compiled tables and (later) the hub simulator to the same answers. References between records are
// indices taken modulo the number of targets, so every generated site is consistent and shrinks well.
import fc from 'fast-check';
import { DAY_TYPES, WEEKDAYS, type DayType } from '../../domain/enums.ts';
import type { EasyOfficeModeSchedule, TimeScheduleFields } from '../../domain/model.ts';
import { formatLocalDate, formatTimeOfDay } from '../../time/local.ts';
import { DAY_MS } from '../../time/zone.ts';
import { toScheduleRule } from '../schedule.ts';
import { addTag, emptySnapshot, type AccessSnapshot, type SnapshotSchedule } from '../snapshot.ts';

export const TEST_ZONES = ['Europe/Amsterdam', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'UTC'] as const;

/** 2026-11-01: the random sites' "now"; dates are drawn from the 400 days after it. */
export const BASE_MS = Date.UTC(2026, 10, 1);
const BASE_DAY = BASE_MS / DAY_MS;

const arbTime = fc.integer({ min: 0, max: 86_399 });
/** Times near the DST change hours are common so the edge cases get hit. */
const arbScheduleTime = fc.oneof(arbTime, fc.constantFrom(0, 3600, 7200, 9000, 10_800, 82_800, 86_399), fc.integer({ min: 0, max: 23 }).map((h) => h * 3600));

const arbSchedule: fc.Arbitrary<TimeScheduleFields> = fc
  .record({
    days: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
    start: arbScheduleTime,
    end: arbScheduleTime,
    startDate: fc.option(fc.tuple(fc.integer({ min: -30, max: 400 }), fc.option(arbTime)), { nil: null }),
    length: fc.option(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.option(arbTime)), { nil: null }),
  })
  .map(({ days, start, end, startDate, length }) => {
    const s: TimeScheduleFields = {
      monday: false,
      tuesday: false,
      wednesday: false,
      thursday: false,
      friday: false,
      saturday: false,
      sunday: false,
      holiday: days[7]!,
      special_1: days[8]!,
      special_2: days[9]!,
      start_time: formatTimeOfDay(start),
      end_time: formatTimeOfDay(end),
      start_date: null,
      end_date: null,
    };
    WEEKDAYS.forEach((d, i) => (s[d] = days[i]!));
    if (!WEEKDAYS.some((d) => s[d])) s.monday = true;
    const fmt = (day: number, time: number | null) => formatLocalDate(day) + (time === null ? '' : `T${formatTimeOfDay(time)}`);
    const from = startDate ? BASE_DAY + startDate[0] : BASE_DAY - 10;
    if (startDate) s.start_date = fmt(from, startDate[1]);
    if (length) s.end_date = fmt(from + length[0], startDate && length[0] === 0 && length[1] !== null && startDate[1] !== null ? Math.max(length[1], startDate[1]) : length[1]);
    return s;
  });

/** True about one time in twelve. */
const rarely = fc.integer({ min: 0, max: 11 }).map((n) => n === 0);
const mostlyNull = <T,>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, { arbitrary: arb, weight: 1 });

export interface SiteSpec {
  iqZones: string[];
  locks: Array<{ iq: number | null; privacy: boolean; offlineTags: number[] }>;
  users: Array<{ blocked: boolean; suspended: boolean; validFrom: number | null; validUntil: number | null; override: boolean; groups: number[] }>;
  tags: Array<{ owner: number | null; blocked: boolean; lost: boolean }>;
  groups: Array<{ locks: number[]; schedules: TimeScheduleFields[]; calendar: number | null }>;
  calendars: Array<Array<{ day: number; type: DayType }>>;
}

export const arbSiteSpec: fc.Arbitrary<SiteSpec> = fc.record({
  iqZones: fc.array(fc.constantFrom(...TEST_ZONES), { minLength: 1, maxLength: 3 }),
  locks: fc.array(
    fc.record({
      iq: fc.option(fc.nat(9), { nil: null, freq: 8 }),
      privacy: fc.constantFrom(false, false, false, false, true),
      offlineTags: fc.array(fc.nat(30), { maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 6 },
  ),
  users: fc.array(
    fc.record({
      blocked: rarely,
      suspended: rarely,
      validFrom: mostlyNull(fc.integer({ min: -10 * DAY_MS, max: 200 * DAY_MS })),
      validUntil: mostlyNull(fc.integer({ min: 0, max: 420 * DAY_MS })),
      override: fc.boolean(),
      groups: fc.array(fc.nat(9), { minLength: 1, maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 6 },
  ),
  tags: fc.array(
    fc.record({
      owner: fc.option(fc.nat(9), { nil: null, freq: 10 }),
      blocked: rarely,
      lost: rarely,
    }),
    { minLength: 1, maxLength: 8 },
  ),
  groups: fc.array(
    fc.record({
      locks: fc.array(fc.nat(9), { minLength: 1, maxLength: 4 }),
      schedules: fc.array(arbSchedule, { maxLength: 3 }),
      calendar: fc.option(fc.nat(3), { nil: null, freq: 3 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  calendars: fc.array(
    fc.array(fc.record({ day: fc.integer({ min: -5, max: 405 }), type: fc.constantFrom(...DAY_TYPES) }), { maxLength: 40 }),
    { maxLength: 2 },
  ),
});

export const tagNumberFor = (i: number): string => String(1000 + i * 7).padStart(10, '0');

/** Builds a snapshot from a spec. Ids are readable ("lock-2"); pks are index + 1. */
export function buildSnapshot(spec: SiteSpec, siteZone = 'Europe/Amsterdam'): AccessSnapshot {
  const snap = emptySnapshot(siteZone);
  spec.iqZones.forEach((zone, i) => snap.iqs.set(`iq-${i}`, { pk: i + 1, id: `iq-${i}`, customer_reference: `IQ ${i}`, time_zone: zone }));
  spec.calendars.forEach((days, i) =>
    snap.calendars.set(`cal-${i}`, {
      pk: i + 1,
      id: `cal-${i}`,
      customer_reference: `Calendar ${i}`,
      days: new Map(days.map((d) => [BASE_DAY + d.day, d.type])),
    }),
  );
  spec.tags.forEach((t, i) =>
    addTag(snap, {
      pk: i + 1,
      id: `tag-${i}`,
      tag_number: tagNumberFor(i),
      card_uid: null,
      user_id: t.owner === null || spec.users.length === 0 ? null : `user-${t.owner % spec.users.length}`,
      blocked: t.blocked,
      lost_or_stolen: t.lost,
      issue_counter: 0,
    }),
  );
  spec.locks.forEach((l, i) => {
    const eom: EasyOfficeModeSchedule | null = null;
    snap.locks.set(`lock-${i}`, {
      pk: i + 1,
      id: `lock-${i}`,
      customer_reference: `Door ${i}`,
      iq_id: l.iq === null ? null : `iq-${l.iq % spec.iqZones.length}`,
      privacy_mode: l.privacy,
      online: true,
      offlineTagIds: new Set(l.offlineTags.map((t) => `tag-${t % spec.tags.length}`)),
      easy_office_mode_schedule: eom,
    });
  });
  let schedulePk = 1;
  spec.groups.forEach((g, i) => {
    const schedules: SnapshotSchedule[] = g.schedules.map((fields) => ({ pk: schedulePk, id: `sched-${schedulePk++}`, fields, rule: toScheduleRule(fields) }));
    snap.groups.set(`group-${i}`, {
      pk: i + 1,
      id: `group-${i}`,
      customer_reference: `Group ${i}`,
      calendarId: g.calendar === null || spec.calendars.length === 0 ? null : `cal-${g.calendar % spec.calendars.length}`,
      lockIds: new Set(g.locks.map((l) => `lock-${l % spec.locks.length}`)),
      memberIds: new Set(),
      schedules,
    });
  });
  spec.users.forEach((u, i) => {
    const groupIds = new Set(spec.groups.length ? u.groups.map((g) => `group-${g % spec.groups.length}`) : []);
    snap.users.set(`user-${i}`, {
      pk: i + 1,
      id: `user-${i}`,
      user_id: `platform-${i}`,
      first_name: `User`,
      last_name: String(i),
      blocked: u.blocked,
      subscription_state: u.suspended ? 'suspended' : 'subscribed',
      validFromMs: u.validFrom === null ? null : BASE_MS + u.validFrom,
      validUntilMs: u.validUntil === null ? null : BASE_MS + u.validUntil,
      remote_access: false,
      override_privacy_mode: u.override,
      toggle_easy_office_mode: false,
      toggle_manual_office_mode: false,
      groupIds,
    });
    for (const g of groupIds) snap.groups.get(g)!.memberIds.add(`user-${i}`);
  });
  return snap;
}
