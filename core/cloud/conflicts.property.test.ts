// The conflict policy on random records: what a user would notice is an edit that vanished without a
// conflict, a conflict reported where nobody disagreed, or two sites/sides reaching different results.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonical, mergeRecord, normalized, sameFields, sameValue, type Fields, type Json, type Side } from './conflicts.ts';

const KEYS = ['first_name', 'email', 'blocked', 'user:1', 'user:2', 'time_schedule:1'];
const value: fc.Arbitrary<Json> = fc.oneof(fc.constant(null), fc.constantFrom('Ada', 'Ida', ''), fc.boolean(), fc.constantFrom(0, 1), fc.constant({ start_time: '08:00:00', monday: true }));
const fields: fc.Arbitrary<Fields> = fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: KEYS.length });
const side = (f: fc.Arbitrary<Fields | null>): fc.Arbitrary<Side> =>
  fc.record({ fields: f, at: fc.integer({ min: 0, max: 3 }), fieldAt: fc.option(fc.dictionary(fc.constantFrom(...KEYS), fc.integer({ min: 0, max: 3 })), { nil: undefined }) });
const at = (fields: Fields | null): Side => ({ fields, at: 0 });
const keysOf = (...fs: Array<Fields | null>) => [...new Set(fs.flatMap((f) => Object.keys(f ?? {})))];
const differs = (a: Fields, b: Fields, k: string) => !sameValue(a[k], b[k]);

describe('mergeRecord', () => {
  it('with no change on either side is the identity', () => {
    fc.assert(
      fc.property(fields, (base) => {
        const r = mergeRecord(base, at(base), at(base));
        expect(sameFields(r.merged, base)).toBe(true);
        expect(r.conflicts).toEqual([]);
        expect(r.deleteConflict).toBeNull();
      }),
    );
  });

  it('takes the one side that changed, whichever side it is, without a conflict', () => {
    fc.assert(
      fc.property(fields, side(fc.option(fields, { nil: null })), fc.boolean(), (base, changed, localChanged) => {
        const r = localChanged ? mergeRecord(base, changed, at(base)) : mergeRecord(base, at(base), changed);
        expect(sameFields(r.merged, changed.fields)).toBe(true);
        expect(r.conflicts).toEqual([]);
        expect(r.deleteConflict).toBeNull();
      }),
    );
  });

  it('reports a conflict exactly for the fields both sides changed to different values, and keeps one of the two', () => {
    fc.assert(
      fc.property(fields, side(fields), side(fields), (base, local, cloud) => {
        const r = mergeRecord(base, local, cloud);
        const l = local.fields!;
        const c = cloud.fields!;
        const expected = keysOf(base, l, c).filter((k) => differs(l, base, k) && differs(c, base, k) && differs(l, c, k));
        expect(r.conflicts.map((x) => x.field).sort()).toEqual(expected.sort());
        for (const x of r.conflicts) expect(canonical(r.merged![x.field] ?? null)).toBe(canonical(x.winner === 'local' ? x.local : x.cloud));
        for (const k of keysOf(base, l, c).filter((k) => !expected.includes(k))) {
          // Not a conflict: the side that changed it (or the value both agree on).
          expect(sameValue(r.merged![k], differs(l, base, k) ? l[k] : c[k])).toBe(true);
        }
      }),
    );
  });

  it('gives the same record and the same conflicts whichever side is called local', () => {
    fc.assert(
      fc.property(fc.option(fields, { nil: null }), side(fc.option(fields, { nil: null })), side(fc.option(fields, { nil: null })), (base, a, b) => {
        const ab = mergeRecord(base, a, b);
        const ba = mergeRecord(base, b, a);
        expect(sameFields(ab.merged, ba.merged)).toBe(true);
        const swap = { local: 'cloud', cloud: 'local' } as const;
        expect(ba.conflicts).toEqual(ab.conflicts.map((x) => ({ field: x.field, local: x.cloud, cloud: x.local, base: x.base, winner: swap[x.winner] })));
        expect(ba.deleteConflict?.edited ?? null).toEqual(ab.deleteConflict?.edited ?? null);
      }),
    );
  });

  it('never loses an edit to a delete silently: the delete stands and the edited record is reported', () => {
    fc.assert(
      fc.property(fields, side(fields), fc.boolean(), (base, edited, localDeleted) => {
        const r = localDeleted ? mergeRecord(base, at(null), edited) : mergeRecord(base, edited, at(null));
        expect(r.merged).toBeNull();
        if (sameFields(edited.fields, base)) expect(r.deleteConflict).toBeNull();
        else expect(r.deleteConflict).toEqual({ deletedBy: localDeleted ? 'local' : 'cloud', edited: normalized(edited.fields!), base: normalized(base) });
      }),
    );
  });

  it('changes nothing when the same cloud version is merged again', () => {
    fc.assert(
      fc.property(fc.option(fields, { nil: null }), side(fc.option(fields, { nil: null })), side(fc.option(fields, { nil: null })), (base, local, cloud) => {
        const first = mergeRecord(base, local, cloud);
        // After the first merge the cloud's version is the base, and the local record is the result.
        const again = mergeRecord(cloud.fields, { ...local, fields: first.merged }, cloud);
        expect(sameFields(again.merged, first.merged)).toBe(true);
        expect(again.conflicts).toEqual([]);
        expect(again.deleteConflict).toBeNull();
      }),
    );
  });

  it('brings a record from the side that has it when it was never in common', () => {
    fc.assert(
      fc.property(side(fields), fc.boolean(), (only, local) => {
        const r = local ? mergeRecord(null, only, at(null)) : mergeRecord(null, at(null), only);
        expect(sameFields(r.merged, only.fields)).toBe(true);
        expect(r.conflicts).toEqual([]);
      }),
    );
  });
});

describe('the tie-break', () => {
  it('picks the later writer, and on equal times a choice that does not depend on the side', () => {
    const base = { first_name: 'Ada' };
    expect(mergeRecord(base, { fields: { first_name: 'Ida' }, at: 2 }, { fields: { first_name: 'Eda' }, at: 1 }).merged).toEqual({ first_name: 'Ida' });
    expect(mergeRecord(base, { fields: { first_name: 'Ida' }, at: 1, fieldAt: { first_name: 0 } }, { fields: { first_name: 'Eda' }, at: 0, fieldAt: { first_name: 1 } }).merged).toEqual({ first_name: 'Eda' });
    expect(mergeRecord(base, { fields: { first_name: 'Ida' }, at: 1 }, { fields: { first_name: 'Eda' }, at: 1 }).merged).toEqual({ first_name: 'Ida' });
    expect(mergeRecord(base, { fields: { first_name: 'Eda' }, at: 1 }, { fields: { first_name: 'Ida' }, at: 1 }).merged).toEqual({ first_name: 'Ida' });
  });
});
