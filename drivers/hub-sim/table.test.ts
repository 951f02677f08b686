import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Writer } from './bytes.ts';
import { diffBetween, record, siteRecords, siteTable, type SiteFixture } from './fixtures.ts';
import { applyDiff, contentHash, decodeDiff, decodeTable, encodeTable, hashBucket, serializeTable, type HubTable } from './table.ts';

const site: SiteFixture = {
  registered: [2000],
  locks: [{ pk: 1, id: 'front', offline: [1003] }, { pk: 2, id: 'office' }],
  groups: [{ pk: 1, locks: [1, 2], schedules: [{ pk: 11, mask: 0x1f, start: '07:00:00', end: '18:59:59' }] }],
  users: [{ pk: 1, groups: [1] }],
  tags: [
    { number: 1001, userPk: 1, uid: Uint8Array.from([4, 0xa1, 0xb2, 0xc3]) },
    { number: 1003, userPk: 1 },
  ],
};

const decoded = (bytes: Uint8Array): HubTable => {
  const r = decodeTable(bytes);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.table;
};

/** A serialised table with a correct hash over whatever records are given, in the order given. */
function rawTable(records: Uint8Array[]): Uint8Array {
  const w = new Writer().raw(new TextEncoder().encode('GHAT')).raw(Buffer.from(contentHash(records), 'hex')).uint(records.length);
  for (const r of records) w.bytes(r);
  return w.finish();
}

describe('decoding a table', () => {
  it('reads every record kind and verifies the content hash', () => {
    const bytes = siteTable(site);
    const t = decoded(bytes);
    expect(t.header).toMatchObject({ iqId: 'iq-1', zone: 'Europe/Amsterdam', format: 1 });
    expect(t.records.size).toBe(1 + 64 + 2 + 1 + 1 + 2);
    expect(t.locksById.get('front')!.offlineTags.has(1003)).toBe(true);
    expect(t.groups.get(1)!.schedules[0]).toMatchObject({ pk: 11, mask: 0x1f, startSec: 7 * 3600, endSec: 19 * 3600 - 1 });
    expect(t.registry.has(2000)).toBe(true);
    expect(t.tagsByUid.get('04A1B2C3')).toBe(1001);
    expect(t.hash).toBe(contentHash(siteRecords(site)));
    expect(serializeTable(t)).toEqual(bytes);
  });

  it('computes the hash as the page defines it: FNV-1a buckets of length-prefixed records, then GHAT and the 64 digests', () => {
    const recs = siteRecords(site);
    const records = decoded(encodeTable(recs)).records;
    const buckets: Array<Array<[string, Uint8Array]>> = Array.from({ length: 64 }, () => []);
    for (const [k, r] of records) buckets[hashBucket(k)]!.push([k, r]);
    const root = createHash('sha256').update('GHAT');
    for (const b of buckets) {
      const h = createHash('sha256');
      for (const [, r] of b.sort(([x], [y]) => (x < y ? -1 : 1))) h.update(new Writer().uint(r.length).finish()).update(r);
      root.update(h.digest());
    }
    expect(decoded(encodeTable(recs)).hash).toBe(root.digest('hex'));
    // FNV-1a 32-bit reference values ("a" → 0xe40c292c, "foobar" → 0xbf9cf968).
    expect(hashBucket('a')).toBe(0xe40c292c % 64);
    expect(hashBucket('foobar')).toBe(0xbf9cf968 % 64);
  });

  it('refuses a table with any single byte changed, and never throws', () => {
    const bytes = siteTable(site);
    for (let i = 0; i < bytes.length; i++) {
      const bad = bytes.slice();
      bad[i] = bad[i]! ^ 0x01;
      const r = decodeTable(bad);
      expect(r.ok, `byte ${i}`).toBe(false);
    }
    const tampered = bytes.slice();
    tampered[bytes.length - 3] = tampered[bytes.length - 3]! ^ 0x40;
    expect(decodeTable(tampered)).toMatchObject({ ok: false, error: { code: 'hash_mismatch' } });
  });

  it('refuses every truncation with a typed error', () => {
    const bytes = siteTable(site);
    for (let n = 0; n < bytes.length; n++) {
      const r = decodeTable(bytes.subarray(0, n));
      expect(r.ok, `length ${n}`).toBe(false);
      if (!r.ok) expect(['bad_magic', 'truncated', 'hash_mismatch', 'malformed_varint']).toContain(r.error.code);
    }
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (junk, magic) => {
        const input = magic ? new Uint8Array([0x47, 0x48, 0x41, 0x54, ...junk]) : junk;
        const r = decodeTable(input);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(typeof r.error.message).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });

  it('names what is wrong', () => {
    const recs = siteRecords(site);
    const inKeyOrder = [...decoded(siteTable(site)).records];
    const header = inKeyOrder.find(([k]) => k === 'H')![1];
    const rest = inKeyOrder.filter(([k]) => k !== 'H').map(([, r]) => r);
    expect(decodeTable(new TextEncoder().encode('GHAX'))).toMatchObject({ ok: false, error: { code: 'bad_magic', offset: 0 } });
    expect(decodeTable(new Uint8Array([...siteTable(site), 0]))).toMatchObject({ ok: false, error: { code: 'trailing_bytes' } });
    expect(decodeTable(rawTable([...rest, header]))).toMatchObject({ ok: false, error: { code: 'unsorted_records', key: 'H' } });
    expect(decodeTable(rawTable(rest))).toMatchObject({ ok: false, error: { code: 'missing_header' } });
    const sorted = decoded(siteTable(site));
    const keys = [...sorted.records.keys()];
    const dup = keys.flatMap((k) => (k === 'L1' ? [sorted.records.get(k)!, sorted.records.get(k)!] : [sorted.records.get(k)!]));
    expect(decodeTable(rawTable(dup))).toMatchObject({ ok: false, error: { code: 'unsorted_records', key: 'L1' } });
    const format2 = record.header({ iqId: 'iq-1', zone: 'UTC', validFrom: 0, validUntil: 1, initialOffset: 0, transitions: [] }, 2);
    expect(decodeTable(encodeTable([format2, ...rest]))).toMatchObject({ ok: false, error: { code: 'unsupported_format', key: 'H' } });
    expect(decodeTable(encodeTable(recs.filter((r) => !(r[0] === 0x52 && r[1] === 7))))).toMatchObject({ ok: false, error: { code: 'missing_registry', key: 'R7' } });
    expect(decodeTable(encodeTable(recs.filter((r) => r[0] !== 0x55)))).toMatchObject({ ok: false, error: { code: 'inconsistent', key: 'T0000001001' } });
    const badRule = record.group({ pk: 9, locks: [1], schedules: [{ pk: 1, mask: 1, start: '07:00:00', end: '24:00:00' }] });
    expect(decodeTable(encodeTable([...recs, badRule]))).toMatchObject({ ok: false, error: { code: 'bad_record', key: 'G9' } });
    const unknownKind = new Writer().raw(new TextEncoder().encode('GHAT')).raw(new Uint8Array(32)).uint(1).bytes(new Uint8Array([0x5a, 1])).finish();
    expect(decodeTable(unknownKind)).toMatchObject({ ok: false, error: { code: 'unknown_record_kind', offset: 37 } });
  });
});

describe('diffs', () => {
  const before = siteTable(site);
  const changed: SiteFixture = { ...site, users: [{ pk: 1, flags: 1, groups: [1] }], tags: [site.tags![0]!, { number: 1004, userPk: 1 }] };
  const after = siteTable(changed);

  it('turns one version into the next', () => {
    const base = decoded(before);
    const diff = decodeDiff(diffBetween(before, after));
    expect(diff.ok).toBe(true);
    if (!diff.ok) return;
    expect(diff.diff.removed).toEqual(['T0000001003']);
    const r = applyDiff(base, diff.diff);
    expect(r.ok && r.table.hash).toBe(decoded(after).hash);
    expect(r.ok && serializeTable(r.table)).toEqual(after);
    // the base object is untouched
    expect(base.hash).toBe(decoded(before).hash);
    expect(base.tags.has(1003)).toBe(true);
  });

  it('refuses a diff for another version', () => {
    const other = decoded(siteTable({ ...site, registered: [2001] }));
    const diff = decodeDiff(diffBetween(before, after));
    expect(diff.ok && applyDiff(other, diff.diff)).toMatchObject({ ok: false, error: { code: 'wrong_base' } });
    expect(diff.ok && applyDiff(null, diff.diff)).toMatchObject({ ok: false, error: { code: 'no_active_table' } });
  });

  it('refuses a partial or altered diff: the result must have the to-hash', () => {
    const base = decoded(before);
    const partial = decodeDiff(diffBetween(before, after, (d) => d.upserted.pop()));
    expect(partial.ok && applyDiff(base, partial.diff)).toMatchObject({ ok: false, error: { code: 'target_mismatch' } });
    const noRemoval = decodeDiff(diffBetween(before, after, (d) => (d.removed = [])));
    expect(noRemoval.ok && applyDiff(base, noRemoval.diff)).toMatchObject({ ok: false, error: { code: 'target_mismatch' } });
  });

  it('refuses a damaged diff, and never throws', () => {
    const bytes = diffBetween(before, after);
    const base = decoded(before);
    let parsedButRefused = 0;
    for (let i = 0; i < bytes.length; i++) {
      const bad = bytes.slice();
      bad[i] = bad[i]! ^ 0x04;
      const parsed = decodeDiff(bad);
      if (!parsed.ok) continue;
      const r = applyDiff(base, parsed.diff);
      expect(r.ok, `byte ${i}`).toBe(false);
      parsedButRefused++;
    }
    expect(parsedButRefused).toBeGreaterThan(0);
    expect(decodeDiff(bytes.subarray(0, 50))).toMatchObject({ ok: false, error: { code: 'truncated' } });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
        expect(decodeDiff(new Uint8Array([0x47, 0x48, 0x41, 0x44, ...junk])).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});
