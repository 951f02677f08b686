// Reading the audit trail through the service: filters of every kind, cursor paging both ways (ties on
// the millisecond included), polling for new entries, counts from the hourly rollup against a brute-force
// count over the entries, last-seen times and inactivity reports. Expected results are computed here
// from the raw rows, independently of the query code.
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../contract/errors.ts';
import type { CountBucket, EntryPage } from '../contract/results.ts';
import { ensureSite } from '../host/first-run.ts';
import { systemActor, type Actor } from '../service/actor.ts';
import { GatehouseService } from '../service/service.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';

const T0 = Date.parse('2026-03-02T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const opened: SiteDatabase[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

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
  const back = svc.run(sys, 'locks.create', { customer_reference: 'Back door', iq_id: iqA.id });
  const ny = svc.run(sys, 'locks.create', { customer_reference: 'NY door', iq_id: iqNy.id });
  const idle = svc.run(sys, 'locks.create', { customer_reference: 'Attic', iq_id: iqA.id });
  const alice = svc.run(sys, 'users.create', { first_name: 'Alice', last_name: 'Adams' });
  const bob = svc.run(sys, 'users.create', { first_name: 'Bob', last_name: 'Brown' });
  const carol = svc.run(sys, 'users.create', { first_name: 'Carol', last_name: 'Clark' });
  const aliceTag = svc.run(sys, 'tags.create', { tag_number: '0000001001', user_id: alice.id });
  const bobTag = svc.run(sys, 'tags.create', { tag_number: '0000001002', user_id: bob.id });
  const spareTag = svc.run(sys, 'tags.create', { tag_number: '0000001003' });
  return { db, svc, sys, clock, iqA, iqNy, front, back, ny, idle, alice, bob, carol, aliceTag, bobTag, spareTag };
}
type Site = ReturnType<typeof start>;

// ── Random events ────────────────────────────────────────────────────────────────────────────────

const LOCKS = ['front', 'back', 'ny', 'none'] as const;
const TAGS = ['aliceTag', 'bobTag', 'spareTag', 'unknown', 'none'] as const;
const CATEGORIES = ['lock_opened', 'lock_rejected', 'easy_office_mode'] as const;
const DETAILS = [null, 'offline', 'no_access', 'start'] as const;

interface Ev {
  id: number;
  source: 'iq:1' | 'iq:2';
  lock: (typeof LOCKS)[number];
  tag: (typeof TAGS)[number];
  mobile: boolean;
  category: (typeof CATEGORIES)[number];
  detail: (typeof DETAILS)[number];
  /** Milliseconds after `base`; a small range makes many ties. */
  at: number;
}

const evArb = (maxId: number, maxAt: number): fc.Arbitrary<Ev> =>
  fc.record({
    id: fc.integer({ min: 0, max: maxId }),
    source: fc.constantFrom('iq:1' as const, 'iq:2' as const),
    lock: fc.constantFrom(...LOCKS),
    tag: fc.constantFrom(...TAGS),
    mobile: fc.boolean(),
    category: fc.constantFrom(...CATEGORIES),
    detail: fc.constantFrom(...DETAILS),
    at: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: maxAt })),
  });

function toEvent(site: Site, e: Ev, base: number) {
  const user = e.mobile && e.tag === 'none' ? site.bob.id : undefined;
  return {
    event_id: `e${e.id}`,
    time: new Date(base + e.at).toISOString(),
    event_category: e.category,
    event_detail: e.detail,
    access_by: user ? 'mobile_key' : e.tag === 'none' ? 'inside_handle' : 'tag',
    lock_id: e.lock === 'none' ? null : site[e.lock].id,
    iq_id: e.lock === 'none' ? site.iqNy.id : undefined,
    tag_number: e.tag === 'none' ? null : e.tag === 'unknown' ? '7777777777' : site[e.tag].tag_number,
    user_id: user,
  };
}

function ingestAll(site: Site, events: Ev[], base: number, batch = 50): number {
  let stored = 0;
  for (let i = 0; i < events.length; i += batch) {
    const slice = events.slice(i, i + batch);
    for (const source of ['iq:1', 'iq:2'] as const) {
      const mine = slice.filter((e) => e.source === source);
      if (mine.length) stored += site.svc.run(site.sys, 'entries.ingest', { source, entries: mine.map((e) => toEvent(site, e, base)) }).entries.stored;
    }
  }
  return stored;
}

/** A fixed, varied data set: 400 events over ten days, 60 of them in one millisecond. */
function fixedData(site: Site): number {
  let x = 12345;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const events: Ev[] = Array.from({ length: 400 }, (_, i) => ({
    id: i,
    source: rnd(2) ? 'iq:1' : 'iq:2',
    lock: LOCKS[rnd(LOCKS.length)]!,
    tag: TAGS[rnd(TAGS.length)]!,
    mobile: rnd(3) === 0,
    category: CATEGORIES[rnd(CATEGORIES.length)]!,
    detail: DETAILS[rnd(DETAILS.length)]!,
    at: i % 7 === 0 ? 5 * DAY : rnd(10 * DAY),
  }));
  return ingestAll(site, events, T0 - 10 * DAY);
}

// ── The expected answers, from the raw rows ─────────────────────────────────────────────────────

interface RawRow {
  seq: number;
  utc_ms: number;
  off: number;
  lock_id: string | null;
  lock_name: string | null;
  iq_id: string | null;
  user_id: string | null;
  tag_id: string | null;
  tag_number: string | null;
  event_category: string;
  event_detail: string | null;
  access_by: string | null;
}

function rawRows(db: SiteDatabase): RawRow[] {
  return db.read
    .prepare(
      `SELECT e.seq, e.utc_ms, e.utc_offset_min AS off, l.id AS lock_id, e.lock_name, i.id AS iq_id, u.id AS user_id, t.id AS tag_id, e.tag_number, e.event_category, e.event_detail, e.access_by
       FROM entries e LEFT JOIN audit_refs l ON l.ref = e.lock_ref LEFT JOIN audit_refs i ON i.ref = e.iq_ref
       LEFT JOIN audit_refs u ON u.ref = e.user_ref LEFT JOIN audit_refs t ON t.ref = e.tag_ref`,
    )
    .all() as RawRow[];
}

type Filter = Partial<Record<'lock_id' | 'iq_id' | 'user_id' | 'tag_id' | 'tag_number' | 'event_category' | 'event_detail' | 'access_by' | 'from' | 'until', string>>;

function matches(r: RawRow, f: Filter): boolean {
  for (const k of ['lock_id', 'iq_id', 'user_id', 'tag_id', 'tag_number', 'event_category', 'event_detail', 'access_by'] as const) {
    if (f[k] !== undefined && r[k] !== f[k]) return false;
  }
  if (f.from !== undefined && r.utc_ms < Date.parse(f.from)) return false;
  if (f.until !== undefined && r.utc_ms >= Date.parse(f.until)) return false;
  return true;
}

/** Ids of the matching rows, newest first, ties broken by seq. */
function expected(db: SiteDatabase, f: Filter): string[] {
  return rawRows(db)
    .filter((r) => matches(r, f))
    .sort((a, b) => b.utc_ms - a.utc_ms || b.seq - a.seq)
    .map((r) => String(r.seq));
}

// ── Walking pages ───────────────────────────────────────────────────────────────────────────────

function list(site: Site, input: Record<string, unknown>): EntryPage {
  return site.svc.run(site.sys, 'entries.list', input as never);
}

/** Follows older_cursor from the newest page; returns ids newest first. */
function walkOlder(site: Site, f: Filter, limit: number): string[] {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = list(site, { ...f, limit, cursor });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    ids.push(...page.items.map((i) => i.id));
    if (!page.older_cursor) return ids;
    expect(page.items.length).toBe(limit);
    cursor = page.older_cursor;
  }
  throw new Error('paging does not end');
}

/** Follows newer_cursor from the oldest page; returns ids oldest first. */
function walkNewer(site: Site, f: Filter, limit: number): string[] {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = list(site, { ...f, limit, cursor, direction: 'newer' });
    if (page.items.length === 0) {
      // Nothing newer: the cursor stays where it was, ready for the next poll.
      expect(page.newer_cursor).toBe(cursor ?? null);
      return ids;
    }
    ids.push(...page.items.map((i) => i.id).reverse());
    cursor = page.newer_cursor!;
  }
  throw new Error('paging does not end');
}

function failure(fn: () => unknown): GatehouseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatehouseError) return e;
    throw e;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

function filtersOf(site: Site): Filter[] {
  const t = (ms: number) => new Date(ms).toISOString();
  return [
    {},
    { lock_id: site.front.id },
    { lock_id: site.ny.id },
    { iq_id: site.iqA.id },
    { iq_id: site.iqNy.id },
    { user_id: site.alice.id },
    { user_id: site.bob.id },
    { tag_id: site.spareTag.id },
    { tag_id: site.bobTag.id },
    { tag_number: '7777777777' },
    { tag_number: site.aliceTag.tag_number },
    { event_category: 'lock_rejected' },
    { event_detail: 'offline' },
    { access_by: 'mobile_key' },
    { from: t(T0 - 5 * DAY) },
    { until: t(T0 - 5 * DAY) },
    { from: t(T0 - 7 * DAY), until: t(T0 - 3 * DAY + 17) },
    { lock_id: site.front.id, event_category: 'lock_opened' },
    { user_id: site.alice.id, from: t(T0 - 6 * DAY), until: t(T0 - 2 * DAY) },
    { user_id: site.bob.id, tag_id: site.bobTag.id },
    { user_id: site.bob.id, access_by: 'mobile_key', lock_id: site.back.id },
    { iq_id: site.iqA.id, event_detail: 'no_access', access_by: 'tag' },
    { lock_id: site.back.id, user_id: site.alice.id, tag_number: site.aliceTag.tag_number, from: t(T0 - 9 * DAY) },
    { tag_id: site.aliceTag.id, lock_id: site.front.id, event_category: 'lock_opened', event_detail: 'offline' },
    { lock_id: site.idle.id },
  ];
}

describe('filters', () => {
  it('every filter kind, alone and combined, returns exactly the matching entries, newest first, with a count', () => {
    const site = start();
    expect(fixedData(site)).toBe(400);
    for (const f of filtersOf(site)) {
      const want = expected(site.db, f);
      const page = list(site, { ...f, limit: 1000, with_count: true });
      expect(page.items.map((i) => i.id), JSON.stringify(f)).toEqual(want);
      expect(page.count, JSON.stringify(f)).toBe(want.length);
      expect(page.older_cursor).toBeNull();
      // The rows really carry what was filtered on.
      for (const item of page.items) {
        if (f.lock_id) expect(item.lock_id).toBe(f.lock_id);
        if (f.user_id) expect(item.user_id).toBe(f.user_id);
        if (f.event_category) expect(item.event_category).toBe(f.event_category);
      }
    }
    // The fixture has something in most of them.
    expect(filtersOf(site).filter((f) => expected(site.db, f).length > 0).length).toBeGreaterThanOrEqual(20);
  });

  it('ids the trail never saw match nothing (and are not an error)', () => {
    const site = start();
    fixedData(site);
    for (const f of [{ lock_id: 'nope' }, { user_id: site.carol.id }, { tag_id: 'nope' }, { iq_id: 'nope' }, { tag_number: '0000000000' }]) {
      expect(list(site, { ...f, with_count: true })).toEqual({ items: [], older_cursor: null, newer_cursor: null, count: 0 });
    }
  });

  it('incidents: filters, paging and acknowledgement', () => {
    const site = start();
    const { svc, sys } = site;
    const types = ['door_left_open', 'intrusion', 'tamper', 'iq_offline'] as const;
    const incidents = Array.from({ length: 30 }, (_, i) => ({
      event_id: `a${i}`,
      time: new Date(T0 - (i % 10) * HOUR).toISOString(),
      incident_type: types[i % 4],
      ...(i % 4 === 3 ? { iq_id: site.iqNy.id } : { lock_id: i % 2 ? site.front.id : site.ny.id }),
    }));
    svc.run(sys, 'entries.ingest', { source: 'iq:1', incidents });
    const all = svc.run(sys, 'incidents.list', { limit: 1000, with_count: true });
    expect(all.count).toBe(30);
    const ordered = [...all.items].sort((a, b) => b.utc_date_time.localeCompare(a.utc_date_time) || Number(b.id) - Number(a.id));
    expect(all.items).toEqual(ordered);
    expect(svc.run(sys, 'incidents.list', { incident_type: 'intrusion', limit: 1000 }).items.every((i) => i.incident_type === 'intrusion')).toBe(true);
    expect(svc.run(sys, 'incidents.list', { incident_type: 'intrusion', with_count: true }).count).toBe(8);
    expect(svc.run(sys, 'incidents.list', { lock_id: site.front.id, with_count: true }).count).toBe(all.items.filter((i) => i.lock_id === site.front.id).length);
    expect(svc.run(sys, 'incidents.list', { iq_id: site.iqNy.id, with_count: true }).count).toBe(all.items.filter((i) => i.iq_id === site.iqNy.id).length);
    const from = new Date(T0 - 4 * HOUR).toISOString();
    expect(svc.run(sys, 'incidents.list', { from, with_count: true }).count).toBe(all.items.filter((i) => i.utc_date_time >= from).length);
    // Paging older, ties included, returns each exactly once.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = svc.run(sys, 'incidents.list', { limit: 4, cursor });
      seen.push(...page.items.map((i) => i.id));
      cursor = page.older_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(all.items.map((i) => i.id));
    // And newer, from the oldest, returns them all the other way round; polling at the end finds nothing.
    const up: string[] = [];
    let newer: string | undefined;
    for (let guard = 0; guard < 100; guard++) {
      const page = svc.run(sys, 'incidents.list', { limit: 4, cursor: newer, direction: 'newer', with_count: true });
      expect(page.count).toBe(30);
      if (!page.items.length) {
        expect(page.newer_cursor).toBe(newer);
        break;
      }
      up.push(...page.items.map((i) => i.id).reverse());
      newer = page.newer_cursor!;
    }
    expect(up).toEqual([...seen].reverse());
    const until = new Date(T0 - 4 * HOUR).toISOString();
    expect(svc.run(sys, 'incidents.list', { until, with_count: true }).count).toBe(all.items.filter((i) => i.utc_date_time < until).length);
    expect(svc.run(sys, 'incidents.get', { id: all.items[3]!.id })).toEqual(all.items[3]);
    // Acknowledging: once, logged, and the chains still verify.
    const ids = all.items.slice(0, 3).map((i) => i.id);
    const acked = svc.run(sys, 'incidents.acknowledge', { ids, comment: 'checked' });
    expect(acked.every((i) => i.acknowledged && i.ack_comment === 'checked' && i.acknowledged_by === 'test')).toBe(true);
    expect(svc.run(sys, 'incidents.list', { acknowledged: false, with_count: true }).count).toBe(27);
    expect(failure(() => svc.run(sys, 'incidents.acknowledge', { ids: [ids[0]!] })).code).toBe('conflict');
    expect(failure(() => svc.run(sys, 'incidents.acknowledge', { ids: ['999'] })).code).toBe('not_found');
    expect(svc.run(sys, 'audit.verify', {}).ok).toBe(true);
  });
});

describe('cursor paging', () => {
  it('older then newer returns each entry exactly once and in order, across 60 entries in one millisecond', () => {
    const site = start();
    fixedData(site);
    const all = expected(site.db, {});
    const tied = rawRows(site.db).filter((r) => r.utc_ms === T0 - 5 * DAY).length;
    expect(tied).toBeGreaterThanOrEqual(57);
    for (const limit of [1, 7, 50, 57, 399, 400, 1000]) {
      expect(walkOlder(site, {}, limit), `older, limit ${limit}`).toEqual(all);
      expect(walkNewer(site, {}, limit), `newer, limit ${limit}`).toEqual([...all].reverse());
    }
  });

  it('turning back: newer from a page returns the pages already seen, in the same pieces', () => {
    const site = start();
    fixedData(site);
    for (const f of [{}, { lock_id: site.front.id }, { user_id: site.alice.id }]) {
      const p1 = list(site, { ...f, limit: 7 });
      const p2 = list(site, { ...f, limit: 7, cursor: p1.older_cursor });
      const p3 = list(site, { ...f, limit: 7, cursor: p2.older_cursor });
      expect(new Set([...p1.items, ...p2.items, ...p3.items].map((i) => i.id)).size).toBe(21);
      const n2 = list(site, { ...f, limit: 7, cursor: p3.newer_cursor, direction: 'newer' });
      expect(n2.items).toEqual(p2.items);
      const n1 = list(site, { ...f, limit: 7, cursor: n2.newer_cursor, direction: 'newer' });
      expect(n1.items).toEqual(p1.items);
      const n0 = list(site, { ...f, limit: 7, cursor: n1.newer_cursor, direction: 'newer' });
      expect(n0.items).toEqual([]);
      expect(n0.newer_cursor).toBe(n1.newer_cursor);
      // And back again from the page reached going newer.
      expect(list(site, { ...f, limit: 7, cursor: n2.older_cursor }).items).toEqual(p3.items);
    }
  });

  it('every filter pages the same way (property: random data, many ties, random page size)', () => {
    fc.assert(
      fc.property(fc.array(evArb(300, 3 * DAY), { minLength: 1, maxLength: 150 }), fc.integer({ min: 1, max: 40 }), fc.nat(), (events, limit, pick) => {
        const site = start();
        ingestAll(site, events, T0 - 4 * DAY);
        const filters = filtersOf(site);
        for (const f of [filters[pick % filters.length]!, filters[(pick >> 3) % filters.length]!, {}]) {
          const want = expected(site.db, f);
          expect(walkOlder(site, f, limit), JSON.stringify(f)).toEqual(want);
          expect(walkNewer(site, f, limit), JSON.stringify(f)).toEqual([...want].reverse());
          expect(list(site, { ...f, limit: 1, with_count: true }).count).toBe(want.length);
        }
        site.db.close();
      }),
      { numRuns: 30 },
    );
  });

  it('polling with newer_cursor picks up entries ingested later, ties on the millisecond included', () => {
    const site = start();
    const { svc, sys } = site;
    const ev = (id: string, ms: number, lock = site.front.id) => ({ event_id: id, time: new Date(ms).toISOString(), event_category: 'lock_opened', lock_id: lock });
    svc.run(sys, 'entries.ingest', { source: 'iq:1', entries: [ev('a', T0 - 3 * MIN), ev('b', T0 - 2 * MIN), ev('c', T0 - MIN, site.ny.id)] });
    const first = list(site, { limit: 2 });
    const lockFirst = list(site, { limit: 2, lock_id: site.front.id });
    let cursor = first.newer_cursor!;
    let lockCursor = lockFirst.newer_cursor!;
    expect(list(site, { cursor, direction: 'newer' }).items).toEqual([]);
    // New events: one in the same millisecond as the newest shown, two later, on two days.
    site.clock.now = T0 + 2 * DAY;
    svc.run(sys, 'entries.ingest', { source: 'iq:1', entries: [ev('d', T0 - MIN), ev('e', T0 + 5 * MIN), ev('f', T0 + DAY + HOUR), ev('g', T0 + DAY, site.ny.id)] });
    const poll = list(site, { cursor, direction: 'newer' });
    expect(poll.items.map((i) => i.source_event_id)).toEqual(['f', 'g', 'e', 'd']);
    cursor = poll.newer_cursor!;
    const lockPoll = list(site, { cursor: lockCursor, direction: 'newer', lock_id: site.front.id });
    expect(lockPoll.items.map((i) => i.source_event_id)).toEqual(['f', 'e', 'd']);
    lockCursor = lockPoll.newer_cursor!;
    // Polling again finds nothing and keeps the cursor.
    expect(list(site, { cursor, direction: 'newer' })).toMatchObject({ items: [], newer_cursor: cursor });
    expect(list(site, { cursor: lockCursor, direction: 'newer', lock_id: site.front.id })).toMatchObject({ items: [], newer_cursor: lockCursor });
    // A poll with a small limit returns the oldest new ones first, so nothing is skipped.
    svc.run(sys, 'entries.ingest', { source: 'iq:1', entries: [ev('h', T0 + DAY + 2 * HOUR), ev('i', T0 + DAY + 3 * HOUR), ev('j', T0 + DAY + 4 * HOUR)] });
    const small = list(site, { cursor, direction: 'newer', limit: 2 });
    expect(small.items.map((i) => i.source_event_id)).toEqual(['i', 'h']);
    expect(list(site, { cursor: small.newer_cursor, direction: 'newer', limit: 2 }).items.map((i) => i.source_event_id)).toEqual(['j']);
  });
});

describe('counts', () => {
  /** Counts computed from the raw rows with their stored offsets. */
  function bruteCounts(rows: RawRow[], group: 'hour' | 'day' | 'category' | 'detail' | 'lock', fromWall?: number, untilWall?: number): CountBucket[] {
    const m = new Map<string, number>();
    for (const r of rows) {
      const wall = r.utc_ms + r.off * MIN;
      if (fromWall !== undefined && wall < fromWall) continue;
      if (untilWall !== undefined && wall >= untilWall) continue;
      const key = { hour: () => new Date(wall).toISOString().slice(0, 13), day: () => new Date(wall).toISOString().slice(0, 10), category: () => r.event_category, detail: () => r.event_detail ?? '', lock: () => r.lock_id ?? '' }[group]();
      m.set(key, (m.get(key) ?? 0) + 1);
    }
    return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, count]) => ({ key, count }));
  }
  const strip = (b: CountBucket[]) => b.map(({ key, count }) => ({ key, count }));
  const GROUPS = ['hour', 'day', 'category', 'detail', 'lock'] as const;

  function expectCountsMatch(site: Site, label: string) {
    const rows = rawRows(site.db);
    const run = (input: Record<string, unknown>) => strip(site.svc.run(site.sys, 'entries.counts', input as never));
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    for (const g of GROUPS) {
      expect(run({ group_by: g }), `${label}: ${g}`).toEqual(bruteCounts(rows, g));
      expect(run({ group_by: g, lock_id: site.front.id }), `${label}: ${g} front`).toEqual(bruteCounts(rows.filter((r) => r.lock_id === site.front.id), g));
      expect(run({ group_by: g, event_category: 'lock_rejected', event_detail: 'no_access' }), `${label}: ${g} rejected`).toEqual(
        bruteCounts(rows.filter((r) => r.event_category === 'lock_rejected' && r.event_detail === 'no_access'), g),
      );
      // Whole local days, as the dashboard asks.
      const from = Date.parse(`${day(T0 - 6 * DAY)}T00:00:00Z`);
      const until = Date.parse(`${day(T0 - 2 * DAY)}T00:00:00Z`);
      expect(run({ group_by: g, from_local: day(from), until_local: day(until) }), `${label}: ${g} days`).toEqual(bruteCounts(rows, g, from, until));
      // Filters the rollup does not break down by are counted from the entries.
      for (const [f, keep] of [
        [{ user_id: site.alice.id }, (r: RawRow) => r.user_id === site.alice.id],
        [{ tag_number: '7777777777' }, (r: RawRow) => r.tag_number === '7777777777'],
        [{ iq_id: site.iqNy.id, access_by: 'tag' }, (r: RawRow) => r.iq_id === site.iqNy.id && r.access_by === 'tag'],
        [{ from: new Date(T0 - 3 * DAY).toISOString() }, (r: RawRow) => r.utc_ms >= T0 - 3 * DAY],
      ] as const) {
        expect(run({ group_by: g, ...f }), `${label}: ${g} ${JSON.stringify(f)}`).toEqual(bruteCounts(rows.filter(keep), g));
      }
    }
    expect(site.db.read.prepare('SELECT coalesce(sum(n), 0) FROM entry_counts').pluck().get()).toBe(rows.length);
  }

  it('from the hourly rollup equal a count over the entries, per lock zone, before and after retention (property)', () => {
    fc.assert(
      fc.property(
        // Around the spring-forward weekend in Amsterdam and New York, 29 March 2026.
        fc.array(fc.array(evArb(400, 40 * DAY), { maxLength: 80 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 30, max: 60 }),
        fc.integer({ min: 1, max: 200 }),
        (batches, keepDays, maxRows) => {
          const now = Date.parse('2026-04-20T10:00:00Z');
          const site = start(now);
          const base = Date.parse('2026-03-05T00:00:00Z');
          for (const b of batches) ingestAll(site, b, base, 1000);
          expectCountsMatch(site, 'ingested');
          site.svc.run(site.sys, 'audit.settings.update', { retention_days: 30 });
          site.clock.now = now + (keepDays - 30) * DAY;
          for (let i = 0; i < 1000 && !site.svc.run(site.sys, 'audit.retention.run', { max_rows: maxRows }).complete; i++);
          expectCountsMatch(site, 'after retention');
          expect(site.svc.run(site.sys, 'audit.verify', {}).ok).toBe(true);
          site.db.close();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('a lock’s hours are its own zone’s, and lock buckets carry the lock’s name', () => {
    const site = start();
    const t = '2026-03-02T09:30:00Z';
    site.svc.run(site.sys, 'entries.ingest', {
      source: 'iq:1',
      entries: [
        { event_id: '1', time: t, event_category: 'lock_opened', lock_id: site.front.id },
        { event_id: '2', time: t, event_category: 'lock_opened', lock_id: site.ny.id },
        { event_id: '3', time: '2026-03-02T04:59:00Z', event_category: 'lock_opened', lock_id: site.ny.id },
      ],
    });
    expect(strip(site.svc.run(site.sys, 'entries.counts', { group_by: 'hour' }))).toEqual([
      { key: '2026-03-01T23', count: 1 },
      { key: '2026-03-02T04', count: 1 },
      { key: '2026-03-02T10', count: 1 },
    ]);
    expect(strip(site.svc.run(site.sys, 'entries.counts', { group_by: 'day' }))).toEqual([
      { key: '2026-03-01', count: 1 },
      { key: '2026-03-02', count: 2 },
    ]);
    const byLock = site.svc.run(site.sys, 'entries.counts', { group_by: 'lock' });
    expect(byLock.find((b) => b.key === site.ny.id)).toEqual({ key: site.ny.id, label: 'NY door', count: 2 });
    const byLockOfAlice = site.svc.run(site.sys, 'entries.counts', { group_by: 'lock', access_by: 'tag' });
    expect(byLockOfAlice).toEqual([]);
  });
});

describe('last seen and inactivity', () => {
  it('last seen per person, tag and lock; never seen and unknown ids are null', () => {
    const site = start();
    const { svc, sys } = site;
    const ev = (id: string, t: string, lock: string, extra: Record<string, unknown> = {}) => ({ event_id: id, time: t, event_category: 'lock_opened', access_by: 'tag', lock_id: lock, ...extra });
    svc.run(sys, 'entries.ingest', {
      source: 'iq:1',
      entries: [
        ev('1', '2026-02-01T08:00:00Z', site.front.id, { tag_number: site.aliceTag.tag_number }),
        ev('2', '2026-02-20T08:00:00Z', site.back.id, { tag_number: site.aliceTag.tag_number, event_category: 'lock_rejected', event_detail: 'outside_schedule' }),
        ev('3', '2026-02-10T08:00:00Z', site.front.id, { tag_number: site.bobTag.tag_number }),
        ev('4', '2026-02-25T08:00:00Z', site.ny.id, { access_by: 'mobile_key', user_id: site.bob.id }),
        ev('5', '2026-02-27T08:00:00Z', site.back.id, { tag_number: site.spareTag.tag_number }),
      ],
    });
    expect(svc.run(sys, 'entries.last_seen', { kind: 'user', ids: [site.alice.id, site.bob.id, site.carol.id, 'nobody'] })).toEqual([
      { id: site.alice.id, last_seen: '2026-02-20T08:00:00.000Z', last_opened: '2026-02-01T08:00:00.000Z' },
      { id: site.bob.id, last_seen: '2026-02-25T08:00:00.000Z', last_opened: '2026-02-25T08:00:00.000Z' },
      { id: site.carol.id, last_seen: null, last_opened: null },
      { id: 'nobody', last_seen: null, last_opened: null },
    ]);
    expect(svc.run(sys, 'entries.last_seen', { kind: 'tag', ids: [site.aliceTag.id, site.bobTag.id, site.spareTag.id] }).map((s) => s.last_seen)).toEqual([
      '2026-02-20T08:00:00.000Z',
      '2026-02-10T08:00:00.000Z',
      '2026-02-27T08:00:00.000Z',
    ]);
    expect(svc.run(sys, 'entries.last_seen', { kind: 'lock', ids: [site.front.id, site.back.id, site.idle.id] })).toEqual([
      { id: site.front.id, last_seen: '2026-02-10T08:00:00.000Z', last_opened: '2026-02-10T08:00:00.000Z' },
      { id: site.back.id, last_seen: '2026-02-27T08:00:00.000Z', last_opened: '2026-02-27T08:00:00.000Z' },
      { id: site.idle.id, last_seen: null, last_opened: null },
    ]);
    // Ids of the wrong kind are not found under another kind.
    expect(svc.run(sys, 'entries.last_seen', { kind: 'lock', ids: [site.alice.id] })[0]!.last_seen).toBeNull();
    // A person deleted later keeps their last-seen time.
    svc.run(sys, 'users.delete', { id: site.alice.id });
    expect(svc.run(sys, 'entries.last_seen', { kind: 'user', ids: [site.alice.id] })[0]!.last_seen).toBe('2026-02-20T08:00:00.000Z');
  });

  it('inactivity: doors without an opening and people without an entry in the last N days, by the service clock', () => {
    const site = start(Date.parse('2026-03-01T00:00:00Z'));
    const { svc, sys } = site;
    const ev = (id: string, t: string, lock: string, extra: Record<string, unknown> = {}) => ({ event_id: id, time: t, event_category: 'lock_opened', access_by: 'tag', lock_id: lock, ...extra });
    svc.run(sys, 'entries.ingest', {
      source: 'iq:1',
      entries: [
        ev('1', '2026-02-01T08:00:00Z', site.front.id, { tag_number: site.aliceTag.tag_number }),
        ev('2', '2026-02-25T08:00:00Z', site.back.id, { tag_number: site.bobTag.tag_number }),
        // A rejection is an entry for the person but not an opening of the door.
        ev('3', '2026-02-28T08:00:00Z', site.ny.id, { tag_number: site.aliceTag.tag_number, event_category: 'lock_rejected', event_detail: 'no_access' }),
      ],
    });
    const report = (days: number) => svc.run(sys, 'entries.inactivity', { days });
    const r7 = report(7);
    expect(r7.since).toBe('2026-02-22T00:00:00.000Z');
    // Never opened first (by name), then the longest idle.
    expect(r7.doors).toEqual([
      { lock_id: site.idle.id, customer_reference: 'Attic', last_opened: null },
      { lock_id: site.ny.id, customer_reference: 'NY door', last_opened: null },
      { lock_id: site.front.id, customer_reference: 'Front door', last_opened: '2026-02-01T08:00:00.000Z' },
    ]);
    expect(r7.people).toEqual([{ user_id: site.carol.id, name: 'Carol Clark', last_seen: null }]);
    // A month later everyone is idle; the clock is the service's.
    site.clock.now = Date.parse('2026-04-01T00:00:00Z');
    expect(report(7).people.map((p) => p.user_id)).toEqual([site.carol.id, site.bob.id, site.alice.id]);
    expect(report(7).doors.map((d) => d.lock_id)).toEqual([site.idle.id, site.ny.id, site.front.id, site.back.id]);
    expect(report(60).doors.map((d) => d.lock_id)).toEqual([site.idle.id, site.ny.id]);
    expect(svc.run(sys, 'entries.inactivity', { days: 7, limit: 1 }).people).toHaveLength(1);
  });
});

describe('bad query input', () => {
  const huge = 'x'.repeat(1_000_000);
  const cases: Array<[string, string, (s: Site) => Record<string, unknown>, string]> = [
    ['entries.list', 'limit 0', () => ({ limit: 0 }), 'limit'],
    ['entries.list', 'limit huge', () => ({ limit: 1e12 }), 'limit'],
    ['entries.list', 'limit a string', () => ({ limit: '10' }), 'limit'],
    ['entries.list', 'limit fractional', () => ({ limit: 2.5 }), 'limit'],
    ['entries.list', 'direction unknown', () => ({ direction: 'sideways' }), 'direction'],
    ['entries.list', 'cursor garbage', () => ({ cursor: 'not-a-cursor' }), 'cursor'],
    ['entries.list', 'cursor huge', () => ({ cursor: huge }), 'cursor'],
    ['entries.list', 'cursor a number', () => ({ cursor: 17 }), 'cursor'],
    ['entries.list', 'cursor with huge numbers', () => ({ cursor: Buffer.from('99999999999999999999.1').toString('base64url') }), 'cursor'],
    ['entries.list', 'with_count a string', () => ({ with_count: 'yes' }), 'with_count'],
    ['entries.list', 'from without an offset', () => ({ from: '2026-03-01T00:00:00' }), 'from'],
    ['entries.list', 'from in words', () => ({ from: 'last week' }), 'from'],
    ['entries.list', 'until a number', () => ({ until: 1772442000000 }), 'until'],
    ['entries.list', 'until before from', () => ({ from: '2026-03-02T00:00:00Z', until: '2026-03-01T00:00:00Z' }), 'until'],
    ['entries.list', 'a six-digit year', () => ({ from: '+275760-09-13T00:00:00Z' }), 'from'],
    ['entries.list', 'lock_id huge', () => ({ lock_id: huge }), 'lock_id'],
    ['entries.list', 'user_id a number', () => ({ user_id: 5 }), 'user_id'],
    ['entries.list', 'tag_number 11 digits', () => ({ tag_number: '00000010011' }), 'tag_number'],
    ['entries.list', 'event_category unknown', () => ({ event_category: 'door_kicked' }), 'event_category'],
    ['entries.list', 'event_detail unknown', () => ({ event_detail: 'because' }), 'event_detail'],
    ['entries.list', 'access_by unknown', () => ({ access_by: 'teleport' }), 'access_by'],
    ['entries.list', 'an unknown field', () => ({ lockId: 'x' }), '(input)'],
    ['entries.list', 'not an object', () => [] as unknown as Record<string, unknown>, '(input)'],
    ['entries.get', 'id not a number', () => ({ id: 'abc' }), 'id'],
    ['entries.get', 'id huge', () => ({ id: '9'.repeat(64) }), 'id'],
    ['entries.get', 'id missing', () => ({}), 'id'],
    ['entries.counts', 'group_by unknown', () => ({ group_by: 'week' }), 'group_by'],
    ['entries.counts', 'group_by missing', () => ({}), 'group_by'],
    ['entries.counts', 'from_local not a date', () => ({ group_by: 'day', from_local: '2026-02-30' }), 'from_local'],
    ['entries.counts', 'until_local with an offset', () => ({ group_by: 'day', until_local: '2026-03-01T00:00:00Z' }), 'until_local'],
    ['entries.counts', 'until before from (instants)', () => ({ group_by: 'day', from: '2026-03-02T00:00:00Z', until: '2026-03-02T00:00:00Z' }), 'until'],
    ['entries.last_seen', 'kind unknown', (s) => ({ kind: 'door', ids: [s.front.id] }), 'kind'],
    ['entries.last_seen', 'no ids', () => ({ kind: 'user', ids: [] }), 'ids'],
    ['entries.last_seen', 'too many ids', () => ({ kind: 'user', ids: Array.from({ length: 1001 }, (_, i) => `u${i}`) }), 'ids'],
    ['entries.last_seen', 'an id a number', () => ({ kind: 'user', ids: ['a', 2] }), 'ids.1'],
    ['entries.inactivity', 'days 0', () => ({ days: 0 }), 'days'],
    ['entries.inactivity', 'days huge', () => ({ days: 1e9 }), 'days'],
    ['entries.inactivity', 'days a string', () => ({ days: '7' }), 'days'],
    ['entries.inactivity', 'limit too big', () => ({ days: 7, limit: 10_001 }), 'limit'],
    ['incidents.list', 'incident_type unknown', () => ({ incident_type: 'fire' }), 'incident_type'],
    ['incidents.list', 'acknowledged a string', () => ({ acknowledged: 'no' }), 'acknowledged'],
    ['incidents.list', 'cursor garbage', () => ({ cursor: '%%%' }), 'cursor'],
    ['incidents.acknowledge', 'id not a number', () => ({ ids: ['abc'] }), 'id'],
    ['incidents.acknowledge', 'no ids', () => ({ ids: [] }), 'ids'],
    ['audit.verify', 'an unknown field', () => ({ deep: true }), '(input)'],
    ['audit.retention.run', 'max_rows 0', () => ({ max_rows: 0 }), 'max_rows'],
    ['audit.retention.run', 'max_rows huge', () => ({ max_rows: 1e12 }), 'max_rows'],
  ];

  // One site for every case: none of them may change it.
  const site = start(T0, false);
  fixedData(site);
  afterAll(() => site.db.close());
  const dump = () => site.db.read.serialize();
  const before = dump();

  it.each(cases.map(([name, what, build, path]) => ({ name, what, build, path })))('$name with $what → validation at $path, nothing written', ({ name, build, path }) => {
    const e = failure(() => site.svc.call(site.sys, name, build(site)));
    expect(e.code, e.message).toBe('validation');
    expect(e.issues?.[0]?.path, e.message).toBe(path);
    expect(e.message.length).toBeLessThan(500);
    expect(dump().equals(before)).toBe(true);
  });

  it('an entry that does not exist is not_found', () => {
    expect(failure(() => site.svc.run(site.sys, 'entries.get', { id: '12345' })).code).toBe('not_found');
  });
});
