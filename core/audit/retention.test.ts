// Retention and privacy through the service: old entries and incidents go in batches, each batch leaves a
// retention anchor so the chain of what remains still verifies; anonymisation erases the personal fields
// of old entries only; the settings are checked; and retention running between ingests loses nothing
// newer than its cutoff.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../contract/errors.ts';
import { ensureSite } from '../host/first-run.ts';
import { systemActor, type Actor } from '../service/actor.ts';
import { GatehouseService } from '../service/service.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

const opened: SiteDatabase[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

function start(now = NOW) {
  const clock = { now };
  const db = openDatabase(':memory:');
  opened.push(db);
  ensureSite(db, { name: 'HQ', timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery', now });
  const svc = new GatehouseService(db, { now: () => clock.now });
  const sys: Actor = systemActor('test');
  const iq = svc.run(sys, 'iqs.create', { mac: '00-14-22-01-23-45', customer_reference: 'IQ' });
  const iqNy = svc.run(sys, 'iqs.create', { mac: '00-14-22-01-23-46', customer_reference: 'IQ NY', time_zone: 'America/New_York' });
  const front = svc.run(sys, 'locks.create', { customer_reference: 'Front door', iq_id: iq.id });
  const ny = svc.run(sys, 'locks.create', { customer_reference: 'NY door', iq_id: iqNy.id });
  const alice = svc.run(sys, 'users.create', { first_name: 'Alice', last_name: 'Adams' });
  const bob = svc.run(sys, 'users.create', { first_name: 'Bob', last_name: 'Brown' });
  const aliceTag = svc.run(sys, 'tags.create', { tag_number: '0000001001', user_id: alice.id });
  const bobTag = svc.run(sys, 'tags.create', { tag_number: '0000001002', user_id: bob.id });
  const ev = (id: string, ms: number, extra: Record<string, unknown> = {}) => ({
    event_id: id,
    time: iso(ms),
    event_category: 'lock_opened',
    access_by: 'tag',
    lock_id: front.id,
    tag_number: aliceTag.tag_number,
    ...extra,
  });
  const alarm = (id: string, ms: number) => ({ event_id: id, time: iso(ms), incident_type: 'door_left_open', lock_id: front.id });
  const ingest = (entries: unknown[], incidents: unknown[] = [], source = 'iq:1') => svc.run(sys, 'entries.ingest', { source, entries, incidents });
  const retain = (max_rows = 50_000) => svc.run(sys, 'audit.retention.run', { max_rows });
  const settings = (patch: { retention_days?: number | null; anonymize_after_days?: number | null }) => svc.run(sys, 'audit.settings.update', patch);
  const verify = () => svc.run(sys, 'audit.verify', {});
  const q = <T>(sql: string, ...p: unknown[]) => db.read.prepare(sql).all(...p) as T[];
  const one = (sql: string, ...p: unknown[]) => db.read.prepare(sql).pluck().get(...p) as number;
  return { db, svc, sys, clock, iq, iqNy, front, ny, alice, bob, aliceTag, bobTag, ev, alarm, ingest, retain, settings, verify, q, one };
}
type Site = ReturnType<typeof start>;

function failure(fn: () => unknown): GatehouseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatehouseError) return e;
    throw e;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** The derived tables agree with the entries that are left. */
function expectDerivedConsistent(site: Site) {
  expect(site.one('SELECT coalesce(sum(n), 0) FROM entry_counts')).toBe(site.one('SELECT count(*) FROM entries'));
  const rollup = site.q('SELECT local_hour, lock_ref, event_category, event_detail, n FROM entry_counts ORDER BY 1, 2, 3, 4');
  const brute = site.q(`SELECT (utc_ms + utc_offset_min * 60000) / 3600000 AS local_hour, coalesce(lock_ref, 0) AS lock_ref, event_category, coalesce(event_detail, '') AS event_detail, count(*) AS n
    FROM entries GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`);
  expect(rollup).toEqual(brute);
  // Counts by one lock, IQ, person or tag (served from running totals) equal a count of the rows.
  const { svc, sys } = site;
  for (const [f, sql, id] of [
    ['lock_id', 'lock_ref', site.front.id],
    ['lock_id', 'lock_ref', site.ny.id],
    ['iq_id', 'iq_ref', site.iq.id],
    ['user_id', 'user_ref', site.alice.id],
    ['user_id', 'user_ref', site.bob.id],
    ['tag_id', 'tag_ref', site.aliceTag.id],
  ] as const) {
    const want = site.one(`SELECT count(*) FROM entries e JOIN audit_refs r ON r.ref = e.${sql} WHERE r.id = ?`, id);
    expect(svc.run(sys, 'entries.list', { [f]: id, limit: 1, with_count: true }).count, `${f} ${id}`).toBe(want);
  }
}

describe('retention', () => {
  it('deletes only entries and incidents older than N days, in batches of max_rows, with an anchor per batch', () => {
    const site = start();
    // One entry every 12 hours for 90 days, an alarm every 5 days.
    const entries = Array.from({ length: 180 }, (_, i) => site.ev(`e${i}`, NOW - 90 * DAY + i * 12 * HOUR, { lock_id: i % 3 ? site.front.id : site.ny.id }));
    const alarms = Array.from({ length: 18 }, (_, i) => site.alarm(`a${i}`, NOW - 90 * DAY + i * 5 * DAY));
    for (let i = 0; i < entries.length; i += 40) site.ingest(entries.slice(i, i + 40), i === 0 ? alarms : []);
    site.settings({ retention_days: 30 });
    const cutoff = NOW - 30 * DAY;
    const oldEntries = entries.filter((e) => Date.parse(e.time) < cutoff).length;
    const oldAlarms = alarms.filter((a) => Date.parse(a.time) < cutoff).length;
    expect(oldEntries).toBe(120);

    const runs = [];
    for (let guard = 0; guard < 100; guard++) {
      const r = site.retain(7);
      runs.push(r);
      expect(r.deleted_entries).toBeLessThanOrEqual(7);
      expect(r.deleted_incidents).toBeLessThanOrEqual(7);
      // Each batch leaves a trail that verifies.
      expect(site.verify().ok).toBe(true);
      if (r.complete) break;
    }
    expect(runs.at(-1)!.complete).toBe(true);
    expect(runs.slice(0, -1).every((r) => !r.complete)).toBe(true);
    expect(runs.reduce((n, r) => n + r.deleted_entries, 0)).toBe(oldEntries);
    expect(runs.reduce((n, r) => n + r.deleted_incidents, 0)).toBe(oldAlarms);
    expect(site.one('SELECT count(*) FROM entries')).toBe(60);
    expect(site.one('SELECT min(utc_ms) FROM entries')).toBeGreaterThanOrEqual(cutoff);
    expect(site.one('SELECT count(*) FROM incidents WHERE utc_ms < ?', cutoff)).toBe(0);
    expect(site.one('SELECT count(*) FROM incidents')).toBe(alarms.length - oldAlarms);

    // One anchor per batch that deleted something, chained, each starting where the last deletion ended.
    const anchors = site.q<{ id: number; chain: string; first_seq: number; deleted_rows: number; reason: string }>('SELECT id, chain, first_seq, deleted_rows, reason FROM audit_anchors ORDER BY id');
    expect(anchors.filter((a) => a.chain === 'entries').map((a) => a.deleted_rows)).toEqual(runs.map((r) => r.deleted_entries).filter(Boolean));
    expect(anchors.filter((a) => a.chain === 'incidents').map((a) => a.deleted_rows)).toEqual(runs.map((r) => r.deleted_incidents).filter(Boolean));
    expect(anchors.filter((a) => a.chain === 'entries').at(-1)!.first_seq).toBe(oldEntries + 1);
    expect(anchors.every((a) => /retention: (entries|incidents) older than 30 days/.test(a.reason))).toBe(true);
    const v = site.verify();
    expect(v.chains.find((c) => c.chain === 'entries')).toEqual({ chain: 'entries', rows: 60, first_break: null, anchored_at_seq: oldEntries + 1 });
    expect(v.chains.find((c) => c.chain === 'anchors')!.rows).toBe(anchors.length);

    // Each run that deleted something is in the operator log.
    const log = site.svc.run(site.sys, 'operator_log.list', { top: 1000 }).items.filter((l) => l.command === 'audit.retention.run');
    expect(log).toHaveLength(runs.filter((r) => r.deleted_entries || r.deleted_incidents).length);

    // Nothing more to do: no anchor, no log.
    expect(site.retain()).toEqual({ deleted_entries: 0, deleted_incidents: 0, anonymized_entries: 0, complete: true });
    expect(site.one('SELECT count(*) FROM audit_anchors')).toBe(anchors.length);

    // Ingest carries on after the anchors, and the trail still verifies.
    const r = site.ingest([site.ev('new1', NOW), site.ev('new2', NOW + 1000)]);
    expect(r.stored_entry_seqs).toEqual([181, 182]);
    expect(site.verify().ok).toBe(true);
    expectDerivedConsistent(site);
  });

  it('deleting everything leaves a trail that verifies and carries on', () => {
    const site = start();
    site.ingest([site.ev('a', NOW - 40 * DAY), site.ev('b', NOW - 39 * DAY)], [site.alarm('x', NOW - 40 * DAY)]);
    site.settings({ retention_days: 30 });
    expect(site.retain()).toMatchObject({ deleted_entries: 2, deleted_incidents: 1, complete: true });
    expect(site.one('SELECT count(*) FROM entries')).toBe(0);
    expect(site.verify()).toMatchObject({ ok: true });
    expect(site.ingest([site.ev('c', NOW)], [site.alarm('y', NOW)]).stored_entry_seqs).toEqual([3]);
    expect(site.verify().ok).toBe(true);
    expectDerivedConsistent(site);
  });

  it('a late old event in the middle of the chain is kept until the rows before it go', () => {
    const site = start();
    site.ingest([site.ev('old1', NOW - 50 * DAY), site.ev('old2', NOW - 45 * DAY)]);
    site.ingest([site.ev('recent', NOW - 20 * DAY)]);
    // Delivered late: 60 days old, but after 'recent' in the chain.
    site.ingest([site.ev('late', NOW - 60 * DAY)]);
    site.ingest([site.ev('now', NOW)]);
    site.settings({ retention_days: 30 });
    expect(site.retain()).toMatchObject({ deleted_entries: 2, complete: true });
    const left = () => site.q<{ source_event_id: string }>('SELECT source_event_id FROM entries ORDER BY seq').map((r) => r.source_event_id);
    expect(left()).toEqual(['recent', 'late', 'now']);
    expect(site.verify().ok).toBe(true);
    expectDerivedConsistent(site);
    // Once 'recent' is past the cutoff too, both go.
    site.clock.now = NOW + 11 * DAY;
    expect(site.retain()).toMatchObject({ deleted_entries: 2, complete: true });
    expect(left()).toEqual(['now']);
    expect(site.verify().ok).toBe(true);
    expectDerivedConsistent(site);
  });

  it('refuses retention periods below 30 days and other bad settings, and writes nothing', () => {
    const site = start();
    const before = site.db.read.serialize();
    for (const [patch, path] of [
      [{ retention_days: 29 }, 'retention_days'],
      [{ retention_days: 0 }, 'retention_days'],
      [{ retention_days: -30 }, 'retention_days'],
      [{ retention_days: 30.5 }, 'retention_days'],
      [{ retention_days: 36_501 }, 'retention_days'],
      [{ retention_days: '90' }, 'retention_days'],
      [{ retention_days: 1e308 }, 'retention_days'],
      [{ anonymize_after_days: 0 }, 'anonymize_after_days'],
      [{ anonymize_after_days: true }, 'anonymize_after_days'],
      [{ keep_forever: true }, '(input)'],
    ] as const) {
      const e = failure(() => site.svc.call(site.sys, 'audit.settings.update', patch));
      expect(e.code, JSON.stringify(patch)).toBe('validation');
      expect(e.issues?.[0]?.path).toBe(path);
    }
    expect(site.db.read.serialize().equals(before)).toBe(true);
    expect(site.svc.run(site.sys, 'audit.settings.get', {})).toEqual({ retention_days: null, anonymize_after_days: null });
    // The smallest allowed period, and switching off again; each change is logged.
    expect(site.settings({ retention_days: 30, anonymize_after_days: 1 })).toEqual({ retention_days: 30, anonymize_after_days: 1 });
    expect(site.settings({ retention_days: null })).toEqual({ retention_days: null, anonymize_after_days: 1 });
    const log = site.svc.run(site.sys, 'operator_log.list', { top: 100 }).items.filter((l) => l.command === 'audit.settings.update');
    expect(log.map((l) => l.after)).toEqual([
      { retention_days: null, anonymize_after_days: 1 },
      { retention_days: 30, anonymize_after_days: 1 },
    ]);
  });
});

describe('anonymisation', () => {
  function peopleData(site: Site) {
    const entries = [];
    for (let d = 0; d < 40; d++) {
      entries.push(site.ev(`a${d}`, NOW - d * DAY - HOUR), site.ev(`b${d}`, NOW - d * DAY - 2 * HOUR, { tag_number: site.bobTag.tag_number, lock_id: site.ny.id }));
      entries.push(site.ev(`m${d}`, NOW - d * DAY - 3 * HOUR, { tag_number: null, access_by: 'mobile_key', user_id: site.bob.id }));
    }
    site.ingest(entries);
  }

  it('erases person, name, tag and salt of old entries only, and the trail still verifies', () => {
    const site = start();
    peopleData(site);
    const all = site.svc.run(site.sys, 'entries.list', { limit: 1000 }).items;
    site.settings({ anonymize_after_days: 14 });
    let total = 0;
    for (let guard = 0; guard < 100; guard++) {
      const r = site.retain(10);
      total += r.anonymized_entries;
      expect(r.anonymized_entries).toBeLessThanOrEqual(10);
      expect(site.verify().ok).toBe(true);
      if (r.complete) break;
    }
    const cutoff = NOW - 14 * DAY;
    expect(total).toBe(all.filter((e) => Date.parse(e.utc_date_time) < cutoff).length);
    const after = new Map(site.svc.run(site.sys, 'entries.list', { limit: 1000 }).items.map((e) => [e.id, e]));
    for (const e of all) {
      const now = after.get(e.id)!;
      if (Date.parse(e.utc_date_time) < cutoff) {
        expect(now).toEqual({ ...e, user_id: null, platform_user_id: null, user_name: null, tag_id: null, tag_number: null });
      } else expect(now).toEqual(e);
    }
    expect(site.one('SELECT count(*) FROM entries WHERE utc_ms < ? AND (personal_salt IS NOT NULL OR user_ref IS NOT NULL OR user_name IS NOT NULL OR tag_ref IS NOT NULL OR tag_number IS NOT NULL)', cutoff)).toBe(0);
    expect(site.one('SELECT count(*) FROM entries WHERE utc_ms >= ? AND personal_salt IS NULL', cutoff)).toBe(0);
    // Names no longer find the old rows.
    expect(site.svc.run(site.sys, 'entries.list', { user_id: site.alice.id, limit: 1000 }).items.every((e) => Date.parse(e.utc_date_time) >= cutoff)).toBe(true);
    expectDerivedConsistent(site);
    // The person’s name appears nowhere in the old rows of the file.
    const raw = site.q<Record<string, unknown>>('SELECT * FROM entries WHERE utc_ms < ?', cutoff);
    expect(JSON.stringify(raw)).not.toMatch(/Alice|Bob|0000001001|0000001002/);
  });

  it('an old event ingested after the setting is on is stored already anonymised', () => {
    const site = start();
    site.settings({ anonymize_after_days: 14 });
    site.ingest([site.ev('old', NOW - 20 * DAY), site.ev('new', NOW - 2 * DAY), site.ev('old-mobile', NOW - 15 * DAY, { tag_number: null, access_by: 'mobile_key', user_id: site.bob.id })]);
    const byId = new Map(site.svc.run(site.sys, 'entries.list', {}).items.map((e) => [e.source_event_id, e]));
    expect(byId.get('old')).toMatchObject({ user_id: null, user_name: null, tag_id: null, tag_number: null, lock_id: site.front.id });
    expect(byId.get('old-mobile')).toMatchObject({ user_id: null, user_name: null, access_by: 'mobile_key' });
    expect(byId.get('new')).toMatchObject({ user_id: site.alice.id, user_name: 'Alice Adams', tag_number: '0000001001' });
    expect(site.one(`SELECT count(*) FROM entries WHERE personal_salt IS NULL`)).toBe(2);
    expect(site.verify().ok).toBe(true);
    expectDerivedConsistent(site);
    // The anonymisation run finds nothing to add.
    expect(site.retain().anonymized_entries).toBe(0);
    expect(site.verify().ok).toBe(true);
  });

  it('changing the privacy period (or switching it off and on) still erases every entry past it', () => {
    const site = start();
    peopleData(site);
    site.settings({ anonymize_after_days: 10 });
    while (!site.retain(25).complete);
    const personal = (before: number) => site.one('SELECT count(*) FROM entries WHERE utc_ms < ? AND personal_salt IS NOT NULL', before);
    expect(personal(NOW - 10 * DAY)).toBe(0);

    // Switched off: an old event delivered now keeps its personal fields ...
    site.settings({ anonymize_after_days: null });
    site.ingest([site.ev('late-1', NOW - 25 * DAY)]);
    // ... and a longer period: an event newer than it keeps them too.
    site.settings({ anonymize_after_days: 30 });
    site.ingest([site.ev('late-2', NOW - 20 * DAY)]);
    expect(personal(NOW - 10 * DAY)).toBe(2);
    // Both are inside the 30-day period yet: they keep their names for now.
    while (!site.retain(25).complete);
    expect(personal(NOW - 10 * DAY)).toBe(2);

    // Two weeks later both are past 30 days (and behind where the last run stopped), and both must go.
    site.clock.now = NOW + 15 * DAY;
    while (!site.retain(25).complete);
    expect(personal(site.clock.now - 30 * DAY)).toBe(0);
    expect(site.svc.run(site.sys, 'entries.list', { limit: 1000 }).items.filter((e) => e.source_event_id.startsWith('late')).map((e) => e.user_name)).toEqual([null, null]);
    expect(site.verify().ok).toBe(true);
    expectDerivedConsistent(site);
  });
});

describe('retention while ingesting', () => {
  it('interleaved ingest and retention lose nothing newer than the cutoff (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            // Events of the last 60 days, some delivered late, some re-sent.
            ages: fc.array(fc.integer({ min: 0, max: 60 * DAY }), { maxLength: 30 }),
            resend: fc.array(fc.nat(), { maxLength: 10 }),
            advance: fc.integer({ min: 0, max: 3 * DAY }),
            maxRows: fc.integer({ min: 1, max: 40 }),
            privacy: fc.boolean(),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        (rounds) => {
          const site = start();
          site.settings({ retention_days: 30, anonymize_after_days: 20 });
          const sent: Array<{ id: string; ms: number }> = [];
          let n = 0;
          for (const round of rounds) {
            site.clock.now += round.advance;
            const cutoff = site.clock.now - 30 * DAY;
            const fresh = round.ages.map((age) => ({ id: `e${n++}`, ms: site.clock.now - age }));
            // Re-sent events are ones still inside the retention period (a device re-sends what it has not seen acknowledged).
            const recent = sent.filter((s) => s.ms >= cutoff);
            const again = recent.length ? round.resend.map((k) => recent[k % recent.length]!) : [];
            const batch = [...fresh, ...again];
            const tag = (i: number) => (i % 3 === 0 ? site.bobTag.tag_number : site.aliceTag.tag_number);
            const r = site.ingest(batch.map((e, i) => site.ev(e.id, e.ms, { tag_number: tag(i), lock_id: i % 2 ? site.ny.id : site.front.id })));
            expect(r.entries.stored).toBe(fresh.length);
            sent.push(...fresh);
            if (round.privacy) site.settings({ anonymize_after_days: round.maxRows % 2 ? 20 : 25 });
            site.retain(round.maxRows);
            // Everything newer than this run's cutoff is there, exactly once.
            const have = new Map(site.q<{ source_event_id: string; n: number }>('SELECT source_event_id, count(*) AS n FROM entries GROUP BY 1').map((r) => [r.source_event_id, r.n]));
            for (const s of sent) if (s.ms >= cutoff) expect(have.get(s.id), `${s.id} at ${iso(s.ms)}, cutoff ${iso(cutoff)}`).toBe(1);
            expect(site.one('SELECT count(*) FROM entries')).toBe(have.size);
          }
          while (!site.retain(1000).complete);
          const cutoff = site.clock.now - 30 * DAY;
          expect(site.one('SELECT count(*) FROM entries WHERE utc_ms >= ?', cutoff)).toBe(sent.filter((s) => s.ms >= cutoff).length);
          expect(site.verify().ok).toBe(true);
          expectDerivedConsistent(site);
          site.db.close();
        },
      ),
      { numRuns: 30 },
    );
  });
});
