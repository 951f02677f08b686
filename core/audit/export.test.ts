// The audit-trail export (CSV and JSON lines) against the slow paths it replaces: csv-stringify for the
// text of every CSV record, entries.list (collected page by page) for the rows of every kind of filter,
// Date#toISOString for the timestamps. Also: local and UTC times in each lock's zone across DST
// changes, the snapshot (rows stored during an export are left out), progress, empty results, rows
// that take the slow path, and the query plans (no sort, no scan) that keep a big export linear.
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { InputOf } from '../contract/contract.ts';
import { ensureSite } from '../host/first-run.ts';
import { systemActor, type Actor } from '../service/actor.ts';
import { entryFilter } from '../service/handlers/audit.ts';
import { GatehouseService } from '../service/service.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';
import { csvField, EXPORT_COLUMNS, explainExport, exportEntries, isoFormatter, type ExportOptions } from './export.ts';
import type { EntryRow } from './query.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** The site's clock: after every event below. */
const NOW = Date.parse('2026-04-01T12:00:00Z');
/** The events span 2026-03-06 … 2026-03-31: New York changes to summer time on 8 March, Amsterdam on 29 March. */
const BASE = Date.parse('2026-03-06T00:00:00Z');

const opened: SiteDatabase[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

/** Contract-shaped filter (instants as ISO text), as entries.list and entries.export take it. */
type Filter = Omit<InputOf<'entries.list'>, 'cursor' | 'direction' | 'limit' | 'with_count'>;

/**
 * A site in Amsterdam: IQs there and in New York, a door on each (names a CSV writer must quote), a
 * shed on no IQ (site zone), people with awkward names and a tag each, and a spare tag.
 */
function start() {
  const clock = { now: NOW };
  const db = openDatabase(':memory:');
  opened.push(db);
  ensureSite(db, { name: 'HQ', timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery', now: NOW });
  const svc = new GatehouseService(db, { now: () => clock.now });
  const sys: Actor = systemActor('test');
  const iqA = svc.run(sys, 'iqs.create', { mac: '00-14-22-01-23-45', customer_reference: 'IQ Amsterdam' });
  const iqNy = svc.run(sys, 'iqs.create', { mac: '00-14-22-01-23-46', customer_reference: 'IQ New York', time_zone: 'America/New_York' });
  const front = svc.run(sys, 'locks.create', { customer_reference: 'Front door, main', iq_id: iqA.id });
  const ny = svc.run(sys, 'locks.create', { customer_reference: 'NY "Annex" door', iq_id: iqNy.id });
  const shed = svc.run(sys, 'locks.create', { customer_reference: 'Shed' });
  const alice = svc.run(sys, 'users.create', { first_name: 'Alice', last_name: 'Jansen, Jr.' });
  const bob = svc.run(sys, 'users.create', { first_name: 'Bob', last_name: 'de "Bas" Vries' });
  const carol = svc.run(sys, 'users.create', { first_name: 'Carol', last_name: 'Smit\nBakker' });
  const dan = svc.run(sys, 'users.create', { first_name: 'Dần', last_name: 'Nguyễn 東京 Ørsted 🗝️' });
  const tags = {
    alice: svc.run(sys, 'tags.create', { tag_number: '0000001001', user_id: alice.id }),
    bob: svc.run(sys, 'tags.create', { tag_number: '0000001002', user_id: bob.id }),
    carol: svc.run(sys, 'tags.create', { tag_number: '0000001003', user_id: carol.id }),
    dan: svc.run(sys, 'tags.create', { tag_number: '0000001004', user_id: dan.id }),
    spare: svc.run(sys, 'tags.create', { tag_number: '0000001005' }),
  };
  const ingest = (source: string, entries: unknown[]) => svc.run(sys, 'entries.ingest', { source, entries, incidents: [] });
  /** Every entry of a filter, oldest first, collected from entries.list page by page. */
  const listAll = (filter: Filter = {}): EntryRow[] => {
    const out: EntryRow[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = svc.run(sys, 'entries.list', { ...filter, limit: 37, direction: 'older', ...(cursor ? { cursor } : {}) });
      out.push(...page.items);
      if (!page.older_cursor) break;
      cursor = page.older_cursor;
    }
    return out.reverse();
  };
  return { db, svc, sys, clock, iqA, iqNy, front, ny, shed, alice, bob, carol, dan, tags, ingest, listAll };
}
type Site = ReturnType<typeof start>;

/**
 * Some 400 events over 25 days, from two hubs: openings by tag, refusals (one of an unknown card),
 * inside handles, remote openings, office mode; ties on the millisecond, the last and first millisecond
 * of UTC days, event ids a CSV writer must quote. One hub delivers late (in reverse), a door and a
 * person are renamed half-way, so seq order is not time order and names change along the trail.
 */
function fill(site: Site) {
  const people = ['alice', 'bob', 'carol', 'dan'] as const;
  const locks = [site.front, site.ny, site.shed];
  const events: Array<{ source: string; e: Record<string, unknown> }> = [];
  const add = (i: number, at: number, extra: Record<string, unknown> = {}) => {
    const lock = locks[i % locks.length]!;
    const who = people[i % people.length]!;
    const kind = i % 10;
    const e: Record<string, unknown> = {
      event_id: i % 13 === 0 ? `ev ${i}, "quoted"\nline` : `ev-${i}`,
      time: new Date(at).toISOString(),
      event_category: 'lock_opened',
      access_by: 'tag',
      lock_id: lock.id,
      tag_number: site.tags[who].tag_number,
    };
    if (kind === 7) Object.assign(e, { event_category: 'lock_rejected', event_detail: 'outside_schedule' });
    if (kind === 8) Object.assign(e, { event_category: 'lock_rejected', event_detail: 'unknown_tag', tag_number: '0000099999' });
    if (kind === 9) Object.assign(e, { event_detail: 'inside_handle', access_by: 'inside_handle', tag_number: undefined });
    if (kind === 6) Object.assign(e, { access_by: 'remote', tag_number: undefined, user_id: site[who].id });
    if (kind === 5 && lock === site.front) Object.assign(e, { event_category: 'easy_office_mode', event_detail: 'start', access_by: 'tag' });
    events.push({ source: lock === site.ny ? 'iq:ny' : 'iq:a', e: { ...e, ...extra } });
  };
  let i = 0;
  for (; i < 360; i++) add(i, BASE + i * 97 * MIN + (i % 7) * 1000 + (i % 3));
  // Ties on one millisecond, and both sides of UTC midnight.
  for (let k = 0; k < 6; k++) add(i++, BASE + 3 * DAY + 5 * HOUR);
  for (let k = 0; k < 3; k++) add(i++, BASE + 4 * DAY - 1);
  for (let k = 0; k < 3; k++) add(i++, BASE + 4 * DAY);
  // Either side of New York's (8 March 07:00Z) and Amsterdam's (29 March 01:00Z) change to summer time.
  add(i++, Date.parse('2026-03-08T06:30:00Z'), { lock_id: site.ny.id });
  add(i++, Date.parse('2026-03-08T07:30:00Z'), { lock_id: site.ny.id });
  add(i++, Date.parse('2026-03-29T00:30:00Z'), { lock_id: site.front.id });
  add(i, Date.parse('2026-03-29T01:30:00Z'), { lock_id: site.front.id });

  const bySource = (s: string) => events.filter((x) => x.source === s && x.e.lock_id !== site.ny.id).map((x) => x.e);
  const nyEvents = events.filter((x) => x.e.lock_id === site.ny.id).map((x) => x.e);
  const half = (xs: unknown[]) => [xs.slice(0, xs.length >> 1), xs.slice(xs.length >> 1)] as const;
  const [a1, a2] = half(bySource('iq:a'));
  const [n1, n2] = half(nyEvents);
  site.ingest('iq:a', a1);
  site.ingest('iq:ny', n1);
  site.svc.run(site.sys, 'locks.update', { id: site.front.id, customer_reference: 'Front door, main (new)' });
  site.svc.run(site.sys, 'users.update', { id: site.bob.id, last_name: 'de "Bas" Vries-Smit' });
  site.ingest('iq:a', a2);
  // The New York hub was offline: its second half arrives last, newest first.
  site.ingest('iq:ny', [...n2].reverse());
}

function text(gen: Generator<string>): string {
  let s = '';
  for (const chunk of gen) s += chunk;
  return s;
}

const exportText = (site: Site, format: ExportOptions['format'], filter: Filter = {}, more: Partial<ExportOptions> = {}) =>
  text(exportEntries(site.db.read, { format, filter: entryFilter(filter), ...more }));

const jsonLines = (s: string): EntryRow[] => (s === '' ? [] : s.replace(/\n$/, '').split('\n').map((l) => JSON.parse(l) as EntryRow));

const csvRecord = (r: EntryRow) => EXPORT_COLUMNS.map((c) => r[c]);

describe('CSV export', () => {
  it('is byte for byte what csv-stringify writes for the rows entries.list shows, oldest first', () => {
    const site = start();
    fill(site);
    const rows = site.listAll();
    expect(rows.length).toBeGreaterThan(370);
    const csv = exportText(site, 'csv');
    expect(csv).toBe(stringify([[...EXPORT_COLUMNS], ...rows.map(csvRecord)]));
    // …and reads back as the same values (null as empty).
    const records = parse(csv) as string[][];
    expect(records[0]).toEqual([...EXPORT_COLUMNS]);
    expect(records.slice(1)).toEqual(rows.map((r) => csvRecord(r).map((v) => v ?? '')));
  });

  it('quotes names with commas, quotes and line breaks, and keeps unicode as is', () => {
    const site = start();
    fill(site);
    const csv = exportText(site, 'csv');
    expect(csv.startsWith(`${EXPORT_COLUMNS.join(',')}\n`)).toBe(true);
    expect(csv).toContain(',"Front door, main",');
    expect(csv).toContain(',"Front door, main (new)",');
    expect(csv).toContain(',"NY ""Annex"" door",');
    expect(csv).toContain(',"Alice Jansen, Jr.",');
    expect(csv).toContain(',"Bob de ""Bas"" Vries",');
    expect(csv).toContain(',"Bob de ""Bas"" Vries-Smit",');
    expect(csv).toContain(',"Carol Smit\nBakker",');
    expect(csv).toContain(',Dần Nguyễn 東京 Ørsted 🗝️,');
    expect(csv).toContain(',"ev 13, ""quoted""\nline"\n');
    const records = parse(csv, { columns: true }) as Array<Record<string, string>>;
    expect(new Set(records.map((r) => r.user_name))).toEqual(
      new Set(['Alice Jansen, Jr.', 'Bob de "Bas" Vries', 'Bob de "Bas" Vries-Smit', 'Carol Smit\nBakker', 'Dần Nguyễn 東京 Ørsted 🗝️', '']),
    );
  });

  it('quotes any text exactly as csv-stringify does', () => {
    const text = fc.oneof(fc.string({ unit: fc.constantFrom('a', ' ', ',', '"', '\n', '\r', ';', "'", 'é', '東', '🗝️') }), fc.string({ unit: 'binary' }));
    fc.assert(
      fc.property(text, (s) => {
        expect(`${csvField(s)}\n`).toBe(stringify([[s]]));
      }),
      { numRuns: 500 },
    );
    expect(csvField(null)).toBe('');
  });
});

describe('times', () => {
  it("shows local time in each lock's zone (IQ zone, or the site's) beside UTC, across changes to summer time", () => {
    const site = start();
    fill(site);
    const rows = jsonLines(exportText(site, 'jsonl'));
    const at = (utc: string, lock: string) => rows.find((r) => r.utc_date_time === utc && r.lock_id === lock)!;
    // New York: EST (−5) before 8 March 07:00Z, EDT (−4) after.
    expect(at('2026-03-08T06:30:00.000Z', site.ny.id).local_date_time).toBe('2026-03-08T01:30:00');
    expect(at('2026-03-08T07:30:00.000Z', site.ny.id).local_date_time).toBe('2026-03-08T03:30:00');
    // Amsterdam: CET (+1) before 29 March 01:00Z, CEST (+2) after.
    expect(at('2026-03-29T00:30:00.000Z', site.front.id).local_date_time).toBe('2026-03-29T01:30:00');
    expect(at('2026-03-29T01:30:00.000Z', site.front.id).local_date_time).toBe('2026-03-29T03:30:00');
    // The shed is on no IQ: the site's zone (Amsterdam); New York's door is 4 or 5 hours behind UTC.
    const summer = { ams: Date.parse('2026-03-29T01:00:00Z'), ny: Date.parse('2026-03-08T07:00:00Z') };
    const offset = (r: EntryRow) => Date.parse(`${r.local_date_time}Z`) - Math.floor(Date.parse(r.utc_date_time) / 1000) * 1000;
    for (const r of rows.filter((x) => x.lock_id === site.shed.id || x.lock_id === site.front.id)) {
      expect(offset(r)).toBe(Date.parse(r.utc_date_time) < summer.ams ? HOUR : 2 * HOUR);
    }
    for (const r of rows.filter((x) => x.lock_id === site.ny.id)) expect(offset(r)).toBe(Date.parse(r.utc_date_time) < summer.ny ? -5 * HOUR : -4 * HOUR);
    for (const r of rows) {
      expect(r.local_date_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
      expect(r.utc_date_time).toBe(new Date(Date.parse(r.utc_date_time)).toISOString());
      expect(r.received_date_time).toBe(new Date(NOW).toISOString());
    }
  });

  it("keeps a wrong device clock's reading beside the time the entry is filed at", () => {
    const site = start();
    site.ingest('iq:a', [{ event_id: 'old', time: '2019-06-01T00:00:00Z', event_category: 'lock_opened', access_by: 'tag', lock_id: site.front.id, tag_number: '0000001001' }]);
    const [row] = jsonLines(exportText(site, 'jsonl'));
    expect(row).toEqual(site.listAll()[0]);
    expect(row!.device_date_time).toBe('2019-06-01T00:00:00.000Z');
    expect(row!.utc_date_time).toBe(new Date(NOW).toISOString());
  });

  it('formats any instant as Date#toISOString does, however instants follow one another', () => {
    const instant = fc.oneof(
      fc.integer({ min: NOW - 400 * DAY, max: NOW + 400 * DAY }),
      fc.integer({ min: -62_167_219_200_000 - 2 * DAY, max: -62_167_219_200_000 + 2 * DAY }),
      fc.integer({ min: 253_402_300_800_000 - 2 * DAY, max: 253_402_300_800_000 + 2 * DAY }),
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
    );
    fc.assert(
      fc.property(fc.array(instant, { maxLength: 50 }), (instants) => {
        const f = isoFormatter();
        for (const ms of instants) {
          expect(f.utc(ms)).toBe(new Date(ms).toISOString());
          expect(f.local(ms)).toBe(new Date(ms).toISOString().slice(0, 19));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('JSON lines export', () => {
  it('writes one JSON object per line, each exactly the entries.list row', () => {
    const site = start();
    fill(site);
    const rows = site.listAll();
    const out = exportText(site, 'jsonl');
    expect(out.endsWith('\n')).toBe(true);
    const lines = out.slice(0, -1).split('\n');
    expect(lines).toHaveLength(rows.length);
    expect(lines.map((l) => JSON.parse(l))).toEqual(rows);
    // Same keys in the same order: a line is the JSON of the list item.
    expect(lines).toEqual(rows.map((r) => JSON.stringify(r)));
  });
});

describe('filters', () => {
  it('give the rows entries.list gives for the same filter, for every kind of filter and chunk size', () => {
    const site = start();
    fill(site);
    const filters: Filter[] = [
      {},
      { lock_id: site.front.id },
      { lock_id: site.ny.id },
      { iq_id: site.iqNy.id },
      { user_id: site.bob.id },
      { tag_id: site.tags.carol.id },
      { tag_number: '0000099999' },
      { tag_number: site.tags.dan.tag_number },
      { event_category: 'lock_rejected' },
      { event_category: 'lock_rejected', event_detail: 'unknown_tag' },
      { event_detail: 'inside_handle' },
      { access_by: 'remote' },
      { from: '2026-03-10T00:00:00Z' },
      { until: '2026-03-10T00:00:00+01:00' },
      { from: '2026-03-09T00:00:00Z', until: '2026-03-09T00:00:00.001Z' },
      { from: new Date(BASE + 3 * DAY + 5 * HOUR).toISOString(), until: new Date(BASE + 4 * DAY + 1).toISOString() },
      { lock_id: site.front.id, event_category: 'lock_opened', from: '2026-03-12T00:00:00Z' },
      { user_id: site.alice.id, tag_id: site.tags.alice.id, access_by: 'tag' },
      { lock_id: 'no-such-lock' },
      { from: '2030-01-01T00:00:00Z' },
    ];
    for (const filter of filters) {
      const expected = site.listAll(filter);
      for (const chunkRows of [undefined, 1, 7]) {
        expect(jsonLines(exportText(site, 'jsonl', filter, { chunkRows })), JSON.stringify({ filter, chunkRows })).toEqual(expected);
      }
      const csv = parse(exportText(site, 'csv', filter)) as string[][];
      expect(csv.length - 1, JSON.stringify(filter)).toBe(expected.length);
    }
  });

  it('read in order from an index, never sorting or scanning the whole trail', () => {
    const site = start();
    fill(site);
    const filters: Filter[] = [
      {},
      { lock_id: site.front.id },
      { iq_id: site.iqA.id },
      { user_id: site.bob.id },
      { tag_id: site.tags.bob.id },
      { event_category: 'lock_rejected' },
      { event_category: 'lock_rejected', event_detail: 'outside_schedule' },
      { event_detail: 'inside_handle' },
      { access_by: 'remote' },
      { tag_number: '0000099999' },
      { from: '2026-03-10T00:00:00Z', until: '2026-03-20T00:00:00Z' },
      { lock_id: site.front.id, event_category: 'lock_opened' },
      { user_id: site.bob.id, lock_id: site.front.id, from: '2026-03-10T00:00:00Z' },
    ];
    for (const filter of filters) {
      const plan = explainExport(site.db.read, entryFilter(filter)).join(' | ');
      expect(plan, JSON.stringify(filter)).toMatch(/^SEARCH e USING (COVERING )?INDEX /);
      expect(plan, JSON.stringify(filter)).not.toMatch(/TEMP B-TREE|\bSCAN\b/);
    }
    expect(explainExport(site.db.read, entryFilter({ lock_id: site.front.id })).join()).toMatch(/entries_lock/);
  });
});

describe('snapshot', () => {
  it('covers the rows present when it started: rows stored while it runs are left for the next export', () => {
    const site = start();
    fill(site);
    const before = site.listAll();
    const gen = exportEntries(site.db.read, { format: 'jsonl', filter: {}, chunkRows: 5 });
    let out = '';
    for (let k = 0; k < 10; k++) out += gen.next().value as string;
    const cursor = jsonLines(out).at(-1)!;
    // New rows before the export's position, on it (same millisecond), after it, and at the very end.
    const at = Date.parse(cursor.utc_date_time);
    site.ingest('iq:a', [
      { event_id: 'late-1', time: new Date(at - DAY).toISOString(), event_category: 'lock_opened', access_by: 'tag', lock_id: site.front.id, tag_number: '0000001001' },
      { event_id: 'late-2', time: new Date(at).toISOString(), event_category: 'lock_opened', access_by: 'tag', lock_id: site.front.id, tag_number: '0000001001' },
      { event_id: 'late-3', time: new Date(at + HOUR).toISOString(), event_category: 'lock_opened', access_by: 'tag', lock_id: site.front.id, tag_number: '0000001001' },
      { event_id: 'late-4', time: '2026-03-31T23:00:00Z', event_category: 'lock_opened', access_by: 'tag', lock_id: site.front.id, tag_number: '0000001001' },
    ]);
    for (;;) {
      const n = gen.next();
      if (n.done) break;
      out += n.value;
    }
    expect(jsonLines(out)).toEqual(before);
    const after = jsonLines(exportText(site, 'jsonl'));
    expect(after).toHaveLength(before.length + 4);
    expect(after).toEqual(site.listAll());
  });

  it('takes the snapshot when called, not when the first chunk is pulled', () => {
    const site = start();
    fill(site);
    const before = site.listAll({ lock_id: site.front.id });
    const gen = exportEntries(site.db.read, { format: 'jsonl', filter: entryFilter({ lock_id: site.front.id }) });
    site.ingest('iq:a', [{ event_id: 'new', time: '2026-03-20T10:00:00Z', event_category: 'lock_opened', access_by: 'tag', lock_id: site.front.id, tag_number: '0000001001' }]);
    expect(jsonLines(text(gen))).toEqual(before);
  });
});

describe('progress', () => {
  it('starts at (0, total), never goes back, and ends at (total, total)', () => {
    const site = start();
    fill(site);
    const total = site.listAll().length;
    const calls: Array<[number, number]> = [];
    text(exportEntries(site.db.read, { format: 'csv', filter: {}, chunkRows: 10, onProgress: (d, t) => calls.push([d, t]) }));
    expect(calls.length).toBeGreaterThan(total / 10);
    expect(calls[0]).toEqual([0, total]);
    expect(calls.at(-1)).toEqual([total, total]);
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i]![1]).toBe(total);
      expect(calls[i]![0]).toBeGreaterThanOrEqual(calls[i - 1]![0]);
    }
  });

  it('counts the rows of the filter only', () => {
    const site = start();
    fill(site);
    const calls: Array<[number, number]> = [];
    text(exportEntries(site.db.read, { format: 'jsonl', filter: entryFilter({ user_id: site.carol.id }), onProgress: (d, t) => calls.push([d, t]) }));
    const n = site.listAll({ user_id: site.carol.id }).length;
    expect(calls.at(-1)).toEqual([n, n]);
  });
});

describe('an empty result', () => {
  const header = `${EXPORT_COLUMNS.join(',')}\n`;

  it('is just the header in CSV and nothing in JSON lines, with progress (0, 0)', () => {
    const site = start();
    fill(site);
    const filters: Filter[] = [{ lock_id: 'nope' }, { until: '2020-01-01T00:00:00Z' }, { event_category: 'privacy_mode' }, { user_id: site.dan.id, lock_id: site.shed.id, access_by: 'remote', event_detail: 'offline' }];
    for (const filter of filters) {
      const calls: Array<[number, number]> = [];
      expect(text(exportEntries(site.db.read, { format: 'csv', filter: entryFilter(filter), onProgress: (d, t) => calls.push([d, t]) })), JSON.stringify(filter)).toBe(header);
      expect(calls, JSON.stringify(filter)).toEqual([[0, 0]]);
      expect(exportText(site, 'jsonl', filter), JSON.stringify(filter)).toBe('');
    }
  });

  it('of an empty trail too', () => {
    const site = start();
    const calls: Array<[number, number]> = [];
    expect(text(exportEntries(site.db.read, { format: 'csv', filter: {}, onProgress: (d, t) => calls.push([d, t]) }))).toBe(header);
    expect(exportText(site, 'jsonl')).toBe('');
    expect(calls).toEqual([[0, 0]]);
  });
});

describe('rows that do not pack', () => {
  it('are read again on their own and come out as entries.list shows them', () => {
    const site = start();
    fill(site);
    // Rows ingest never writes, but older data or a repaired database could hold: a huge reference,
    // an unusual offset, no device time, a category or detail from outside today's vocabulary.
    site.db.transaction((w) => {
      w.prepare("INSERT INTO audit_refs (ref, kind, id, aux) VALUES (?, 'lock', 'big-lock', NULL), (?, 'user', 'big-user', 'P-1')").run(2 ** 27, 2 ** 27 + 1);
      const insert = w.prepare(`INSERT INTO entries (seq, utc_ms, utc_offset_min, device_ms, received_ms, event_category, event_detail, access_by, lock_ref, lock_name,
        iq_ref, user_ref, user_name, tag_ref, tag_number, source_ref, source_event_id, personal_salt, personal_digest, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL, NULL, (SELECT ref FROM audit_refs WHERE kind = 'source' LIMIT 1), ?, NULL, x'00', x'00')`);
      const seq = (w.prepare('SELECT max(seq) AS s FROM entries').get() as { s: number }).s;
      const t = Date.parse('2026-03-15T12:00:00.123Z');
      insert.run(seq + 1, t, 60, t, t + 5, 'lock_opened', null, 'tag', 2 ** 27, 'Big, lock', 2 ** 27 + 1, 'Big "user"', 'raw-1');
      insert.run(seq + 2, t, 3000, null, t + 5, 'lock_opened', null, 'tag', null, null, null, null, 'raw-2');
      insert.run(seq + 3, t + 1, 0, t + 1, t + 5, 'legacy_event', 'odd_detail', 'carrier_pigeon', null, null, null, null, 'raw-3');
    });
    const rows = site.listAll();
    expect(rows.filter((r) => r.source_event_id.startsWith('raw-'))).toHaveLength(3);
    expect(jsonLines(exportText(site, 'jsonl'))).toEqual(rows);
    expect(exportText(site, 'csv', {}, { chunkRows: 3 })).toBe(stringify([[...EXPORT_COLUMNS], ...rows.map(csvRecord)]));
  });
});
