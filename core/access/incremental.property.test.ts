// The incremental paths of the AccessCompiler (usersChanged, tagsChanged, recompileIqs) must leave every
// IQ's table exactly as a full compile of the same snapshot would: a hub that got a patched table must
// enforce the same rules as one that got a fresh one. Random sites get random sequences of the changes
// the service makes (people, memberships, tags, groups), each followed by the incremental call the
// access engine would make, and after every step the tables are compared hash for hash with a fresh
// compile of the mutated snapshot.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WEEKDAYS } from '../domain/enums.ts';
import type { TimeScheduleFields } from '../domain/model.ts';
import { formatLocalDate, formatTimeOfDay } from '../time/local.ts';
import { DAY_MS } from '../time/zone.ts';
import { toScheduleRule } from './schedule.ts';
import { addTag, removeTag, type AccessSnapshot, type SnapshotTag } from './snapshot.ts';
import { AccessCompiler } from './table/compile.ts';
import { arbSiteSpec, BASE_MS, buildSnapshot, tagNumberFor } from './testing/random-site.ts';

type Mutation =
  | { kind: 'userFlags'; user: number; blocked: boolean; suspended: boolean; override: boolean; toggles: boolean; validFrom: number | null; validUntil: number | null }
  | { kind: 'userGroups'; user: number; groups: number[] }
  | { kind: 'bulkBlock'; users: number[]; blocked: boolean }
  | { kind: 'addUser'; groups: number[]; blocked: boolean; tags: number[] }
  | { kind: 'deleteUser'; user: number }
  | { kind: 'tagOwner'; tag: number; owner: number | null }
  | { kind: 'tagFlags'; tag: number; blocked: boolean; lost: boolean }
  | { kind: 'tagNumber'; tag: number; fresh: number }
  | { kind: 'addTag'; owner: number | null; blocked: boolean }
  | { kind: 'deleteTag'; tag: number }
  | { kind: 'swapTagOwners'; a: number; b: number }
  | { kind: 'groupLocks'; group: number; locks: number[] }
  | { kind: 'groupSchedules'; group: number; schedules: TimeScheduleFields[] }
  | { kind: 'groupCalendar'; group: number; calendar: number | null };

const BASE_DAY = BASE_MS / DAY_MS;

const arbSchedule: fc.Arbitrary<TimeScheduleFields> = fc
  .record({
    days: fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
    start: fc.integer({ min: 0, max: 23 }),
    end: fc.integer({ min: 0, max: 23 }),
    from: fc.option(fc.integer({ min: -20, max: 300 }), { nil: null }),
    length: fc.option(fc.integer({ min: 0, max: 200 }), { nil: null }),
  })
  .map(({ days, start, end, from, length }) => {
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
      start_time: formatTimeOfDay(start * 3600),
      end_time: formatTimeOfDay(end * 3600 + 1799),
      start_date: from === null ? null : formatLocalDate(BASE_DAY + from),
      end_date: from === null || length === null ? null : formatLocalDate(BASE_DAY + from + length),
    };
    WEEKDAYS.forEach((d, i) => (s[d] = days[i]!));
    if (!WEEKDAYS.some((d) => s[d]) && !s.holiday && !s.special_1 && !s.special_2) s.monday = true;
    return s;
  });

const nats = (max: number) => fc.array(fc.nat(max), { maxLength: 3 });
const validity = fc.option(fc.integer({ min: -20 * DAY_MS, max: 300 * DAY_MS }), { nil: null, freq: 2 });

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('userFlags' as const),
    user: fc.nat(20),
    blocked: fc.boolean(),
    suspended: fc.boolean(),
    override: fc.boolean(),
    toggles: fc.boolean(),
    validFrom: validity,
    validUntil: validity,
  }),
  fc.record({ kind: fc.constant('userGroups' as const), user: fc.nat(20), groups: nats(9) }),
  fc.record({ kind: fc.constant('bulkBlock' as const), users: fc.array(fc.nat(20), { minLength: 1, maxLength: 4 }), blocked: fc.boolean() }),
  fc.record({ kind: fc.constant('addUser' as const), groups: nats(9), blocked: fc.boolean(), tags: nats(20) }),
  fc.record({ kind: fc.constant('deleteUser' as const), user: fc.nat(20) }),
  fc.record({ kind: fc.constant('tagOwner' as const), tag: fc.nat(20), owner: fc.option(fc.nat(20), { nil: null, freq: 4 }) }),
  fc.record({ kind: fc.constant('tagFlags' as const), tag: fc.nat(20), blocked: fc.boolean(), lost: fc.boolean() }),
  fc.record({ kind: fc.constant('tagNumber' as const), tag: fc.nat(20), fresh: fc.nat(50) }),
  fc.record({ kind: fc.constant('addTag' as const), owner: fc.option(fc.nat(20), { nil: null, freq: 4 }), blocked: fc.boolean() }),
  fc.record({ kind: fc.constant('deleteTag' as const), tag: fc.nat(20) }),
  fc.record({ kind: fc.constant('swapTagOwners' as const), a: fc.nat(20), b: fc.nat(20) }),
  fc.record({ kind: fc.constant('groupLocks' as const), group: fc.nat(9), locks: fc.array(fc.nat(9), { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('groupSchedules' as const), group: fc.nat(9), schedules: fc.array(arbSchedule, { maxLength: 2 }) }),
  fc.record({ kind: fc.constant('groupCalendar' as const), group: fc.nat(9), calendar: fc.option(fc.nat(3), { nil: null }) }),
);

/** What the engine would hand the compiler after a change. */
type Incremental = { users: string[] } | { tags: string[]; users?: string[] } | { iqs: string[] };

const pick = <T,>(list: T[], i: number): T | undefined => (list.length ? list[i % list.length] : undefined);

function iqsOfGroup(snap: AccessSnapshot, groupId: string): string[] {
  const out = new Set<string>();
  for (const l of snap.groups.get(groupId)?.lockIds ?? []) {
    const iq = snap.locks.get(l)?.iq_id;
    if (iq) out.add(iq);
  }
  return [...out];
}

function setUserGroups(snap: AccessSnapshot, userId: string, groupIds: Iterable<string>): void {
  const u = snap.users.get(userId)!;
  for (const g of u.groupIds) snap.groups.get(g)?.memberIds.delete(userId);
  u.groupIds = new Set(groupIds);
  for (const g of u.groupIds) snap.groups.get(g)!.memberIds.add(userId);
}

function replaceTag(snap: AccessSnapshot, tag: SnapshotTag, patch: Partial<SnapshotTag>): void {
  removeTag(snap, tag.id);
  addTag(snap, { ...tag, ...patch });
}

/** Applies a mutation to the snapshot the way the store would, and says what to recompile. */
function applyMutation(snap: AccessSnapshot, m: Mutation, counters: { pk: number; tagNo: number; schedulePk: number }): Incremental | null {
  const users = [...snap.users.keys()];
  const tags = [...snap.tags.values()];
  const groups = [...snap.groups.keys()];
  const locks = [...snap.locks.keys()];
  switch (m.kind) {
    case 'userFlags': {
      const id = pick(users, m.user);
      if (!id) return null;
      const u = snap.users.get(id)!;
      u.blocked = m.blocked;
      u.subscription_state = m.suspended ? 'suspended' : 'subscribed';
      u.override_privacy_mode = m.override;
      u.toggle_easy_office_mode = m.toggles;
      u.remote_access = !m.toggles;
      u.validFromMs = m.validFrom === null ? null : BASE_MS + m.validFrom;
      u.validUntilMs = m.validUntil === null ? null : BASE_MS + m.validUntil;
      return { users: [id] };
    }
    case 'userGroups': {
      const id = pick(users, m.user);
      if (!id) return null;
      setUserGroups(snap, id, m.groups.map((g) => pick(groups, g)!).filter(Boolean));
      return { users: [id] };
    }
    case 'bulkBlock': {
      const ids = [...new Set(m.users.map((u) => pick(users, u)).filter((u): u is string => !!u))];
      for (const id of ids) snap.users.get(id)!.blocked = m.blocked;
      return ids.length ? { users: ids } : null;
    }
    case 'addUser': {
      const pk = counters.pk++;
      const id = `user-new-${pk}`;
      snap.users.set(id, {
        pk,
        id,
        user_id: `platform-new-${pk}`,
        first_name: 'New',
        last_name: String(pk),
        blocked: m.blocked,
        subscription_state: 'subscribed',
        validFromMs: null,
        validUntilMs: null,
        remote_access: false,
        override_privacy_mode: false,
        toggle_easy_office_mode: false,
        toggle_manual_office_mode: false,
        groupIds: new Set(),
      });
      setUserGroups(snap, id, m.groups.map((g) => pick(groups, g)!).filter(Boolean));
      // The import creates the person and hands them unassigned tags in the same command.
      const handed = [...new Set(m.tags.map((t) => pick(tags, t)).filter((t): t is SnapshotTag => !!t && t.user_id === null))];
      for (const t of handed) replaceTag(snap, t, { user_id: id });
      return { users: [id], tags: handed.map((t) => t.id) };
    }
    case 'deleteUser': {
      const id = pick(users, m.user);
      if (!id) return null;
      setUserGroups(snap, id, []);
      snap.users.delete(id);
      // ON DELETE SET NULL: the person's tags stay, unassigned.
      const owned = tags.filter((t) => t.user_id === id);
      for (const t of owned) replaceTag(snap, t, { user_id: null });
      snap.tagsByOwner.delete(id);
      return { users: [id], tags: owned.map((t) => t.id) };
    }
    case 'tagOwner': {
      const t = pick(tags, m.tag);
      if (!t) return null;
      replaceTag(snap, t, { user_id: m.owner === null ? null : (pick(users, m.owner) ?? null) });
      return { tags: [t.id] };
    }
    case 'tagFlags': {
      const t = pick(tags, m.tag);
      if (!t) return null;
      replaceTag(snap, t, { blocked: m.blocked, lost_or_stolen: m.lost });
      return { tags: [t.id] };
    }
    case 'tagNumber': {
      const t = pick(tags, m.tag);
      if (!t) return null;
      const number = tagNumberFor(500 + m.fresh);
      if (snap.tagsByNumber.has(number)) return null;
      replaceTag(snap, t, { tag_number: number });
      return { tags: [t.id] };
    }
    case 'addTag': {
      const pk = counters.pk++;
      addTag(snap, {
        pk,
        id: `tag-new-${pk}`,
        tag_number: tagNumberFor(1000 + counters.tagNo++),
        card_uid: pk % 2 ? 'A1B2C3D4' : null,
        user_id: m.owner === null ? null : (pick(users, m.owner) ?? null),
        blocked: m.blocked,
        lost_or_stolen: false,
        issue_counter: 0,
      });
      return { tags: [`tag-new-${pk}`] };
    }
    case 'deleteTag': {
      const t = pick(tags, m.tag);
      if (!t) return null;
      removeTag(snap, t.id);
      // ON DELETE CASCADE on the offline keys.
      for (const l of snap.locks.values()) l.offlineTagIds.delete(t.id);
      return { tags: [t.id] };
    }
    case 'swapTagOwners': {
      const a = pick(tags, m.a);
      const b = pick(tags, m.b);
      if (!a || !b || a.id === b.id) return null;
      replaceTag(snap, a, { user_id: b.user_id });
      replaceTag(snap, b, { user_id: a.user_id });
      return { tags: [a.id, b.id] };
    }
    case 'groupLocks': {
      const gid = pick(groups, m.group);
      if (!gid) return null;
      const before = iqsOfGroup(snap, gid);
      snap.groups.get(gid)!.lockIds = new Set(m.locks.map((l) => pick(locks, l)!).filter(Boolean));
      return { iqs: [...new Set([...before, ...iqsOfGroup(snap, gid)])] };
    }
    case 'groupSchedules': {
      const gid = pick(groups, m.group);
      if (!gid) return null;
      snap.groups.get(gid)!.schedules = m.schedules.map((fields) => {
        const pk = counters.schedulePk++;
        return { pk, id: `sched-new-${pk}`, fields, rule: toScheduleRule(fields) };
      });
      return { iqs: iqsOfGroup(snap, gid) };
    }
    case 'groupCalendar': {
      const gid = pick(groups, m.group);
      if (!gid) return null;
      const cals = [...snap.calendars.keys()];
      snap.groups.get(gid)!.calendarId = m.calendar === null ? null : (pick(cals, m.calendar) ?? null);
      return { iqs: iqsOfGroup(snap, gid) };
    }
  }
}

function hashes(tables: ReadonlyMap<string, { hash: string }>): Record<string, string> {
  return Object.fromEntries([...tables].map(([iq, t]) => [iq, t.hash]).sort(([a], [b]) => a!.localeCompare(b!)));
}

describe('incremental compile equals a full compile', () => {
  it('after every random change to people, tags and groups, every IQ table hashes like a fresh compile', () => {
    fc.assert(
      fc.property(arbSiteSpec, fc.array(arbMutation, { minLength: 1, maxLength: 10 }), (spec, mutations) => {
        const snap = buildSnapshot(spec);
        const compiler = new AccessCompiler(snap, BASE_MS);
        compiler.compileAll();
        // Rebuilds from scratch on every compileAll() (only the zone transition lists, a pure function of
        // zone and window, are kept between calls), so each step can be checked cheaply.
        const reference = new AccessCompiler(snap, BASE_MS);
        const counters = { pk: 1000, tagNo: 0, schedulePk: 1000 };
        for (const [step, m] of mutations.entries()) {
          const before = hashes(compiler.allTables());
          const inc = applyMutation(snap, m, counters);
          if (!inc) continue;
          let reported: Set<string>;
          if ('iqs' in inc) reported = compiler.recompileIqs(inc.iqs);
          else {
            // Same order as the access engine: people first, then tags.
            reported = new Set();
            if (inc.users) for (const iq of compiler.usersChanged(inc.users)) reported.add(iq);
            if ('tags' in inc) for (const iq of compiler.tagsChanged(inc.tags)) reported.add(iq);
          }
          const after = hashes(compiler.allTables());
          expect(after, `step ${step}: ${JSON.stringify(m)}`).toEqual(hashes(reference.compileAll()));
          const changed = Object.keys(after).filter((iq) => after[iq] !== before[iq]);
          if (!('iqs' in inc) && !('tags' in inc)) {
            // A change to people alone reports exactly the IQs whose table changed.
            expect([...reported].sort(), `step ${step}: ${JSON.stringify(m)}`).toEqual(changed.sort());
          } else {
            // Otherwise it must at least report every IQ that changed (a hub not told would go stale).
            for (const iq of changed) expect(reported.has(iq), `step ${step}: ${iq} changed but was not reported`).toBe(true);
          }
        }
        // And a brand-new compiler agrees with the patched tables at the end.
        expect(hashes(compiler.allTables())).toEqual(hashes(new AccessCompiler(snap, BASE_MS).compileAll()));
      }),
      { numRuns: 150 },
    );
  });
});
