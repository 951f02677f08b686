// Ingest of device events into the audit trail, through the service as a driver calls it: idempotent by
// (source, event_id), device clocks that were wrong, who an event belongs to, local times in each lock's
// zone, bad input that writes nothing, and the derived tables (hourly counts, last seen) kept in step.
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../contract/errors.ts';
import type { EntryRow, IngestResult } from '../contract/results.ts';
import { ensureSite } from '../host/first-run.ts';
import { systemActor, type Actor } from '../service/actor.ts';
import { GatehouseService } from '../service/service.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';

/** Monday 2 March 2026, 13:00 in Amsterdam. */
const T0 = Date.parse('2026-03-02T12:00:00Z');

const opened: SiteDatabase[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

/**
 * A site in Amsterdam with an IQ there and one in New York, a door on each, a door on no IQ (site zone),
 * two people with a tag each and a spare tag.
 */
function start(now = T0, closeAfterEach = true) {
  const clock = { now };
  const db = openDatabase(':memory:');
  if (closeAfterEach) opened.push(db);
  ensureSite(db, { name: 'HQ', timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery', now });
  const svc = new GatehouseService(db, { now: () => clock.now });
  const sys: Actor = systemActor('test');
  const iqA = svc.run(sys, 'iqs.create', { mac: '00-14-22-01-23-45', customer_reference: 'IQ Amsterdam' });
  const iqNy = svc.run(sys, 'iqs.create', { mac: '00-14-22-01-23-46', customer_reference: 'IQ New York', time_zone: 'America/New_York' });
  const front = svc.run(sys, 'locks.create', { customer_reference: 'Front door', iq_id: iqA.id });
  const ny = svc.run(sys, 'locks.create', { customer_reference: 'NY door', iq_id: iqNy.id });
  const loose = svc.run(sys, 'locks.create', { customer_reference: 'Shed' });
  const alice = svc.run(sys, 'users.create', { first_name: 'Alice', last_name: 'Adams' });
  const bob = svc.run(sys, 'users.create', { first_name: 'Bob', last_name: 'Brown' });
  const aliceTag = svc.run(sys, 'tags.create', { tag_number: '0000001001', user_id: alice.id });
  const bobTag = svc.run(sys, 'tags.create', { tag_number: '0000001002', user_id: bob.id });
  const spareTag = svc.run(sys, 'tags.create', { tag_number: '0000001003' });
  const ingest = (source: string, entries: unknown[], incidents: unknown[] = []): IngestResult => svc.run(sys, 'entries.ingest', { source, entries, incidents });
  const all = (): EntryRow[] => svc.run(sys, 'entries.list', { limit: 1000 }).items;
  const verify = () => svc.run(sys, 'audit.verify', {});
  return { db, svc, sys, clock, iqA, iqNy, front, ny, loose, alice, bob, aliceTag, bobTag, spareTag, ingest, all, verify };
}
type Site = ReturnType<typeof start>;

const opening = (site: Site, id: string, time = '2026-03-02T09:00:00Z', extra: Record<string, unknown> = {}) => ({
  event_id: id,
  time,
  event_category: 'lock_opened',
  access_by: 'tag',
  lock_id: site.front.id,
  tag_number: site.aliceTag.tag_number,
  ...extra,
});

function failure(fn: () => unknown): GatehouseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatehouseError) return e;
    throw e;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Every table, every row, in a stable order (some tables are WITHOUT ROWID). */
function dump(db: SiteDatabase): Record<string, unknown[]> {
  const tables = db.read.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name`).pluck().all() as string[];
  return Object.fromEntries(tables.map((t) => [t, db.read.prepare(`SELECT * FROM "${t}" ORDER BY 1, 2`).all()]));
}

const count = (db: SiteDatabase, sql: string, ...params: unknown[]): number => db.read.prepare(sql).pluck().get(...params) as number;
const head = (db: SiteDatabase) => db.read.prepare(`SELECT last_seq, hex(last_hash) AS h FROM audit_chain_heads WHERE chain = 'entries'`).get() as { last_seq: number; h: string };

/** seq of the stored entries is 1..n without gaps: duplicates never took a seq. */
function expectDenseChain(db: SiteDatabase) {
  const seqs = db.read.prepare('SELECT seq FROM entries ORDER BY seq').pluck().all() as number[];
  expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  if (seqs.length) expect(head(db).last_seq).toBe(seqs.length);
}

describe('idempotent ingest', () => {
  it('delivering the same batch twice stores it once and leaves the chain head where it was', () => {
    const site = start();
    const batch = [opening(site, 'e1'), opening(site, 'e2', '2026-03-02T09:01:00Z'), opening(site, 'e3', '2026-03-02T09:02:00Z')];
    expect(site.ingest('iq:1', batch).entries).toEqual({ stored: 3, duplicates: 0 });
    const before = head(site.db);
    const again = site.ingest('iq:1', batch);
    expect(again.entries).toEqual({ stored: 0, duplicates: 3 });
    expect(again.stored_entry_seqs).toEqual([]);
    expect(head(site.db)).toEqual(before);
    expect(count(site.db, 'SELECT count(*) FROM entries')).toBe(3);
    expect(site.verify().ok).toBe(true);
  });

  it('overlapping batches store each event once, with seqs that run on without gaps', () => {
    const site = start();
    const ev = (i: number) => opening(site, `e${i}`, new Date(Date.parse('2026-03-02T08:00:00Z') + i * 60_000).toISOString());
    const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => ev(a + k));
    expect(site.ingest('iq:1', range(1, 5)).entries).toEqual({ stored: 5, duplicates: 0 });
    expect(site.ingest('iq:1', range(3, 8)).entries).toEqual({ stored: 3, duplicates: 3 });
    expect(site.ingest('iq:1', range(2, 4)).entries).toEqual({ stored: 0, duplicates: 3 });
    const r = site.ingest('iq:1', range(8, 10));
    expect(r.entries).toEqual({ stored: 2, duplicates: 1 });
    expect(r.stored_entry_seqs).toEqual([9, 10]);
    expect(site.all().map((e) => e.source_event_id)).toEqual(range(1, 10).map((e) => e.event_id).reverse());
    expectDenseChain(site.db);
    expect(site.verify().ok).toBe(true);
  });

  it('a duplicate inside one batch is stored once (the first delivery wins, even when it differs)', () => {
    const site = start();
    const r = site.ingest('iq:1', [
      opening(site, 'e1'),
      opening(site, 'e2', '2026-03-02T09:01:00Z'),
      opening(site, 'e1', '2026-03-02T09:05:00Z', { event_category: 'lock_rejected', event_detail: 'no_access' }),
      opening(site, 'e3', '2026-03-02T09:02:00Z'),
      opening(site, 'e2', '2026-03-02T09:01:00Z'),
    ]);
    expect(r.entries).toEqual({ stored: 3, duplicates: 2 });
    expect(r.stored_entry_seqs).toEqual([1, 2, 3]);
    const e1 = site.all().find((e) => e.source_event_id === 'e1')!;
    expect(e1.event_category).toBe('lock_opened');
    expect(e1.utc_date_time).toBe('2026-03-02T09:00:00.000Z');
    expectDenseChain(site.db);
    expect(site.verify().ok).toBe(true);
  });

  it('a redelivery with different content does not change what was stored', () => {
    const site = start();
    site.ingest('iq:1', [opening(site, 'e1')]);
    const before = dump(site.db);
    const r = site.ingest('iq:1', [opening(site, 'e1', '2026-03-02T10:00:00Z', { event_category: 'lock_rejected', tag_number: site.bobTag.tag_number })]);
    expect(r.entries).toEqual({ stored: 0, duplicates: 1 });
    // Only the operator log grows (the command is logged); the trail and its derived tables do not.
    const after = dump(site.db);
    for (const t of ['entries', 'entry_counts', 'audit_last_seen', 'audit_chain_heads']) expect(after[t], t).toEqual(before[t]);
  });

  it('the same event_id from two sources is two events', () => {
    const site = start();
    expect(site.ingest('iq:1', [opening(site, 'e1')]).entries.stored).toBe(1);
    expect(site.ingest('iq:2', [opening(site, 'e1')]).entries.stored).toBe(1);
    expect(site.ingest('iq:2', [opening(site, 'e1')]).entries.duplicates).toBe(1);
    expect(site.all().map((e) => e.source).sort()).toEqual(['iq:1', 'iq:2']);
    expect(site.verify().ok).toBe(true);
  });

  it('incidents are idempotent too, on their own chain', () => {
    const site = start();
    const alarms = [
      { event_id: 'a1', time: '2026-03-02T09:00:00Z', incident_type: 'door_left_open', lock_id: site.front.id },
      { event_id: 'a2', time: '2026-03-02T09:05:00Z', incident_type: 'iq_offline', iq_id: site.iqNy.id },
    ];
    expect(site.ingest('iq:1', [], alarms).incidents).toEqual({ stored: 2, duplicates: 0 });
    expect(site.ingest('iq:1', [], [...alarms, alarms[0]]).incidents).toEqual({ stored: 0, duplicates: 3 });
    expect(site.ingest('iq:2', [], alarms).incidents).toEqual({ stored: 2, duplicates: 0 });
    expect(count(site.db, 'SELECT count(*) FROM incidents')).toBe(4);
    expect(count(site.db, 'SELECT max(seq) FROM incidents')).toBe(4);
    const list = site.svc.run(site.sys, 'incidents.list', {});
    expect(list.items.find((i) => i.source_event_id === 'a2' && i.source === 'iq:1')).toMatchObject({ iq_id: site.iqNy.id, iq_customer_reference: 'IQ New York', lock_id: null });
    expect(site.verify().ok).toBe(true);
  });

  it('many redeliveries in random order never advance the chain (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 25 }), { minLength: 1, maxLength: 12 }), (batches) => {
        const site = start();
        const seen = new Set<number>();
        for (const b of batches) {
          const r = site.ingest('iq:1', b.map((i) => opening(site, `e${i}`, new Date(Date.parse('2026-03-01T00:00:00Z') + i * 60_000).toISOString())));
          const fresh = new Set(b.filter((i) => !seen.has(i)));
          expect(r.entries.stored).toBe(fresh.size);
          expect(r.entries.duplicates).toBe(b.length - fresh.size);
          for (const i of b) seen.add(i);
        }
        expect(count(site.db, 'SELECT count(*) FROM entries')).toBe(seen.size);
        expectDenseChain(site.db);
        expect(site.verify().ok).toBe(true);
        site.db.close();
      }),
      { numRuns: 25 },
    );
  });
});

describe('device clocks', () => {
  it('a device clock in the future is filed at receive time; the device time is kept', () => {
    const site = start();
    const r = site.ingest('iq:1', [opening(site, 'f1', '2026-03-03T12:00:00Z')]);
    expect(r.clock_corrected).toBe(1);
    const [e] = site.all();
    expect(e).toMatchObject({
      utc_date_time: '2026-03-02T12:00:00.000Z',
      received_date_time: '2026-03-02T12:00:00.000Z',
      device_date_time: '2026-03-03T12:00:00.000Z',
      local_date_time: '2026-03-02T13:00:00',
    });
  });

  it('a device clock that fell back to 1970 is filed at receive time; the device time is kept', () => {
    const site = start();
    const r = site.ingest('iq:1', [opening(site, 'z1', '1970-01-01T00:00:07Z', { lock_id: site.ny.id })]);
    expect(r.clock_corrected).toBe(1);
    expect(site.all()[0]).toMatchObject({
      utc_date_time: '2026-03-02T12:00:00.000Z',
      device_date_time: '1970-01-01T00:00:07.000Z',
      received_date_time: '2026-03-02T12:00:00.000Z',
      // The receive time, in New York.
      local_date_time: '2026-03-02T07:00:00',
    });
    expect(site.verify().ok).toBe(true);
  });

  it('a late but plausible event keeps its own time, and so does a clock a little ahead', () => {
    const site = start();
    const r = site.ingest('iq:1', [opening(site, 'late', '2026-02-20T07:30:00Z'), opening(site, 'ahead', '2026-03-02T12:04:00Z'), opening(site, 'old', '2020-01-01T00:00:00Z')]);
    expect(r.clock_corrected).toBe(0);
    const byId = new Map(site.all().map((e) => [e.source_event_id, e]));
    expect(byId.get('late')).toMatchObject({ utc_date_time: '2026-02-20T07:30:00.000Z', device_date_time: '2026-02-20T07:30:00.000Z', received_date_time: '2026-03-02T12:00:00.000Z', local_date_time: '2026-02-20T08:30:00' });
    expect(byId.get('ahead')!.utc_date_time).toBe('2026-03-02T12:04:00.000Z');
    expect(byId.get('old')!.utc_date_time).toBe('2020-01-01T00:00:00.000Z');
  });

  it('incidents with a wrong clock are filed at receive time too', () => {
    const site = start();
    const r = site.ingest('iq:1', [], [{ event_id: 'a1', time: '2030-01-01T00:00:00Z', incident_type: 'tamper', lock_id: site.front.id }]);
    expect(r.clock_corrected).toBe(1);
    expect(site.svc.run(site.sys, 'incidents.list', {}).items[0]).toMatchObject({ utc_date_time: '2026-03-02T12:00:00.000Z', device_date_time: '2030-01-01T00:00:00.000Z' });
  });
});

describe('who and where', () => {
  it('a tag is attributed to whoever holds it at ingest time, and history keeps that', () => {
    const site = start();
    const { svc, sys } = site;
    site.ingest('iq:1', [opening(site, 'e1')]);
    svc.run(sys, 'tags.update', { id: site.aliceTag.id, user_id: site.bob.id });
    site.ingest('iq:1', [opening(site, 'e2', '2026-03-02T09:10:00Z')]);
    const byId = new Map(site.all().map((e) => [e.source_event_id, e]));
    expect(byId.get('e1')).toMatchObject({ user_id: site.alice.id, user_name: 'Alice Adams', tag_id: site.aliceTag.id, tag_number: '0000001001' });
    expect(byId.get('e2')).toMatchObject({ user_id: site.bob.id, user_name: 'Bob Brown', tag_id: site.aliceTag.id, tag_number: '0000001001' });
  });

  it('renaming or deleting the person, tag or lock later does not change history', () => {
    const site = start();
    const { svc, sys } = site;
    site.ingest('iq:1', [opening(site, 'e1')]);
    const before = site.all()[0]!;
    svc.run(sys, 'users.update', { id: site.alice.id, first_name: 'Alicia', last_name: 'Smith' });
    svc.run(sys, 'locks.update', { id: site.front.id, customer_reference: 'Main entrance' });
    expect(site.all()[0]).toEqual(before);
    svc.run(sys, 'users.delete', { id: site.alice.id });
    svc.run(sys, 'tags.delete', { id: site.aliceTag.id });
    svc.run(sys, 'locks.delete', { id: site.front.id });
    expect(site.all()[0]).toEqual(before);
    expect(before).toMatchObject({ user_name: 'Alice Adams', lock_customer_reference: 'Front door', user_id: site.alice.id, tag_id: site.aliceTag.id });
    // The trail still finds them by their old ids.
    for (const f of [{ user_id: site.alice.id }, { tag_id: site.aliceTag.id }, { lock_id: site.front.id }]) {
      expect(svc.run(sys, 'entries.list', f).items.map((e) => e.id)).toEqual([before.id]);
    }
    // A late event of a lock that is gone but that the trail knows is still accepted.
    expect(site.ingest('iq:1', [opening(site, 'e0', '2026-03-02T08:00:00Z', { tag_number: null, access_by: null })]).entries.stored).toBe(1);
    expect(site.verify().ok).toBe(true);
  });

  it('an unknown tag number is stored as it was read, with nobody attached', () => {
    const site = start();
    site.ingest('iq:1', [opening(site, 'u1', undefined, { event_category: 'lock_rejected', event_detail: 'unknown_tag', tag_number: '9999999999' }), opening(site, 's1', '2026-03-02T09:01:00Z', { tag_number: site.spareTag.tag_number })]);
    const byId = new Map(site.all().map((e) => [e.source_event_id, e]));
    expect(byId.get('u1')).toMatchObject({ tag_number: '9999999999', tag_id: null, user_id: null, user_name: null, event_detail: 'unknown_tag' });
    expect(byId.get('s1')).toMatchObject({ tag_number: '0000001003', tag_id: site.spareTag.id, user_id: null, user_name: null });
  });

  it('an event naming a person (e.g. a mobile key) is attributed to them without a tag', () => {
    const site = start();
    site.ingest('iq:1', [opening(site, 'm1', undefined, { access_by: 'mobile_key', tag_number: null, user_id: site.bob.id })]);
    expect(site.all()[0]).toMatchObject({ user_id: site.bob.id, user_name: 'Bob Brown', tag_id: null, tag_number: null, access_by: 'mobile_key' });
  });

  it('local_date_time is in the zone of the lock’s IQ, the site’s for a lock on no IQ', () => {
    const site = start();
    site.ingest('iq:1', [
      opening(site, 'a', '2026-03-02T09:00:00Z', { lock_id: site.front.id }),
      opening(site, 'n', '2026-03-02T09:00:00Z', { lock_id: site.ny.id }),
      opening(site, 's', '2026-03-02T09:00:00Z', { lock_id: site.loose.id }),
      opening(site, 'q', '2026-03-02T09:00:00Z', { lock_id: null, iq_id: site.iqNy.id }),
    ]);
    const local = Object.fromEntries(site.all().map((e) => [e.source_event_id, [e.local_date_time, e.utc_date_time, e.iq_id]]));
    expect(local).toEqual({
      a: ['2026-03-02T10:00:00', '2026-03-02T09:00:00.000Z', site.iqA.id],
      n: ['2026-03-02T04:00:00', '2026-03-02T09:00:00.000Z', site.iqNy.id],
      s: ['2026-03-02T10:00:00', '2026-03-02T09:00:00.000Z', null],
      q: ['2026-03-02T04:00:00', '2026-03-02T09:00:00.000Z', site.iqNy.id],
    });
  });

  it('local times on DST days, in both zones', () => {
    const site = start(Date.parse('2026-12-01T00:00:00Z'));
    const cases: Array<[string, 'front' | 'ny', string]> = [
      // Amsterdam: 02:00 → 03:00 on 29 March, 03:00 → 02:00 on 25 October.
      ['2026-03-29T00:59:59Z', 'front', '2026-03-29T01:59:59'],
      ['2026-03-29T01:00:00Z', 'front', '2026-03-29T03:00:00'],
      ['2026-10-25T00:30:00Z', 'front', '2026-10-25T02:30:00'],
      ['2026-10-25T01:30:00Z', 'front', '2026-10-25T02:30:00'],
      // New York: 02:00 → 03:00 on 8 March, 02:00 → 01:00 on 1 November.
      ['2026-03-08T06:59:59Z', 'ny', '2026-03-08T01:59:59'],
      ['2026-03-08T07:00:00Z', 'ny', '2026-03-08T03:00:00'],
      ['2026-11-01T05:30:00Z', 'ny', '2026-11-01T01:30:00'],
      ['2026-11-01T06:30:00Z', 'ny', '2026-11-01T01:30:00'],
    ];
    site.ingest(
      'iq:1',
      cases.map(([t, lock], i) => opening(site, `d${i}`, t, { lock_id: site[lock].id })),
    );
    const byId = new Map(site.all().map((e) => [e.source_event_id, e.local_date_time]));
    cases.forEach(([, , local], i) => expect(byId.get(`d${i}`), cases[i]![0]).toBe(local));
    // Both fall-back 02:30s are in the same local hour bucket, twice.
    const hours = site.svc.run(site.sys, 'entries.counts', { group_by: 'hour', lock_id: site.front.id });
    expect(hours.find((h) => h.key === '2026-10-25T02')?.count).toBe(2);
  });

  it('local times match the tz database for random instants and zones, in any order (property)', () => {
    const site = start(Date.parse('2026-12-31T00:00:00Z'));
    const locks = { 'Europe/Amsterdam': site.front.id, 'America/New_York': site.ny.id };
    let n = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2026-12-30T00:00:00Z') }), fc.constantFrom(...(Object.keys(locks) as Array<keyof typeof locks>))), {
          minLength: 1,
          maxLength: 20,
        }),
        (events) => {
          const batch = events.map(([ms, zone]) => ({ ...opening(site, `p${n++}`, new Date(ms).toISOString(), { lock_id: locks[zone] }), zone, ms }));
          const r = site.ingest('prop', batch.map(({ zone: _z, ms: _m, ...e }) => e));
          batch.forEach((e, i) => {
            const row = site.svc.run(site.sys, 'entries.get', { id: String(r.stored_entry_seqs[i]) });
            expect(row.local_date_time, `${new Date(e.ms).toISOString()} in ${e.zone}`).toBe(DateTime.fromMillis(e.ms, { zone: e.zone }).toFormat("yyyy-LL-dd'T'HH:mm:ss"));
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('bad input writes nothing', () => {
  const huge = 'x'.repeat(1_000_000);
  type Case = [name: string, build: (site: Site) => Record<string, unknown>, path: string];
  const entryCase = (name: string, bad: (site: Site, good: Record<string, unknown>) => unknown, path: string): Case => [
    name,
    (site) => ({
      source: 'iq:1',
      entries: [0, 1, 2, 3, 4].map((i) => {
        const good = opening(site, `b${i}`, '2026-03-02T10:00:00Z');
        return i === 3 ? bad(site, good) : good;
      }),
    }),
    path,
  ];
  const without = (o: Record<string, unknown>, k: string) => Object.fromEntries(Object.entries(o).filter(([key]) => key !== k));
  const cases: Case[] = [
    entryCase('an unknown field', (_s, g) => ({ ...g, colour: 'red' }), 'entries.3.colour'),
    entryCase('event_id a number', (_s, g) => ({ ...g, event_id: 17 }), 'entries.3.event_id'),
    entryCase('event_id empty', (_s, g) => ({ ...g, event_id: '' }), 'entries.3.event_id'),
    entryCase('event_id missing', (_s, g) => without(g, 'event_id'), 'entries.3.event_id'),
    entryCase('event_id huge', (_s, g) => ({ ...g, event_id: huge }), 'entries.3.event_id'),
    entryCase('time as epoch ms', (_s, g) => ({ ...g, time: 1772442000000 }), 'entries.3.time'),
    entryCase('time missing', (_s, g) => without(g, 'time'), 'entries.3.time'),
    entryCase('time null', (_s, g) => ({ ...g, time: null }), 'entries.3.time'),
    entryCase('time without an offset', (_s, g) => ({ ...g, time: '2026-03-02T10:00:00' }), 'entries.3.time'),
    entryCase('time a date only', (_s, g) => ({ ...g, time: '2026-03-02' }), 'entries.3.time'),
    entryCase('time in words', (_s, g) => ({ ...g, time: 'yesterday at noon' }), 'entries.3.time'),
    entryCase('time month 13', (_s, g) => ({ ...g, time: '2026-13-02T10:00:00Z' }), 'entries.3.time'),
    entryCase('time 30 February', (_s, g) => ({ ...g, time: '2026-02-30T10:00:00Z' }), 'entries.3.time'),
    entryCase('time 29 February of a common year', (_s, g) => ({ ...g, time: '2026-02-29T10:00:00Z' }), 'entries.3.time'),
    entryCase('time 24:00', (_s, g) => ({ ...g, time: '2026-03-02T24:00:00Z' }), 'entries.3.time'),
    entryCase('time with an offset out of range', (_s, g) => ({ ...g, time: '2026-03-02T10:00:00+99:00' }), 'entries.3.time'),
    entryCase('time with a six-digit year', (_s, g) => ({ ...g, time: '+275760-09-13T00:00:00Z' }), 'entries.3.time'),
    entryCase('time huge', (_s, g) => ({ ...g, time: `2026-03-02T10:00:00Z${huge}` }), 'entries.3.time'),
    entryCase('event_category unknown', (_s, g) => ({ ...g, event_category: 'door_kicked' }), 'entries.3.event_category'),
    entryCase('event_category missing', (_s, g) => without(g, 'event_category'), 'entries.3.event_category'),
    entryCase('event_category an array', (_s, g) => ({ ...g, event_category: ['lock_opened'] }), 'entries.3.event_category'),
    entryCase('event_detail unknown', (_s, g) => ({ ...g, event_detail: 'because' }), 'entries.3.event_detail'),
    entryCase('access_by a number', (_s, g) => ({ ...g, access_by: 5 }), 'entries.3.access_by'),
    entryCase('tag_number of 11 digits', (_s, g) => ({ ...g, tag_number: '00000010011' }), 'entries.3.tag_number'),
    entryCase('tag_number of 9 digits', (_s, g) => ({ ...g, tag_number: '000001001' }), 'entries.3.tag_number'),
    entryCase('tag_number a number', (_s, g) => ({ ...g, tag_number: 1001 }), 'entries.3.tag_number'),
    entryCase('tag_number huge', (_s, g) => ({ ...g, tag_number: '1'.repeat(100_000) }), 'entries.3.tag_number'),
    entryCase('lock_id a number', (_s, g) => ({ ...g, lock_id: 7 }), 'entries.3.lock_id'),
    entryCase('lock_id huge', (_s, g) => ({ ...g, lock_id: huge }), 'entries.3.lock_id'),
    entryCase('no lock and no IQ', (_s, g) => ({ ...g, lock_id: null }), 'entries.3.lock_id'),
    entryCase('an unknown lock', (_s, g) => ({ ...g, lock_id: 'no-such-lock' }), 'entries.3.lock_id'),
    entryCase('an unknown IQ', (_s, g) => ({ ...g, iq_id: 'no-such-iq' }), 'entries.3.iq_id'),
    entryCase('an unknown user', (_s, g) => ({ ...g, user_id: 'no-such-user' }), 'entries.3.user_id'),
    entryCase('user_id an object', (_s, g) => ({ ...g, user_id: { id: 'x' } }), 'entries.3.user_id'),
    entryCase('an item that is null', () => null, 'entries.3'),
    entryCase('an item that is a number', () => 42, 'entries.3'),
    entryCase('an item that is a string', () => 'lock_opened', 'entries.3'),
    entryCase('an item that is an array', (_s, g) => [g], 'entries.3'),
    ['source a number', (site) => ({ source: 1, entries: [opening(site, 'x')] }), 'source'],
    ['source empty', (site) => ({ source: '', entries: [opening(site, 'x')] }), 'source'],
    ['source huge', (site) => ({ source: huge, entries: [opening(site, 'x')] }), 'source'],
    ['source missing', (site) => ({ entries: [opening(site, 'x')] }), 'source'],
    ['entries an object', (site) => ({ source: 'iq:1', entries: { 0: opening(site, 'x') } }), 'entries'],
    ['entries a string', () => ({ source: 'iq:1', entries: 'e1,e2' }), 'entries'],
    ['more than 10,000 entries', (site) => ({ source: 'iq:1', entries: Array.from({ length: 10_001 }, (_, i) => opening(site, `n${i}`)) }), 'entries'],
    ['more than 10,000 incidents', (site) => ({ source: 'iq:1', incidents: Array.from({ length: 10_001 }, (_, i) => ({ event_id: `i${i}`, time: '2026-03-02T10:00:00Z', incident_type: 'tamper', lock_id: site.front.id })) }), 'incidents'],
    ['an unknown top-level field', (site) => ({ source: 'iq:1', entries: [opening(site, 'x')], sent_at: 'now' }), '(input)'],
    [
      'an unknown incident type',
      (site) => ({
        source: 'iq:1',
        entries: [opening(site, 'x')],
        incidents: [
          { event_id: 'a', time: '2026-03-02T10:00:00Z', incident_type: 'tamper', lock_id: site.front.id },
          { event_id: 'b', time: '2026-03-02T10:00:00Z', incident_type: 'fire', lock_id: site.front.id },
        ],
      }),
      'incidents.1.incident_type',
    ],
    ['an incident at an unknown lock', (site) => ({ source: 'iq:1', entries: [opening(site, 'x')], incidents: [{ event_id: 'a', time: '2026-03-02T10:00:00Z', incident_type: 'tamper', lock_id: 'gone' }] }), 'incidents.0.lock_id'],
    ['an incident at an unknown IQ', () => ({ source: 'iq:1', incidents: [{ event_id: 'a', time: '2026-03-02T10:00:00Z', incident_type: 'iq_offline', iq_id: 'gone' }] }), 'incidents.0.iq_id'],
    ['an incident with a bad time', (site) => ({ source: 'iq:1', incidents: [{ event_id: 'a', time: '02/03/2026 10:00', incident_type: 'tamper', lock_id: site.front.id }] }), 'incidents.0.time'],
    ['an incident with an entry field', (site) => ({ source: 'iq:1', incidents: [{ event_id: 'a', time: '2026-03-02T10:00:00Z', incident_type: 'tamper', lock_id: site.front.id, tag_number: '0000001001' }] }), 'incidents.0.tag_number'],
    ['an incident that is null', () => ({ source: 'iq:1', incidents: [null] }), 'incidents.0'],
  ];

  // One site for all cases: each refused call must leave it exactly as it was.
  const site = start(T0, false);
  afterAll(() => site.db.close());
  site.ingest('iq:1', [opening(site, 'b0', '2026-03-02T10:00:00Z'), opening(site, 'b1', '2026-03-02T10:00:00Z')], [{ event_id: 'a', time: '2026-03-02T09:00:00Z', incident_type: 'tamper', lock_id: site.front.id }]);
  const before = dump(site.db);
  const bytes = site.db.read.serialize();

  it.each(cases.map(([name, build, path]) => ({ name, build, path })))('$name → validation at $path, nothing written', ({ build, path }) => {
    const e = failure(() => site.svc.call(site.sys, 'entries.ingest', build(site)));
    expect(e.code).toBe('validation');
    expect(e.issues?.[0]?.path, e.message).toBe(path);
    expect(e.message.length).toBeLessThan(500);
    expect(e.message).toContain(path === '(input)' ? 'sent_at' : path);
    expect(dump(site.db)).toEqual(before);
    expect(site.db.read.serialize().equals(bytes)).toBe(true);
  });

  it('one bad event anywhere in a batch of 9,999 refuses the whole batch', () => {
    for (const [at, bad] of [
      [7777, { time: '2026-03-02 10:00' }],
      [9998, { lock_id: 'no-such-lock' }],
      [0, { user_id: 'nobody' }],
    ] as const) {
      const entries = Array.from({ length: 9_999 }, (_, i) => ({ ...opening(site, `big${i}`, new Date(T0 - i * 1000).toISOString()), ...(i === at ? bad : {}) }));
      const e = failure(() => site.svc.call(site.sys, 'entries.ingest', { source: 'bulk', entries }));
      if (e.code !== 'validation') console.log('DEBUG', e, (e as unknown as { cause: unknown }).cause);
      expect(e.code).toBe('validation');
      expect(e.issues?.map((i) => i.path)).toEqual([`entries.${at}.${Object.keys(bad)[0]}`]);
      expect(e.message).toMatch(/no (entries|events) were stored/);
      expect(dump(site.db)).toEqual(before);
      expect(site.db.read.serialize().equals(bytes)).toBe(true);
    }
  });

  it('reports many bad events at once, capped', () => {
    const entries = Array.from({ length: 500 }, (_, i) => ({ ...opening(site, `m${i}`), time: 'soon' }));
    const e = failure(() => site.svc.call(site.sys, 'entries.ingest', { source: 'bulk', entries }));
    expect(e.issues!.length).toBeGreaterThan(10);
    expect(e.issues!.length).toBeLessThanOrEqual(1000);
    expect(e.message).toMatch(/^entries\.0\.time: .*\(and \d+ more\)/);
    expect(dump(site.db)).toEqual(before);
  });

  it('a good batch still goes in afterwards, from a source and for records only the refused batches named', () => {
    // The refused batches created refs (source 'bulk', a new user) inside their rolled-back transactions.
    const carol = site.svc.run(site.sys, 'users.create', { first_name: 'Carol', last_name: 'Clark' });
    const r = site.ingest('bulk', [opening(site, 'later', '2026-03-02T11:00:00Z'), opening(site, 'mobile', '2026-03-02T11:01:00Z', { tag_number: null, access_by: 'mobile_key', user_id: carol.id })]);
    expect(r.entries.stored).toBe(2);
    const rows = site.all().filter((e) => e.source === 'bulk');
    expect(rows.map((e) => [e.source_event_id, e.user_name])).toEqual([
      ['mobile', 'Carol Clark'],
      ['later', 'Alice Adams'],
    ]);
    expect(site.svc.run(site.sys, 'entries.list', { user_id: carol.id }).items.map((e) => e.source_event_id)).toEqual(['mobile']);
    expect(site.verify().ok).toBe(true);
  });
});

describe('hourly counts and last-seen', () => {
  const event = fc.record({
    id: fc.integer({ min: 0, max: 60 }),
    source: fc.constantFrom('iq:1', 'iq:2'),
    lock: fc.constantFrom<'front' | 'ny' | 'loose' | 'none'>('front', 'ny', 'loose', 'none'),
    category: fc.constantFrom('lock_opened', 'lock_rejected', 'privacy_mode'),
    detail: fc.constantFrom(null, 'offline', 'no_access'),
    tag: fc.constantFrom<'aliceTag' | 'bobTag' | 'spareTag' | 'unknown' | 'none'>('aliceTag', 'bobTag', 'spareTag', 'unknown', 'none'),
    // Spans the Amsterdam spring-forward night and a few days around it; often within a couple of
    // hours, so that one batch has several events in one bucket.
    minute: fc.oneof(fc.integer({ min: 0, max: 6 * 24 * 60 }), fc.integer({ min: 0, max: 120 })),
  });
  type Ev = typeof event extends fc.Arbitrary<infer T> ? T : never;

  it('are updated exactly once per stored event, whatever the duplicates (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(event, { maxLength: 40 }), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 4 }), (batches, redeliver) => {
        const site = start(Date.parse('2026-04-30T00:00:00Z'));
        const toEvent = (e: Ev) => ({
          event_id: `e${e.id}`,
          time: new Date(Date.parse('2026-03-26T00:00:00Z') + e.minute * 60_000).toISOString(),
          event_category: e.category,
          event_detail: e.detail,
          access_by: e.tag === 'none' ? null : 'tag',
          lock_id: e.lock === 'none' ? null : site[e.lock].id,
          iq_id: e.lock === 'none' ? site.iqA.id : undefined,
          tag_number: e.tag === 'none' ? null : e.tag === 'unknown' ? '5555555555' : site[e.tag].tag_number,
        });
        const deliveries = [...batches, ...redeliver.map((k) => batches[k % batches.length]!)];
        let stored = 0;
        for (const b of deliveries) {
          const bySource = new Map<string, typeof b>();
          for (const e of b) bySource.set(e.source, [...(bySource.get(e.source) ?? []), e]);
          for (const [source, es] of bySource) stored += site.ingest(source, es.map(toEvent)).entries.stored;
        }
        const total = count(site.db, 'SELECT count(*) FROM entries');
        expect(total).toBe(stored);
        expect(count(site.db, 'SELECT coalesce(sum(n), 0) FROM entry_counts')).toBe(total);
        // Every bucket equals a count over the entries themselves.
        const rollup = site.db.read.prepare('SELECT local_hour, lock_ref, event_category, event_detail, n FROM entry_counts WHERE n > 0 ORDER BY 1, 2, 3, 4').all();
        const brute = site.db.read
          .prepare(
            `SELECT (utc_ms + utc_offset_min * 60000) / 3600000 AS local_hour, coalesce(lock_ref, 0) AS lock_ref, event_category, coalesce(event_detail, '') AS event_detail, count(*) AS n
             FROM entries GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
          )
          .all();
        expect(rollup).toEqual(brute);
        // Last seen: the newest entry of each lock and IQ, the newest opening, and how many name it.
        const seen = site.db.read.prepare('SELECT ref, last_ms, last_opened_ms, n FROM audit_last_seen ORDER BY ref').all();
        const expected = site.db.read
          .prepare(
            `SELECT ref, max(utc_ms) AS last_ms, max(CASE WHEN event_category = 'lock_opened' THEN utc_ms END) AS last_opened_ms, count(*) AS n FROM (
               SELECT lock_ref AS ref, utc_ms, event_category FROM entries WHERE lock_ref IS NOT NULL
               UNION ALL SELECT iq_ref, utc_ms, event_category FROM entries WHERE iq_ref IS NOT NULL)
             GROUP BY ref ORDER BY ref`,
          )
          .all();
        expect(seen).toEqual(expected);
        expectDenseChain(site.db);
        expect(site.verify().ok).toBe(true);
        site.db.close();
      }),
      { numRuns: 40 },
    );
  });

  it('last seen is not moved back by a late event, and only openings move last opened', () => {
    const site = start();
    site.ingest('iq:1', [opening(site, 'new', '2026-03-02T11:00:00Z')]);
    site.ingest('iq:1', [opening(site, 'old', '2026-02-01T11:00:00Z'), opening(site, 'rej', '2026-03-02T11:30:00Z', { event_category: 'lock_rejected', event_detail: 'no_access' })]);
    const [lock] = site.svc.run(site.sys, 'entries.last_seen', { kind: 'lock', ids: [site.front.id] });
    expect(lock).toEqual({ id: site.front.id, last_seen: '2026-03-02T11:30:00.000Z', last_opened: '2026-03-02T11:00:00.000Z' });
    const [user] = site.svc.run(site.sys, 'entries.last_seen', { kind: 'user', ids: [site.alice.id] });
    expect(user!.last_seen).toBe('2026-03-02T11:30:00.000Z');
  });
});
