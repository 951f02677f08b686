// decide() and explain(): one walk over the checks, in the order a hub applies them. decide() stops at
// the first failing check; explain() keeps going and records every check and every group, so the front
// desk can see all that stands between a person and a door, not just the first thing.
//
// Order: is the tag known → does it have an owner → does the owner have any route to this lock (a group
// with the lock, or an offline key on it) → tag blocked / lost → person blocked → suspended → validity →
// privacy mode → offline link → schedules. "No route" comes before the credential's own state so that a
// hub needs to know only the credentials that can reach its locks (see docs/access-rules.md).
import type { DayType, DenialReason, GrantReason } from '../domain/enums.ts';
import { formatWallTime, weekdayOf } from '../time/local.ts';
import { DAY_MS, liveOffsetFn, wallTimeOf, type OffsetFn } from '../time/zone.ts';
import { WEEKDAYS } from '../domain/enums.ts';
import { describeSchedule, evaluateSchedule, NO_HOLIDAYS, type DayTypeOf, type ScheduleVerdict } from './schedule.ts';
import {
  groupsOfUser,
  lockZone,
  type AccessSnapshot,
  type SnapshotCalendar,
  type SnapshotGroup,
  type SnapshotLock,
  type SnapshotTag,
  type SnapshotUser,
} from './snapshot.ts';

export interface Decision {
  granted: boolean;
  reason: GrantReason | DenialReason;
  access_group_id: string | null;
  time_schedule_id: string | null;
}

/** Live conditions at the door. By default: the lock's recorded privacy mode, link to the IQ up. */
export interface DoorConditions {
  privacy_mode?: boolean;
  /** The lock cannot reach its IQ: only offline-access keys open it, at any hour. */
  offline?: boolean;
}

export type Subject = { kind: 'tag'; tag_number: string } | { kind: 'user'; user_id: string };

export type CheckName =
  | 'tag_known'
  | 'tag_owner'
  | 'route'
  | 'tag_status'
  | 'user_blocked'
  | 'subscription'
  | 'validity'
  | 'privacy_mode'
  | 'link'
  | 'schedule';

export interface Check {
  check: CheckName;
  passed: boolean;
  detail: string;
}

export interface GroupExplanation {
  access_group_id: string;
  customer_reference: string;
  includes_lock: boolean;
  holiday_calendar_id: string | null;
  /** Day type of the local date in this group's calendar, if any. */
  day_type: DayType | null;
  verdict: 'grants' | 'holiday' | 'outside_schedule' | 'lock_not_in_group';
  schedules: Array<{ time_schedule_id: string; summary: string; verdict: ScheduleVerdict }>;
}

export interface Explanation extends Decision {
  instant: string;
  local_date_time: string;
  weekday: string;
  time_zone: string;
  lock: { id: string; customer_reference: string };
  tag: { id: string; tag_number: string } | null;
  user: { id: string; name: string } | null;
  checks: Check[];
  groups: GroupExplanation[];
  summary: string;
}

export class UnknownLockError extends Error {
  constructor(readonly lockId: string) {
    super(`Unknown lock '${lockId}'`);
    this.name = 'UnknownLockError';
  }
}

export class UnknownUserError extends Error {
  constructor(readonly userId: string) {
    super(`Unknown user '${userId}'`);
    this.name = 'UnknownUserError';
  }
}

export function decide(snap: AccessSnapshot, tagNumber: string, lockId: string, t: number, cond: DoorConditions = {}): Decision {
  return assess(snap, { kind: 'tag', tag_number: tagNumber }, lockId, t, cond, null);
}

export function decideForUser(snap: AccessSnapshot, userId: string, lockId: string, t: number, cond: DoorConditions = {}): Decision {
  return assess(snap, { kind: 'user', user_id: userId }, lockId, t, cond, null);
}

export function explain(snap: AccessSnapshot, subject: Subject, lockId: string, t: number, cond: DoorConditions = {}): Explanation {
  const lock = snap.locks.get(lockId);
  if (!lock) throw new UnknownLockError(lockId);
  const zone = lockZone(snap, lock);
  const trace: Trace = { checks: [], groups: [], tag: null, user: null };
  const decision = assess(snap, subject, lockId, t, cond, trace);
  const wall = wallTimeOf(liveOffsetFn(zone), t);
  const weekday = WEEKDAYS[weekdayOf(Math.floor(wall / DAY_MS))]!;
  const local = formatWallTime(wall);
  const who = trace.user ? fullName(trace.user) : subject.kind === 'tag' ? `Tag ${subject.tag_number}` : 'This person';
  const firstFailure = trace.checks.find((c) => !c.passed);
  const summary = decision.granted
    ? `${who} can open ${lock.customer_reference} at ${local} (${weekday}, ${zone}).`
    : `${who} cannot open ${lock.customer_reference} at ${local} (${weekday}, ${zone}): ${firstFailure?.detail ?? decision.reason}.`;
  return {
    ...decision,
    instant: new Date(t).toISOString(),
    local_date_time: local,
    weekday,
    time_zone: zone,
    lock: { id: lock.id, customer_reference: lock.customer_reference },
    tag: trace.tag ? { id: trace.tag.id, tag_number: trace.tag.tag_number } : null,
    user: trace.user ? { id: trace.user.id, name: fullName(trace.user) } : null,
    checks: trace.checks,
    groups: trace.groups,
    summary,
  };
}

interface Trace {
  checks: Check[];
  groups: GroupExplanation[];
  tag: SnapshotTag | null;
  user: SnapshotUser | null;
}

const deny = (reason: DenialReason): Decision => ({ granted: false, reason, access_group_id: null, time_schedule_id: null });

function assess(
  snap: AccessSnapshot,
  subject: Subject,
  lockId: string,
  t: number,
  cond: DoorConditions,
  trace: Trace | null,
): Decision {
  const lock = snap.locks.get(lockId);
  if (!lock) throw new UnknownLockError(lockId);
  let first: Decision | null = null;
  // Records a check; returns true when decide() must stop here.
  const check = (name: CheckName, passed: boolean, detail: () => string, onFail: Decision): boolean => {
    if (trace) trace.checks.push({ check: name, passed, detail: detail() });
    if (!passed && !first) first = onFail;
    return !passed && !trace;
  };

  let tag: SnapshotTag | null = null;
  let user: SnapshotUser | undefined;
  if (subject.kind === 'tag') {
    tag = snap.tagsByNumber.get(subject.tag_number) ?? null;
    if (trace) trace.tag = tag;
    if (check('tag_known', tag !== null, () => (tag ? `Tag ${subject.tag_number} is registered` : `tag ${subject.tag_number} is not registered on this site`), deny('unknown_tag')) || !tag)
      return first ?? deny('unknown_tag');
    const t0 = tag;
    user = t0.user_id ? snap.users.get(t0.user_id) : undefined;
    if (check('tag_owner', user !== undefined, () => (user ? `Tag belongs to ${fullName(user)}` : `tag ${t0.tag_number} is not assigned to anyone`), deny('no_access')) || !user)
      return first ?? deny('no_access');
  } else {
    user = snap.users.get(subject.user_id);
    if (!user) throw new UnknownUserError(subject.user_id);
  }
  const u = user;
  if (trace) trace.user = u;

  const groups = groupsOfUser(snap, u);
  const withLock = groups.filter((g) => g.lockIds.has(lock.id));
  const offlineTag = offlineKeyFor(snap, lock, u, tag);
  const hasRoute = withLock.length > 0 || offlineTag !== null;
  if (
    check(
      'route',
      hasRoute,
      () =>
        hasRoute
          ? withLock.length > 0
            ? `In ${withLock.length} access group(s) with ${lock.customer_reference}: ${withLock.map((g) => g.customer_reference).join(', ')}`
            : `Holds an offline-access key for ${lock.customer_reference}`
          : `${fullName(u)} is in no access group with ${lock.customer_reference}` +
            (groups.length ? ` (groups: ${groups.map((g) => g.customer_reference).join(', ')})` : ' (in no access group at all)'),
      deny('no_access'),
    )
  )
    return first!;

  if (tag) {
    const tg = tag;
    const ok = !tg.blocked && !tg.lost_or_stolen;
    if (check('tag_status', ok, () => (ok ? 'Tag is active' : tg.lost_or_stolen ? `tag ${tg.tag_number} is reported lost or stolen` : `tag ${tg.tag_number} is blocked`), deny('blocked')))
      return first!;
  }
  if (check('user_blocked', !u.blocked, () => (u.blocked ? `${fullName(u)} is blocked` : 'Person is not blocked'), deny('blocked'))) return first!;
  const subscribed = u.subscription_state === 'subscribed';
  if (check('subscription', subscribed, () => (subscribed ? 'Subscription is active' : `${fullName(u)} is suspended`), deny('suspended'))) return first!;
  const notYet = u.validFromMs !== null && t < u.validFromMs;
  const expired = u.validUntilMs !== null && t >= u.validUntilMs;
  if (
    check(
      'validity',
      !notYet && !expired,
      () =>
        notYet
          ? `${fullName(u)} is not valid until ${new Date(u.validFromMs!).toISOString()}`
          : expired
            ? `${fullName(u)} expired at ${new Date(u.validUntilMs!).toISOString()}`
            : 'Within validity period',
      deny(notYet ? 'not_yet_valid' : 'expired'),
    )
  )
    return first!;
  const privacy = cond.privacy_mode ?? lock.privacy_mode;
  const privacyOk = !privacy || u.override_privacy_mode;
  if (
    check(
      'privacy_mode',
      privacyOk,
      () => (!privacy ? 'Door is not in privacy mode' : privacyOk ? 'May override privacy mode' : `${lock.customer_reference} is in privacy mode and ${fullName(u)} may not override it`),
      deny('privacy_mode'),
    )
  )
    return first!;

  if (cond.offline) {
    const ok = offlineTag !== null;
    check('link', ok, () => (ok ? 'Lock is offline; an offline-access key opens it at any hour' : `${lock.customer_reference} cannot reach its IQ and holds no offline-access key for this credential`), deny('offline'));
    if (trace) trace.groups = explainGroups(snap, lock, groups, t);
    return first ?? { granted: true, reason: 'offline', access_group_id: null, time_schedule_id: null };
  }

  const zone = lockZone(snap, lock);
  const offsetAt = liveOffsetFn(zone);
  let grant: Decision | null = null;
  let holiday = false;
  for (const g of withLock) {
    if (g.schedules.length === 0) {
      grant = { granted: true, reason: 'access', access_group_id: g.id, time_schedule_id: null };
      break;
    }
    const dayTypeOf = calendarLookup(snap, g);
    for (const s of g.schedules) {
      const v = evaluateSchedule(s.rule, t, offsetAt, dayTypeOf);
      if (v === 'open') {
        grant = { granted: true, reason: 'access', access_group_id: g.id, time_schedule_id: s.id };
        break;
      }
      if (v === 'holiday') holiday = true;
    }
    if (grant) break;
  }
  const reason: DenialReason = withLock.length === 0 ? 'no_access' : holiday ? 'holiday' : 'outside_schedule';
  check(
    'schedule',
    grant !== null,
    () =>
      grant
        ? `Schedule of ${snap.groups.get(grant.access_group_id!)?.customer_reference} is open`
        : withLock.length === 0
          ? `${fullName(u)} holds only an offline-access key, which applies only while the lock is offline`
          : holiday
            ? `the date is a holiday in the calendar of ${withLock.map((g) => g.customer_reference).join(', ')}`
            : `outside the schedules of ${withLock.map((g) => g.customer_reference).join(', ')}`,
    deny(reason),
  );
  if (trace) trace.groups = explainGroups(snap, lock, groups, t);
  return first ?? grant!;
}

function offlineKeyFor(snap: AccessSnapshot, lock: SnapshotLock, user: SnapshotUser, tag: SnapshotTag | null): string | null {
  if (tag) return lock.offlineTagIds.has(tag.id) ? tag.id : null;
  for (const id of snap.tagsByOwner.get(user.id) ?? []) if (lock.offlineTagIds.has(id)) return id;
  return null;
}

export function calendarLookup(snap: AccessSnapshot, g: SnapshotGroup): DayTypeOf {
  const cal: SnapshotCalendar | undefined = g.calendarId ? snap.calendars.get(g.calendarId) : undefined;
  if (!cal || cal.days.size === 0) return NO_HOLIDAYS;
  const days = cal.days;
  return (day) => days.get(day) ?? null;
}

function explainGroups(snap: AccessSnapshot, lock: SnapshotLock, groups: SnapshotGroup[], t: number): GroupExplanation[] {
  const offsetAt: OffsetFn = liveOffsetFn(lockZone(snap, lock));
  const day = Math.floor(wallTimeOf(offsetAt, t) / DAY_MS);
  return groups.map((g) => {
    const dayTypeOf = calendarLookup(snap, g);
    const includes = g.lockIds.has(lock.id);
    const schedules = g.schedules.map((s) => ({
      time_schedule_id: s.id,
      summary: describeSchedule(s.fields),
      verdict: evaluateSchedule(s.rule, t, offsetAt, dayTypeOf),
    }));
    const verdict: GroupExplanation['verdict'] = !includes
      ? 'lock_not_in_group'
      : schedules.length === 0 || schedules.some((s) => s.verdict === 'open')
        ? 'grants'
        : schedules.some((s) => s.verdict === 'holiday')
          ? 'holiday'
          : 'outside_schedule';
    return {
      access_group_id: g.id,
      customer_reference: g.customer_reference,
      includes_lock: includes,
      holiday_calendar_id: g.calendarId,
      day_type: dayTypeOf(day),
      verdict,
      schedules,
    };
  });
}

function fullName(u: SnapshotUser): string {
  return `${u.first_name} ${u.last_name}`.trim() || u.id;
}
