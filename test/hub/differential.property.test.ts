// The hub simulator (drivers/hub-sim, written from docs/access-table.md) against the core's decide()
// (core/access/decide.ts). The core compiles and serialises a table per IQ; the simulated hub installs
// the bytes, and every sampled (tag, lock, instant, privacy, link) must get the same decision, reason,
// granting group and schedule from the hub as from decide() on the model — also after a diff has moved
// the hub to the next version. Random sites here; every DST change swept in dst-sweep.property.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../core/access/decide.ts';
import { evaluateSchedule, NO_HOLIDAYS, toScheduleRule } from '../../core/access/schedule.ts';
import type { AccessSnapshot } from '../../core/access/snapshot.ts';
import { diffTables, serializeDiff, type AccessTable } from '../../core/access/table/access-table.ts';
import { AccessCompiler } from '../../core/access/table/compile.ts';
import { arbSiteSpec, BASE_MS, buildSnapshot, tagNumberFor, type SiteSpec } from '../../core/access/testing/random-site.ts';
import { WEEKDAYS } from '../../core/domain/enums.ts';
import type { EasyOfficeModeSchedule } from '../../core/domain/model.ts';
import { formatLocalDate, formatTimeOfDay } from '../../core/time/local.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS, findTransitions, liveOffsetFn } from '../../core/time/zone.ts';
import { SimulatedHub } from '../../drivers/hub-sim/hub.ts';
import { comparable, expectedOf, WINDOW, ZONES } from './support.ts';


const BASE_DAY = BASE_MS / DAY_MS;

const transitionsOf = (zone: string) => findTransitions(liveOffsetFn(zone), BASE_MS, BASE_MS + 400 * DAY_MS).transitions;
const dstInstants = ZONES.flatMap((z) => transitionsOf(z).map((t) => t.at));

const arbInstant = fc.oneof(
  { arbitrary: fc.integer({ min: BASE_MS, max: BASE_MS + 400 * DAY_MS - 1 }), weight: 3 },
  { arbitrary: fc.tuple(fc.constantFrom(...dstInstants), fc.integer({ min: -3 * HOUR_MS, max: 3 * HOUR_MS })).map(([t, d]) => t + d), weight: 3 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom(...dstInstants), fc.integer({ min: -6, max: 6 }), fc.integer({ min: -2, max: 2 }))
      .map(([t, q, s]) => t + q * 15 * MINUTE_MS + s * 1000),
    weight: 2,
  },
  {
    arbitrary: fc.tuple(fc.integer({ min: 0, max: 399 }), fc.integer({ min: -14, max: 14 }), fc.integer({ min: -2, max: 2 })).map(
      ([d, h, s]) => BASE_MS + d * DAY_MS + h * HOUR_MS + s * 1000,
    ),
    weight: 2,
  },
  // the edges of the table's validity window, where the hub must refuse, to the millisecond
  { arbitrary: fc.tuple(fc.constantFrom(WINDOW.from, WINDOW.until), fc.constantFrom(-1000, -1, 0, 1, 1000)).map(([t, d]) => t + d), weight: 1 },
);

const arbTime = fc.oneof(fc.integer({ min: 0, max: 86_399 }), fc.constantFrom(0, 1800, 3600, 5400, 7200, 9000, 10_800, 82_800, 86_399));

const arbEom: fc.Arbitrary<EasyOfficeModeSchedule> = fc
  .record({
    days: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
    start: arbTime,
    end: arbTime,
    from: fc.option(fc.tuple(fc.integer({ min: -10, max: 300 }), fc.option(arbTime, { nil: null })), { nil: null, freq: 3 }),
    auto: fc.boolean(),
  })
  .map(({ days, start, end, from, auto }) => {
    const s = {
      holiday: false,
      special_1: false,
      special_2: false,
      start_time: formatTimeOfDay(start),
      end_time: formatTimeOfDay(end),
      start_date: from ? formatLocalDate(BASE_DAY + from[0]) + (from[1] === null ? '' : `T${formatTimeOfDay(from[1])}`) : null,
      end_date: from ? formatLocalDate(BASE_DAY + from[0] + 60) : null,
      eom_auto_start: auto,
    } as EasyOfficeModeSchedule;
    WEEKDAYS.forEach((d, i) => (s[d] = days[i]!));
    if (!WEEKDAYS.some((d) => s[d])) s.tuesday = true;
    return s;
  });

/** What random-site.ts leaves at its defaults: EOM schedules, card UIDs, office-mode and remote flags. */
interface Extras {
  zones: string[];
  eom: Array<EasyOfficeModeSchedule | null>;
  uids: boolean[];
  toggles: Array<[boolean, boolean, boolean]>;
}

const arbExtras: fc.Arbitrary<Extras> = fc.record({
  zones: fc.array(fc.constantFrom(...ZONES), { minLength: 3, maxLength: 3 }),
  eom: fc.array(fc.option(arbEom, { nil: null, freq: 2 }), { maxLength: 6 }),
  uids: fc.array(fc.boolean(), { maxLength: 8 }),
  toggles: fc.array(fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()), { maxLength: 6 }),
});

function buildSite(spec: SiteSpec, extras: Extras): AccessSnapshot {
  const snap = buildSnapshot({ ...spec, iqZones: spec.iqZones.map((_, i) => extras.zones[i]!) });
  extras.eom.forEach((eom, i) => {
    const lock = snap.locks.get(`lock-${i}`);
    if (lock) lock.easy_office_mode_schedule = eom;
  });
  extras.uids.forEach((on, i) => {
    const tag = snap.tags.get(`tag-${i}`);
    if (tag && on) tag.card_uid = (0xa0000000 + i * 0x1013).toString(16).toUpperCase();
  });
  extras.toggles.forEach(([eom, mom, remote], i) => {
    const u = snap.users.get(`user-${i}`);
    if (u) Object.assign(u, { toggle_easy_office_mode: eom, toggle_manual_office_mode: mom, remote_access: remote });
  });
  return snap;
}

interface Hubs {
  byIq: Map<string, SimulatedHub>;
  tables: ReadonlyMap<string, AccessTable>;
}

function installAll(snap: AccessSnapshot): Hubs {
  const tables = new AccessCompiler(snap, BASE_MS).compileAll();
  const byIq = new Map<string, SimulatedHub>();
  for (const [iqId, table] of tables) {
    const hub = new SimulatedHub({ clock: () => BASE_MS, iqId });
    const bytes = table.serialize();
    const r = hub.installTable(bytes);
    expect(r).toMatchObject({ ok: true, hash: table.hash });
    // The hub's canonical serialisation reproduces the core's bytes exactly.
    expect(Buffer.from(hub.tableBytes()!).equals(Buffer.from(bytes))).toBe(true);
    byIq.set(iqId, hub);
  }
  return { byIq, tables };
}

type Probe = [tag: number, lock: number, instant: number, privacy: boolean, offline: boolean, pick: number, byUid: boolean];
const arbProbe: fc.Arbitrary<Probe> = fc.tuple(fc.nat(40), fc.nat(9), arbInstant, fc.boolean(), fc.boolean(), fc.nat(60), fc.boolean());

let compared = 0;
let refusedOutsideWindow = 0;

function checkProbes(snap: AccessSnapshot, spec: SiteSpec, hubs: Hubs, probes: Probe[]): void {
  const locks = [...snap.locks.values()].filter((l) => l.iq_id !== null && hubs.byIq.has(l.iq_id));
  if (locks.length === 0) return;
  const holidays = [...snap.calendars.values()].flatMap((c) => [...c.days.keys()]).filter((d) => d * DAY_MS >= BASE_MS && d * DAY_MS < BASE_MS + 399 * DAY_MS);
  for (const [tagIdx, lockIdx, instant, privacy, offline, pick, byUid] of probes) {
    const lock = locks[lockIdx % locks.length]!;
    const hub = hubs.byIq.get(lock.iq_id!)!;
    const tagNumber = tagNumberFor(tagIdx % 10 === 9 ? spec.tags.length + tagIdx : tagIdx % spec.tags.length);
    // A third of the probes land on a calendar date; a fifth on the owner's validity bounds, to the millisecond.
    const owner = snap.tagsByNumber.get(tagNumber)?.user_id;
    const u = owner ? snap.users.get(owner) : undefined;
    const bound = pick % 5 === 1 ? (pick % 2 ? u?.validUntilMs : u?.validFromMs) : null;
    const t =
      bound !== null && bound !== undefined
        ? bound + ((pick >> 1) % 3) - 1
        : holidays.length && pick % 3 === 0
          ? holidays[pick % holidays.length]! * DAY_MS + (instant % DAY_MS)
          : instant;
    hub.setPrivacy(lock.id, privacy, { at: t });
    if (offline) hub.loseRadio(lock.id, { at: t });
    else hub.restoreRadio(lock.id, { at: t });
    const tag = snap.tagsByNumber.get(tagNumber);
    const uid = byUid && tag?.card_uid ? Uint8Array.from(Buffer.from(tag.card_uid, 'hex')) : null;
    const got = hub.presentTag(lock.id, uid ?? tagNumber, { at: t }).decision;
    const ctx = { zone: hub.tableInfo()!.zone, lock: lock.id, tagNumber, uid: tag?.card_uid, at: new Date(t).toISOString(), privacy, offline };
    if (t < WINDOW.from || t >= WINDOW.until) {
      expect({ ...comparable(got), ctx }).toEqual({ granted: false, reason: 'outside_table_window', group: null, schedule: null, ctx });
      refusedOutsideWindow++;
      continue;
    }
    if (uid && !hubs.tables.get(lock.iq_id!)!.has(`T${tagNumber}`)) {
      // The registry holds numbers only: a UID without a tag record here cannot be identified.
      expect({ reason: got.reason, cause: got.granted ? null : got.cause }).toEqual({ reason: 'unknown_tag', cause: 'uid_not_in_table' });
      continue;
    }
    const expected = expectedOf(snap, decide(snap, tagNumber, lock.id, t, { privacy_mode: privacy, offline }));
    expect({ ...comparable(got), ctx }).toEqual({ ...expected, ctx });
    compared++;
  }
}

/** EOM windows: the hub's (from the L record) against the core's schedule rules on the live zone. */
function checkEom(snap: AccessSnapshot, hubs: Hubs, instants: number[]): number {
  let n = 0;
  for (const lock of snap.locks.values()) {
    const eom = lock.easy_office_mode_schedule;
    if (!eom || !lock.iq_id || !hubs.byIq.has(lock.iq_id)) continue;
    const hub = hubs.byIq.get(lock.iq_id)!;
    const rule = toScheduleRule(eom);
    const zone = liveOffsetFn(snap.iqs.get(lock.iq_id)!.time_zone);
    for (const t of instants) {
      if (t < WINDOW.from || t >= WINDOW.until) continue;
      const core = evaluateSchedule(rule, t, zone, NO_HOLIDAYS) === 'open';
      expect({ lock: lock.id, at: new Date(t).toISOString(), open: hub.eomWindowAt(lock.id, t) !== null }).toEqual({ lock: lock.id, at: new Date(t).toISOString(), open: core });
      n++;
    }
  }
  return n;
}

/** A second site: some sections of `a` replaced by those of `b` (people, tags, groups, calendars, locks, zones). */
function mixSpecs(a: SiteSpec, b: SiteSpec, take: boolean[]): SiteSpec {
  const [users, tags, groups, calendars, locks, zones] = take;
  return {
    iqZones: zones ? b.iqZones : a.iqZones,
    users: users ? b.users : a.users,
    tags: tags ? b.tags : a.tags,
    groups: groups ? b.groups : a.groups,
    calendars: calendars ? b.calendars : a.calendars,
    locks: locks ? b.locks : a.locks,
  };
}

describe('the hub simulator decides like the core', () => {
  it('on random sites, tags, locks and instants, DST days of twelve zones included', () => {
    compared = 0;
    refusedOutsideWindow = 0;
    let eomChecks = 0;
    fc.assert(
      fc.property(arbSiteSpec, arbExtras, fc.array(arbProbe, { minLength: 10, maxLength: 60 }), (spec, extras, probes) => {
        const snap = buildSite(spec, extras);
        const hubs = installAll(snap);
        checkProbes(snap, spec, hubs, probes);
        eomChecks += checkEom(snap, hubs, probes.map((p) => p[2]));
      }),
      { numRuns: 400 },
    );
    // The property must have compared a meaningful number of decisions, not passed vacuously.
    expect(compared).toBeGreaterThan(5000);
    expect(refusedOutsideWindow).toBeGreaterThan(20);
    expect(eomChecks).toBeGreaterThan(2000);
    console.info(`differential: ${compared} decisions compared, ${refusedOutsideWindow} refusals outside the window, ${eomChecks} EOM windows`);
  }, 120_000);

  it('after a diff moves each hub to the next version', () => {
    compared = 0;
    let diffs = 0;
    fc.assert(
      fc.property(
        arbSiteSpec,
        arbSiteSpec,
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        arbExtras,
        fc.array(arbProbe, { minLength: 10, maxLength: 40 }),
        (specA, other, take, extras, probes) => {
          const snapA = buildSite(specA, extras);
          const hubs = installAll(snapA);
          const specB = mixSpecs(specA, other, take);
          const snapB = buildSite(specB, { ...extras, zones: take[5] ? [...extras.zones].reverse() : extras.zones });
          const tablesB = new AccessCompiler(snapB, BASE_MS).compileAll();
          for (const [iqId, hub] of hubs.byIq) {
            const to = tablesB.get(iqId);
            if (!to) continue;
            const from = hubs.tables.get(iqId)!;
            const bytes = serializeDiff(diffTables(from, to));
            const r = hub.applyDiff(bytes);
            expect(r).toMatchObject({ ok: true, hash: to.hash, changed: from.hash !== to.hash });
            expect(hub.tableInfo()!.hash).toBe(to.hash);
            // A retransmitted diff (its target is already active) changes nothing.
            expect(hub.applyDiff(bytes)).toMatchObject({ ok: true, hash: to.hash, changed: false });
            diffs++;
          }
          const after: Hubs = { byIq: new Map([...hubs.byIq].filter(([iq]) => tablesB.has(iq))), tables: tablesB };
          checkProbes(snapB, specB, after, probes);
        },
      ),
      { numRuns: 200 },
    );
    expect(diffs).toBeGreaterThan(200);
    expect(compared).toBeGreaterThan(2000);
    console.info(`differential after diffs: ${diffs} diffs applied, ${compared} decisions compared`);
  }, 120_000);
});
