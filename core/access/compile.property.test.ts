import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, findTransitions, liveOffsetFn } from '../time/zone.ts';
import { decide } from './decide.ts';
import { AccessCompiler } from './table/compile.ts';
import { TableEvaluator } from './table/evaluator.ts';
import { AccessTable } from './table/access-table.ts';
import { arbSiteSpec, BASE_MS, buildSnapshot, TEST_ZONES, tagNumberFor } from './testing/random-site.ts';

// Instants worth probing: DST changes of every test zone (± 3 h) over the 400 days, plus anywhere.
const dstInstants = TEST_ZONES.flatMap((z) =>
  findTransitions(liveOffsetFn(z), BASE_MS, BASE_MS + 400 * DAY_MS).transitions.map((t) => t.at),
);
const arbInstant = fc.oneof(
  fc.integer({ min: BASE_MS, max: BASE_MS + 400 * DAY_MS - 1 }),
  fc.tuple(fc.constantFrom(...dstInstants), fc.integer({ min: -3 * HOUR_MS, max: 3 * HOUR_MS })).map(([t, d]) => t + d),
  // whole seconds around local midnights and hour boundaries in the common zones
  fc.tuple(fc.integer({ min: 0, max: 399 }), fc.integer({ min: -14, max: 14 }), fc.integer({ min: -2, max: 2 })).map(
    ([d, h, s]) => BASE_MS + d * DAY_MS + h * HOUR_MS + s * 1000,
  ),
);

describe('compiled tables decide like decide()', () => {
  it('agrees on random sites, tags, locks and instants, DST days included', () => {
    fc.assert(
      fc.property(
        arbSiteSpec,
        fc.array(fc.tuple(fc.nat(40), fc.nat(9), arbInstant, fc.boolean(), fc.boolean(), fc.nat(60)), { minLength: 1, maxLength: 40 }),
        (spec, probes) => {
          const snap = buildSnapshot(spec);
          const compiler = new AccessCompiler(snap, BASE_MS);
          const tables = compiler.compileAll();
          const evaluators = new Map([...tables].map(([iq, t]) => [iq, new TableEvaluator(AccessTable.parse(t.serialize()))]));
          const locks = [...snap.locks.values()].filter((l) => l.iq_id !== null);
          if (locks.length === 0) return;
          const holidays = [...snap.calendars.values()].flatMap((c) => [...c.days.keys()]).filter((d) => d * DAY_MS >= BASE_MS && d * DAY_MS < BASE_MS + 399 * DAY_MS);
          for (const [tagIdx, lockIdx, instant, privacy, offlineDraw, pick] of probes) {
            const lock = locks[lockIdx % locks.length]!;
            // one tag in ten is unknown; the rest exist
            const tagNumber = tagNumberFor(tagIdx % 10 === 9 ? spec.tags.length + tagIdx : tagIdx % spec.tags.length);
            const offline = offlineDraw && pick % 4 === 0;
            // a third of the probes land on a calendar date (in UTC terms; the zone shifts it by hours)
            const t = holidays.length && pick % 3 === 0 ? holidays[pick % holidays.length]! * DAY_MS + (instant % DAY_MS) : instant;
            const cond = { privacy_mode: privacy && lock.privacy_mode, offline };
            const expected = decide(snap, tagNumber, lock.id, t, cond);
            const got = evaluators.get(lock.iq_id!)!.decide(tagNumber, lock.id, t, cond);
            const expectedGroupPk = expected.access_group_id ? snap.groups.get(expected.access_group_id)!.pk : null;
            const expectedSchedulePk = expected.time_schedule_id ? Number(expected.time_schedule_id.replace('sched-', '')) : null;
            expect({ granted: got.granted, reason: got.reason, group: got.groupPk, schedule: got.schedulePk }).toEqual({
              granted: expected.granted,
              reason: expected.reason,
              group: expectedGroupPk,
              schedule: expectedSchedulePk,
            });
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
