// Who gains and who loses access to which lock, and when, between two snapshots of the site (before
// and after a change that has not been saved yet). Only people whose access-relevant state changed are
// evaluated, so the diff stays quick on large sites.
import type { AccessChange, AccessDiff } from '../contract/results.ts';
import { accessIntervals, normalize, subtract, totalMs, type Interval } from './intervals.ts';
import { lockZone, type AccessSnapshot, type SnapshotGroup, type SnapshotUser } from './snapshot.ts';

export interface DiffOptions {
  from: number;
  until: number;
  maxChanges: number;
}

const MAX_INTERVALS_LISTED = 20;

export function accessDiff(before: AccessSnapshot, after: AccessSnapshot, opts: DiffOptions): AccessDiff {
  const sigBefore = signatures(before);
  const sigAfter = signatures(after);
  const changes: AccessChange[] = [];
  const users = new Set<string>();
  const locks = new Set<string>();
  // A tag's own line adds nothing when the person's line already says the same about that door.
  const personLines = new Set<string>();
  const record = (user: SnapshotUser, tagNumber: string | null, lockId: string, ib: Interval[], ia: Interval[]) => {
    const lockName = (after.locks.get(lockId) ?? before.locks.get(lockId))!.customer_reference;
    for (const [change, list] of [
      ['gains', subtract(ia, ib)],
      ['loses', subtract(ib, ia)],
    ] as const) {
      if (list.length === 0) continue;
      const line = `${user.id}|${lockId}|${change}`;
      if (tagNumber === null) personLines.add(line);
      else if (personLines.has(line)) continue;
      users.add(user.id);
      locks.add(lockId);
      changes.push({
        user_id: user.id,
        user_name: personName(user),
        tag_number: tagNumber,
        lock_id: lockId,
        lock_name: lockName,
        change,
        intervals: list.slice(0, MAX_INTERVALS_LISTED).map(([a, b]) => ({ from: new Date(a).toISOString(), until: new Date(b).toISOString() })),
        interval_count: list.length,
        minutes: Math.round(totalMs(list) / 60_000),
      });
    }
  };

  // People whose rights changed.
  for (const id of new Set([...before.users.keys(), ...after.users.keys()])) {
    const ub = before.users.get(id);
    const ua = after.users.get(id);
    if (ub && ua && sigBefore.user(ub) === sigAfter.user(ua)) continue;
    for (const lockId of new Set([...lockIdsOf(before, ub), ...lockIdsOf(after, ua)])) {
      record((ua ?? ub)!, null, lockId, intervalsOf(before, ub, lockId, opts), intervalsOf(after, ua, lockId, opts));
    }
  }
  // Tags that were blocked, reported lost, found, assigned or taken back: what the card itself opens.
  for (const id of new Set([...before.tags.keys(), ...after.tags.keys()])) {
    const tb = before.tags.get(id);
    const ta = after.tags.get(id);
    if (tb && ta && tb.user_id === ta.user_id && tb.blocked === ta.blocked && tb.lost_or_stolen === ta.lost_or_stolen) continue;
    const owners = [tb?.user_id, ta?.user_id].filter((o): o is string => !!o);
    const usable = (snap: AccessSnapshot, t: typeof tb, owner: string) => t && !t.blocked && !t.lost_or_stolen && t.user_id === owner ? snap.users.get(owner) : undefined;
    for (const owner of new Set(owners)) {
      const holder = after.users.get(owner) ?? before.users.get(owner)!;
      const ub = usable(before, tb, owner);
      const ua = usable(after, ta, owner);
      for (const lockId of new Set([...lockIdsOf(before, ub), ...lockIdsOf(after, ua)])) {
        record(holder, (ta ?? tb)!.tag_number, lockId, intervalsOf(before, ub, lockId, opts), intervalsOf(after, ua, lockId, opts));
      }
    }
  }
  changes.sort((a, b) => a.user_name.localeCompare(b.user_name) || a.lock_name.localeCompare(b.lock_name) || a.change.localeCompare(b.change));
  return {
    horizon: { from: new Date(opts.from).toISOString(), until: new Date(opts.until).toISOString() },
    changes: changes.slice(0, opts.maxChanges),
    truncated: changes.length > opts.maxChanges,
    users_affected: users.size,
    locks_affected: locks.size,
  };
}

function intervalsOf(snap: AccessSnapshot, user: SnapshotUser | undefined, lockId: string, opts: DiffOptions): Interval[] {
  const lock = snap.locks.get(lockId);
  if (!user || !lock) return [];
  return normalize(accessIntervals(snap, user, lock, opts.from, opts.until));
}

function lockIdsOf(snap: AccessSnapshot, user: SnapshotUser | undefined): Set<string> {
  const out = new Set<string>();
  if (!user) return out;
  for (const g of user.groupIds) for (const l of snap.groups.get(g)?.lockIds ?? []) out.add(l);
  return out;
}

/** Strings that are equal exactly when two versions of a person's access inputs are. */
function signatures(snap: AccessSnapshot) {
  const groupCache = new Map<string, string>();
  const group = (g: SnapshotGroup): string => {
    let s = groupCache.get(g.id);
    if (s === undefined) {
      const cal = g.calendarId ? snap.calendars.get(g.calendarId) : undefined;
      s = JSON.stringify([
        [...g.lockIds].sort().map((l) => {
          const lock = snap.locks.get(l);
          return lock ? `${l}@${lockZone(snap, lock)}` : l;
        }),
        g.schedules.map((x) => x.rule),
        cal ? [...cal.days].sort((a, b) => a[0] - b[0]) : null,
      ]);
      groupCache.set(g.id, s);
    }
    return s;
  };
  return {
    user: (u: SnapshotUser): string =>
      JSON.stringify([
        u.blocked,
        u.subscription_state,
        u.validFromMs,
        u.validUntilMs,
        [...u.groupIds].sort().map((g) => {
          const grp = snap.groups.get(g);
          return grp ? `${g}:${group(grp)}` : g;
        }),
      ]),
  };
}

function personName(u: SnapshotUser): string {
  return `${u.first_name} ${u.last_name}`.trim() || u.id;
}
