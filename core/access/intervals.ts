// When a person may open a lock, as instant intervals: the closed form of decideForUser() over a span
// of time. The access diff compares these before and after a change.
import { DAY_MS, liveOffsetFn, resolveWallTime, wallTimeOf } from '../time/zone.ts';
import { calendarLookup } from './decide.ts';
import { ruleSelectsDay, windowInterval } from './schedule.ts';
import { lockZone, type AccessSnapshot, type SnapshotLock, type SnapshotUser } from './snapshot.ts';

export type Interval = [number, number];

/** Sorted, non-overlapping, non-touching intervals. */
export function normalize(list: Interval[]): Interval[] {
  const sorted = list.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Interval[] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** a minus b, both normalised. */
export function subtract(a: Interval[], b: Interval[]): Interval[] {
  const out: Interval[] = [];
  let j = 0;
  for (const [s0, e] of a) {
    let s = s0;
    while (j < b.length && b[j]![1] <= s) j++;
    let k = j;
    while (k < b.length && b[k]![0] < e) {
      const [bs, be] = b[k]!;
      if (bs > s) out.push([s, bs]);
      s = Math.max(s, be);
      if (s >= e) break;
      k++;
    }
    if (s < e) out.push([s, e]);
  }
  return out;
}

export function totalMs(list: Interval[]): number {
  return list.reduce((sum, [a, b]) => sum + (b - a), 0);
}

/** Intervals within [from, until) in which `user` may open `lock` (lock online, no privacy mode). */
export function accessIntervals(snap: AccessSnapshot, user: SnapshotUser, lock: SnapshotLock, from: number, until: number): Interval[] {
  if (user.blocked || user.subscription_state !== 'subscribed') return [];
  const lo = Math.max(from, user.validFromMs ?? from);
  const hi = Math.min(until, user.validUntilMs ?? until);
  if (hi <= lo) return [];
  const offsetAt = liveOffsetFn(lockZone(snap, lock));
  const firstDay = Math.floor(wallTimeOf(offsetAt, lo) / DAY_MS) - 1;
  const lastDay = Math.floor(wallTimeOf(offsetAt, hi) / DAY_MS) + 1;
  const parts: Interval[] = [];
  for (const gid of user.groupIds) {
    const g = snap.groups.get(gid);
    if (!g || !g.lockIds.has(lock.id)) continue;
    if (g.schedules.length === 0) return [[lo, hi]];
    const dayTypeOf = calendarLookup(snap, g);
    for (const s of g.schedules) {
      const bFrom = s.rule.fromWall === null ? -Infinity : resolveWallTime(offsetAt, s.rule.fromWall, 'clamp');
      const bUntil = s.rule.untilWall === null ? Infinity : resolveWallTime(offsetAt, s.rule.untilWall, 'clamp');
      for (let d = firstDay; d <= lastDay; d++) {
        if (!ruleSelectsDay(s.rule, d, dayTypeOf(d))) continue;
        const [a, b] = windowInterval(s.rule, d, offsetAt);
        parts.push([Math.max(a, bFrom, lo), Math.min(b, bUntil, hi)]);
      }
    }
  }
  return normalize(parts);
}
