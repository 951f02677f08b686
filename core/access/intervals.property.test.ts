// accessIntervals() is the closed form of decideForUser() over a span of time: the access preview lists
// what it returns, so an instant must lie in one of its intervals exactly when decideForUser() grants
// at that instant (door online, no privacy mode). Checked on random sites over 10-day horizons, many
// of them around the DST changes of the zones in use, at random instants and right at the edges of
// every interval. normalize() and subtract() are checked against a point-membership oracle.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_TYPES } from '../domain/enums.ts';
import { DAY_MS, findTransitions, HOUR_MS, liveOffsetFn } from '../time/zone.ts';
import { decideForUser } from './decide.ts';
import { accessIntervals, normalize, subtract, totalMs, type Interval } from './intervals.ts';
import { lockZone, type AccessSnapshot, type SnapshotLock, type SnapshotUser } from './snapshot.ts';
import { arbSiteSpec, BASE_MS, buildSnapshot, TEST_ZONES, type SiteSpec } from './testing/random-site.ts';

const HORIZON_MS = 10 * DAY_MS;

/** DST changes of every test zone within the random sites' 400 days. */
const dstInstants = TEST_ZONES.flatMap((z) => findTransitions(liveOffsetFn(z), BASE_MS, BASE_MS + 400 * DAY_MS).transitions.map((t) => t.at));

const contains = (list: Interval[], t: number) => list.some(([a, b]) => a <= t && t < b);

/** Checks intervals against decisions at the given instants and on both sides of every interval edge. */
function checkAgreement(snap: AccessSnapshot, user: SnapshotUser, lock: SnapshotLock, from: number, until: number, instants: Iterable<number>): Interval[] {
  const intervals = accessIntervals(snap, user, lock, from, until);
  // Well-formed: sorted, inside the horizon, neither overlapping nor touching.
  intervals.forEach(([a, b], i) => {
    expect(a).toBeLessThan(b);
    expect(a).toBeGreaterThanOrEqual(from);
    expect(b).toBeLessThanOrEqual(until);
    if (i > 0) expect(a).toBeGreaterThan(intervals[i - 1]![1]);
  });
  const probes = new Set<number>(instants);
  for (const [a, b] of intervals.slice(0, 40)) for (const t of [a - 1000, a - 1, a, a + 1, b - 1, b, b + 999]) probes.add(t);
  for (const t of probes) {
    if (t < from || t >= until) continue;
    const d = decideForUser(snap, user.id, lock.id, t, { privacy_mode: false });
    if (d.granted !== contains(intervals, t)) {
      expect.fail(
        `${user.id} at ${lock.id} (${lockZone(snap, lock)}) at ${new Date(t).toISOString()}: ` +
          `decide says ${d.granted ? 'granted' : d.reason}, intervals say ${contains(intervals, t) ? 'inside' : 'outside'}`,
      );
    }
  }
  return intervals;
}

describe('accessIntervals agrees with decideForUser', () => {
  it('an instant is in the intervals exactly when the person may open the lock then', () => {
    const arbHorizonStart = fc.oneof(
      fc.integer({ min: BASE_MS - 2 * DAY_MS, max: BASE_MS + 390 * DAY_MS }),
      // A horizon that contains a DST change somewhere inside it.
      fc.tuple(fc.constantFrom(...dstInstants), fc.integer({ min: 0, max: HORIZON_MS - 1 })).map(([t, back]) => t - back),
    );
    fc.assert(
      fc.property(
        // At least one holiday calendar, so that holidays inside the horizon matter.
        arbSiteSpec.map((s) => (s.calendars.length ? s : { ...s, calendars: [[]] })),
        fc.constantFrom(...TEST_ZONES),
        arbHorizonStart,
        // Holiday-calendar dates inside the horizon (day 0 = the horizon's first UTC date).
        fc.array(fc.record({ day: fc.integer({ min: -1, max: 11 }), type: fc.constantFrom(...DAY_TYPES), cal: fc.nat(3) }), { maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(9), fc.nat(9)), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: HORIZON_MS - 1 }), { minLength: 5, maxLength: 15 }),
        (spec, siteZone, from, holidays, pairs, offsets) => {
          const snap = buildSnapshot(spec, siteZone);
          const cals = [...snap.calendars.values()];
          for (const h of holidays) if (cals.length) cals[h.cal % cals.length]!.days.set(Math.floor(from / DAY_MS) + h.day, h.type);
          const until = from + HORIZON_MS;
          const users = [...snap.users.values()];
          const locks = [...snap.locks.values()];
          const dstInside = dstInstants.filter((t) => t >= from && t < until);
          for (const [ui, li] of pairs) {
            const user = users[ui % users.length]!;
            const lock = locks[li % locks.length]!;
            const probes = offsets.map((o) => from + o);
            for (const t of dstInside) for (const d of [-HOUR_MS - 1, -1, 0, 1, HOUR_MS - 1, HOUR_MS]) probes.push(t + d);
            checkAgreement(snap, user, lock, from, until, probes);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('agrees where a schedule starts inside the spring-forward gap and ends inside the fall-back overlap', () => {
    const everyDay = { monday: true, tuesday: true, wednesday: true, thursday: true, friday: true, saturday: true, sunday: true };
    const spec: SiteSpec = {
      iqZones: ['Europe/Amsterdam'],
      locks: [{ iq: 0, privacy: false, offlineTags: [] }],
      users: [{ blocked: false, suspended: false, validFrom: null, validUntil: null, override: false, groups: [0] }],
      tags: [{ owner: 0, blocked: false, lost: false }],
      groups: [
        {
          locks: [0],
          schedules: [
            { ...everyDay, holiday: false, special_1: false, special_2: false, start_time: '00:00:00', end_time: '23:59:59', start_date: '2027-03-28T02:30:00', end_date: '2027-10-31T02:30:00' },
          ],
          calendar: null,
        },
      ],
      calendars: [],
    };
    const snap = buildSnapshot(spec);
    const user = snap.users.get('user-0')!;
    const lock = snap.locks.get('lock-0')!;
    const spring = Date.parse('2027-03-28T01:00:00Z'); // 02:00 CET becomes 03:00 CEST
    const autumn = Date.parse('2027-10-31T01:00:00Z'); // 03:00 CEST becomes 02:00 CET
    const around = (t: number) => [-HOUR_MS, -1, 0, 1, HOUR_MS / 2 - 1, HOUR_MS / 2, HOUR_MS - 1, HOUR_MS, 2 * HOUR_MS].map((d) => t + d);
    // The start 02:30 does not exist: access begins when the gap ends, 03:00 CEST.
    expect(checkAgreement(snap, user, lock, spring - DAY_MS, spring + DAY_MS, around(spring))[0]![0]).toBe(spring);
    // The end 02:30 happens twice: the schedule ends at the first, 02:30:01 CEST.
    expect(checkAgreement(snap, user, lock, autumn - DAY_MS, autumn + DAY_MS, around(autumn)).at(-1)![1]).toBe(autumn - HOUR_MS / 2 + 1000);
  });

  it('gives nothing to a blocked, suspended or not yet valid person, and clips to the validity period', () => {
    const spec: SiteSpec = {
      iqZones: ['Europe/Amsterdam'],
      locks: [{ iq: 0, privacy: false, offlineTags: [] }],
      users: [{ blocked: false, suspended: false, validFrom: DAY_MS / 2, validUntil: 3 * DAY_MS, override: false, groups: [0] }],
      tags: [{ owner: 0, blocked: false, lost: false }],
      groups: [{ locks: [0], schedules: [], calendar: null }],
      calendars: [],
    };
    const snap = buildSnapshot(spec);
    const user = snap.users.get('user-0')!;
    const lock = snap.locks.get('lock-0')!;
    expect(accessIntervals(snap, user, lock, BASE_MS, BASE_MS + 10 * DAY_MS)).toEqual([[BASE_MS + DAY_MS / 2, BASE_MS + 3 * DAY_MS]]);
    expect(accessIntervals(snap, user, lock, BASE_MS + 4 * DAY_MS, BASE_MS + 10 * DAY_MS)).toEqual([]);
    user.blocked = true;
    expect(accessIntervals(snap, user, lock, BASE_MS, BASE_MS + 10 * DAY_MS)).toEqual([]);
    user.blocked = false;
    user.subscription_state = 'suspended';
    expect(accessIntervals(snap, user, lock, BASE_MS, BASE_MS + 10 * DAY_MS)).toEqual([]);
  });
});

describe('normalize', () => {
  it('sorts, merges overlapping and touching intervals and drops empty ones', () => {
    expect(normalize([])).toEqual([]);
    expect(
      normalize([
        [10, 20],
        [0, 5],
        [5, 7],
        [15, 30],
        [40, 40],
        [50, 45],
        [31, 32],
      ]),
    ).toEqual([
      [0, 7],
      [10, 30],
      [31, 32],
    ]);
    expect(
      normalize([
        [0, 100],
        [10, 20],
      ]),
    ).toEqual([[0, 100]]);
  });

  it('does not modify its input', () => {
    const input: Interval[] = [
      [5, 9],
      [0, 6],
    ];
    normalize(input);
    expect(input).toEqual([
      [5, 9],
      [0, 6],
    ]);
  });
});

describe('subtract', () => {
  it('cuts holes, trims ends and removes covered intervals', () => {
    expect(subtract([[0, 10]], [[3, 5]])).toEqual([
      [0, 3],
      [5, 10],
    ]);
    expect(subtract([[0, 10]], [[-5, 3]])).toEqual([[3, 10]]);
    expect(subtract([[0, 10]], [[8, 20]])).toEqual([[0, 8]]);
    expect(subtract([[0, 10]], [[0, 10]])).toEqual([]);
    expect(
      subtract(
        [
          [0, 10],
          [20, 30],
        ],
        [
          [5, 25],
          [28, 29],
        ],
      ),
    ).toEqual([
      [0, 5],
      [25, 28],
      [29, 30],
    ]);
    expect(subtract([[0, 10]], [])).toEqual([[0, 10]]);
    expect(subtract([], [[0, 10]])).toEqual([]);
    // One interval of b spanning several of a.
    expect(
      subtract(
        [
          [0, 2],
          [4, 6],
          [8, 10],
        ],
        [[1, 9]],
      ),
    ).toEqual([
      [0, 1],
      [9, 10],
    ]);
  });
});

describe('normalize and subtract against point membership', () => {
  const arbList = fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 })), { maxLength: 8 }).map((l) => l.map(([a, b]) => [a, b] as Interval));
  const inAny = (list: Interval[], t: number) => list.some(([a, b]) => a <= t && t < b);

  it('normalize keeps exactly the same points and yields sorted, separated intervals', () => {
    fc.assert(
      fc.property(arbList, (list) => {
        const n = normalize(list.map(([a, b]) => [a, b] as Interval));
        for (let i = 0; i < n.length; i++) {
          expect(n[i]![0]).toBeLessThan(n[i]![1]);
          if (i > 0) expect(n[i]![0]).toBeGreaterThan(n[i - 1]![1]);
        }
        for (let t = -1; t <= 61; t++) expect(inAny(n, t)).toBe(inAny(list, t));
        expect(totalMs(n)).toBe(Array.from({ length: 62 }, (_, t) => t).filter((t) => inAny(list, t)).length);
      }),
      { numRuns: 300 },
    );
  });

  it('subtract(a, b) holds exactly the points of a that are not in b, as normalised intervals', () => {
    fc.assert(
      fc.property(arbList, arbList, (la, lb) => {
        const a = normalize(la);
        const b = normalize(lb);
        const d = subtract(a, b);
        for (let i = 0; i < d.length; i++) {
          expect(d[i]![0]).toBeLessThan(d[i]![1]);
          if (i > 0) expect(d[i]![0]).toBeGreaterThan(d[i - 1]![1]);
        }
        for (let t = -1; t <= 61; t++) expect(inAny(d, t), `t=${t}`).toBe(inAny(a, t) && !inAny(b, t));
      }),
      { numRuns: 300 },
    );
  });
});
