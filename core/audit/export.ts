// Streaming export of the audit trail (CSV or JSON lines), oldest first.
//
// - A snapshot: the export covers the rows present when exportEntries() is called (seq at most the
//   highest seq then); rows stored while it runs are left for the next export.
// - Never one long-running statement: rows are read in keyset chunks (utc_ms, seq) with `.all()`, so the
//   connection is free between chunks (on the server it is the writer's connection too).
// - Linear however large the trail: chunks are read one UTC day at a time. Within a day every filter has
//   a plan that delivers rows already in (utc_ms, seq) order (the time index, or a day-led lock, person,
//   tag or IQ index), so no chunk sorts more than one day's rows. A category filter without a detail
//   is kept off the category index, whose order (category, detail, utc_ms) would need a sort.
// - Flat memory: one chunk of rows and its text at a time, plus small caches of reference ids.
// - Fast: no joins (ids come from a per-export cache of audit_refs), rows as arrays, and text built by
//   hand: CSV quoted exactly as csv-stringify quotes (delimiter, quote, CR or LF → quoted, quotes
//   doubled), JSON lines identical to JSON.stringify of the entries.list row, timestamps formatted
//   from a per-day cache. export.test.ts checks all three against the slow paths.
import { stmt, type ReadDb } from '../store/db.ts';
import { filterConditions, type EntryFilter } from './query.ts';

export const EXPORT_COLUMNS = [
  'id',
  'utc_date_time',
  'local_date_time',
  'event_category',
  'event_detail',
  'access_by',
  'lock_id',
  'lock_customer_reference',
  'iq_id',
  'user_id',
  'platform_user_id',
  'user_name',
  'tag_id',
  'tag_number',
  'device_date_time',
  'received_date_time',
  'source',
  'source_event_id',
] as const;

export interface ExportOptions {
  format: 'csv' | 'jsonl';
  filter: EntryFilter;
  /** Called with (0, total) first, after each chunk, and (total, total) at the end (when no row vanished meanwhile). */
  onProgress?: (done: number, total: number) => void;
  /** Rows per chunk of text (default 256, about 100 kB of CSV). */
  chunkRows?: number;
}

const DAY_MS = 86_400_000;
/**
 * Small chunks are faster: the rows and text of a chunk die young (a 10,000-row chunk survives into the
 * old generation and the export spends more time collecting garbage than working).
 */
const DEFAULT_CHUNK_ROWS = 256;

// Each column read costs about as much as formatting it (better-sqlite3 builds rows value by value), so
// small numbers travel packed: device and receive times as differences from utc_ms, two references
// per number (below 2^26 each; ref 0 stands for none) and the source with the UTC offset. A row whose
// values do not fit (never in practice) reads -1 and is looked up on its own.
const PAIR = 2 ** 26;
const OFFSET_BIAS = 2048;
const pair = (a: string, b: string) =>
  `CASE WHEN coalesce(${a}, 0) BETWEEN 0 AND ${PAIR - 1} AND coalesce(${b}, 0) BETWEEN 0 AND ${PAIR - 1} THEN coalesce(${a}, 0) * ${PAIR} + coalesce(${b}, 0) ELSE -1 END`;
const COLUMNS = `e.seq, e.utc_ms, e.device_ms - e.utc_ms, e.received_ms - e.utc_ms, ${pair('e.lock_ref', 'e.iq_ref')}, ${pair('e.user_ref', 'e.tag_ref')},
  CASE WHEN e.source_ref BETWEEN 0 AND ${2 ** 40} AND e.utc_offset_min BETWEEN ${-OFFSET_BIAS} AND ${OFFSET_BIAS - 1}
    THEN e.source_ref * ${2 * OFFSET_BIAS} + e.utc_offset_min + ${OFFSET_BIAS} ELSE -1 END,
  e.event_category, e.event_detail, e.access_by, e.lock_name, e.user_name, e.tag_number, e.source_event_id`;

/** A row as read: the columns of COLUMNS, in order. */
type RawRow = [
  seq: number,
  utc_ms: number,
  device_minus_utc: number | null,
  received_minus_utc: number,
  lock_iq: number,
  user_tag: number,
  source_offset: number,
  event_category: string,
  event_detail: string | null,
  access_by: string | null,
  lock_name: string | null,
  user_name: string | null,
  tag_number: string | null,
  source_event_id: string,
];

/** Formatted values cached per export are dropped beyond this many (memory stays bounded). */
const MAX_CACHED = 100_000;

/**
 * The entries of a filter as text chunks: CSV (a header line, then one line per entry) or JSON lines.
 * The filter is checked, the snapshot taken and the total counted when this is called; nothing else
 * is read until the first chunk is pulled.
 */
export function exportEntries(db: ReadDb, opts: ExportOptions): Generator<string> {
  const chunkRows = Math.max(1, Math.floor(opts.chunkRows ?? DEFAULT_CHUNK_ROWS));
  const style = opts.format === 'csv' ? CSV : JSON_LINES;
  const cond = filterConditions(db, opts.filter);
  if (!cond) return emptyExport(style.header, opts.onProgress);

  const f = opts.filter;
  const top = stmt(db, 'SELECT max(seq) AS seq, min(utc_ms) AS lo, max(utc_ms) AS hi FROM entries').get() as { seq: number | null; lo: number | null; hi: number | null };
  if (top.seq === null || top.lo === null || top.hi === null) return emptyExport(style.header, opts.onProgress);

  // A category alone must not lead to the category index (ordered by detail first: a sort per chunk).
  const where = cond.sql.map((c) => (c === 'e.event_category = ?' && f.event_detail === undefined ? '+e.event_category = ?' : c));
  where.push('e.seq <= ?');
  const params = [...cond.params, top.seq];
  const total = (stmt(db, `SELECT count(*) AS n FROM entries e WHERE ${where.join(' AND ')}`).get(...params) as { n: number }).n;
  if (total === 0) return emptyExport(style.header, opts.onProgress);

  // Day-led reference indexes are usable only with the day given; days are whole UTC days of utc_ms.
  const byRef = f.lock_id !== undefined || f.user_id !== undefined || f.tag_id !== undefined || f.iq_id !== undefined;
  const withDay = byRef && top.lo >= 0 && hasDayColumn(db);
  const firstDay = Math.floor(Math.max(top.lo, f.from ?? -Infinity) / DAY_MS);
  const lastDay = Math.floor(Math.min(top.hi, f.until !== undefined ? f.until - 1 : Infinity) / DAY_MS);
  const q = stmt(
    db,
    `SELECT ${COLUMNS} FROM entries e
     WHERE ${where.join(' AND ')} AND e.utc_ms >= ? AND e.utc_ms < ?${withDay ? ' AND e.day = ?' : ''} AND (e.utc_ms, e.seq) > (?, ?)
     ORDER BY e.utc_ms, e.seq LIMIT ?`,
  );
  const format = lineWriter(db, style);

  function* chunks(): Generator<string> {
    if (style.header) yield style.header;
    opts.onProgress?.(0, total);
    let done = 0;
    let text = '';
    let pending = 0;
    for (let day = firstDay; day <= lastDay; day++) {
      const lo = day * DAY_MS;
      const dayParams = withDay ? [...params, lo, lo + DAY_MS, day] : [...params, lo, lo + DAY_MS];
      let afterMs = lo - 1;
      let afterSeq = 0;
      for (;;) {
        const want = chunkRows - pending;
        const batch = q.raw(true).all(...dayParams, afterMs, afterSeq, want) as RawRow[];
        if (batch.length) {
          text += format(batch);
          pending += batch.length;
          const last = batch[batch.length - 1]!;
          afterMs = last[1];
          afterSeq = last[0];
        }
        if (pending >= chunkRows) {
          done += pending;
          const out = text;
          text = '';
          pending = 0;
          yield out;
          opts.onProgress?.(done, total);
        }
        if (batch.length < want) break;
      }
    }
    if (pending) {
      done += pending;
      yield text;
    }
    opts.onProgress?.(done, total);
  }
  return chunks();
}

function* emptyExport(header: string | null, onProgress?: (done: number, total: number) => void): Generator<string> {
  if (header) yield header;
  onProgress?.(0, 0);
}

function hasDayColumn(db: ReadDb): boolean {
  return (db.pragma('table_xinfo(entries)') as Array<{ name: string }>).some((c) => c.name === 'day');
}

// ── Text ───────────────────────────────────────────────────────────────────────────────────────────

const NEEDS_QUOTES = /[",\r\n]/;

/** A CSV field as csv-stringify writes it (null → empty). */
export function csvField(s: string | null): string {
  if (s === null) return '';
  return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const jsonField = (s: string | null): string => (s === null ? 'null' : JSON.stringify(s));

interface Ref {
  id: string | null;
  aux: string | null;
}

/** How each format writes neighbouring columns (formatted once per distinct value, then cached). */
interface Style {
  header: string | null;
  /** event_category, event_detail, access_by */
  words(category: string, detail: string | null, accessBy: string | null): string;
  /** lock_id, lock_customer_reference, iq_id */
  lock(lock: Ref | null, name: string | null, iq: Ref | null): string;
  /** user_id, platform_user_id, user_name, tag_id, tag_number */
  person(user: Ref | null, name: string | null, tag: Ref | null, tagNumber: string | null): string;
  /** source */
  source(source: Ref | null): string;
  line(seq: number, utc: string, local: string, device: string | null, received: string, words: string, lock: string, person: string, source: string, sourceEventId: string): string;
}

const CSV: Style = {
  header: `${EXPORT_COLUMNS.join(',')}\n`,
  words: (c, d, a) => `${csvField(c)},${csvField(d)},${csvField(a)}`,
  lock: (l, name, iq) => `${csvField(l?.id ?? null)},${csvField(name)},${csvField(iq?.id ?? null)}`,
  person: (u, name, t, num) => `${csvField(u?.id ?? null)},${csvField(u?.aux ?? null)},${csvField(name)},${csvField(t?.id ?? null)},${csvField(num)}`,
  source: (s) => csvField(s?.id ?? null),
  line: (seq, utc, local, device, received, words, lock, person, source, sid) =>
    `${seq},${utc},${local},${words},${lock},${person},${device ?? ''},${received},${source},${csvField(sid)}\n`,
};

// Keys in the order of query.ts's EntryRow, so a line is JSON.stringify of the entries.list item.
const JSON_LINES: Style = {
  header: null,
  words: (c, d, a) => `"event_category":${jsonField(c)},"event_detail":${jsonField(d)},"access_by":${jsonField(a)}`,
  lock: (l, name, iq) => `"lock_id":${jsonField(l?.id ?? null)},"lock_customer_reference":${jsonField(name)},"iq_id":${jsonField(iq?.id ?? null)}`,
  person: (u, name, t, num) =>
    `"user_id":${jsonField(u?.id ?? null)},"platform_user_id":${jsonField(u?.aux ?? null)},"user_name":${jsonField(name)},"tag_id":${jsonField(t?.id ?? null)},"tag_number":${jsonField(num)}`,
  source: (s) => jsonField(s?.id ?? null),
  line: (seq, utc, local, device, received, words, lock, person, source, sid) =>
    `{"id":"${seq}",${words},"utc_date_time":"${utc}","local_date_time":"${local}","device_date_time":${device === null ? 'null' : `"${device}"`},"received_date_time":"${received}",${lock},${person},"source":${source},"source_event_id":${jsonField(sid)}}\n`,
};

/** Turns chunks of rows into text. Values that repeat from row to row are formatted once. */
function lineWriter(db: ReadDb, style: Style): (rows: RawRow[]) => string {
  const refs = new Map<number, Ref>();
  const refQuery = stmt(db, 'SELECT id, aux FROM audit_refs WHERE ref = ?');
  const ref = (r: number | null): Ref | null => {
    if (r === null || r === 0) return null;
    let v = refs.get(r);
    if (v === undefined) {
      const row = refQuery.get(r) as Ref | undefined;
      v = { id: row?.id ?? null, aux: row?.aux ?? null };
      if (refs.size >= MAX_CACHED) refs.clear();
      refs.set(r, v);
    }
    return v;
  };
  const unpacked = stmt(db, 'SELECT lock_ref, iq_ref, user_ref, tag_ref, source_ref, utc_offset_min FROM entries WHERE seq = ?');

  const words = new Map<string, Map<string | null, Map<string | null, string>>>();
  let wordCount = 0;
  const wordsText = (c: string, d: string | null, a: string | null): string => {
    let byDetail = words.get(c);
    if (byDetail === undefined) words.set(c, (byDetail = new Map()));
    let byAccess = byDetail.get(d);
    if (byAccess === undefined) byDetail.set(d, (byAccess = new Map()));
    let v = byAccess.get(a);
    if (v === undefined) {
      v = style.words(c, d, a);
      if (++wordCount > MAX_CACHED) {
        words.clear();
        wordCount = 0;
      } else byAccess.set(a, v);
    }
    return v;
  };
  const locks = new Map<number, { name: string | null; out: string }>();
  const lockText = (packed: number, name: string | null): string => {
    const e = locks.get(packed);
    if (e !== undefined && e.name === name) return e.out;
    const lock = Math.floor(packed / PAIR);
    const out = style.lock(ref(lock), name, ref(packed - lock * PAIR));
    if (locks.size >= MAX_CACHED) locks.clear();
    locks.set(packed, { name, out });
    return out;
  };
  const people = new Map<number, { name: string | null; num: string | null; out: string }>();
  const personText = (packed: number, name: string | null, num: string | null): string => {
    const e = people.get(packed);
    if (e !== undefined && e.name === name && e.num === num) return e.out;
    const user = Math.floor(packed / PAIR);
    const out = style.person(ref(user), name, ref(packed - user * PAIR), num);
    if (people.size >= MAX_CACHED) people.clear();
    people.set(packed, { name, out, num });
    return out;
  };
  const sources = new Map<number, string>();
  const sourceText = (r: number): string => {
    let v = sources.get(r);
    if (v === undefined) {
      v = style.source(ref(r));
      if (sources.size >= MAX_CACHED) sources.clear();
      sources.set(r, v);
    }
    return v;
  };

  const utc = isoFormatter();
  const local = isoFormatter();
  const device = isoFormatter();
  const received = isoFormatter();
  return (rows) => {
    let out = '';
    for (const r of rows) {
      const ms = r[1];
      const u = utc.utc(ms);
      const dev = r[2] === null ? null : r[2] === 0 ? u : device.utc(ms + r[2]);
      let lock: string;
      let person: string;
      let source: string;
      let offset: number;
      if (r[4] >= 0 && r[5] >= 0 && r[6] >= 0) {
        lock = lockText(r[4], r[10]);
        person = personText(r[5], r[11], r[12]);
        const s = Math.floor(r[6] / (2 * OFFSET_BIAS));
        source = sourceText(s);
        offset = r[6] - s * 2 * OFFSET_BIAS - OFFSET_BIAS;
      } else {
        const x = unpacked.get(r[0]) as { lock_ref: number | null; iq_ref: number | null; user_ref: number | null; tag_ref: number | null; source_ref: number; utc_offset_min: number };
        lock = style.lock(ref(x.lock_ref), r[10], ref(x.iq_ref));
        person = style.person(ref(x.user_ref), r[11], ref(x.tag_ref), r[12]);
        source = style.source(ref(x.source_ref));
        offset = x.utc_offset_min;
      }
      out += style.line(r[0], u, local.local(ms + offset * 60_000), dev, received.utc(ms + r[3]), wordsText(r[7], r[8], r[9]), lock, person, source, r[13]);
    }
    return out;
  };
}

// ── Timestamps ─────────────────────────────────────────────────────────────────────────────────────

const HOUR_MS = 3_600_000;
const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** "YYYY-MM-DDTHH:" of recent hours, direct-mapped by hour; '' for years Date writes as ±YYYYYY. */
const HOUR_SLOTS = 256;
const hourKeys = new Float64Array(HOUR_SLOTS).fill(NaN);
const hourPrefixes = new Array<string>(HOUR_SLOTS).fill('');

function hourPrefix(hour: number): string {
  const slot = hour & (HOUR_SLOTS - 1);
  if (hourKeys[slot] === hour) return hourPrefixes[slot]!;
  const iso = new Date(hour * HOUR_MS).toISOString();
  const prefix = iso.length === 24 ? iso.slice(0, 14) : '';
  hourKeys[slot] = hour;
  hourPrefixes[slot] = prefix;
  return prefix;
}

export interface IsoFormatter {
  /** As Date#toISOString: "2026-03-02T09:00:00.000Z". */
  utc(ms: number): string;
  /** Wall-clock ms as the local column shows it: "2026-03-02T10:00:00" (toISOString without ms and Z). */
  local(wallMs: number): string;
}

/**
 * Formats timestamps exactly as query.ts's toEntryRow does (Date#toISOString), several times faster:
 * "YYYY-MM-DDTHH:" is built once per hour, minutes, seconds and milliseconds come from lookup tables,
 * and a value equal to the previous one (a batch's receive time) is returned as is. Years outside
 * 0000–9999 go the slow way.
 */
export function isoFormatter(): IsoFormatter {
  let lastMs = NaN;
  let lastUtc = '';
  let lastWall = NaN;
  let lastLocal = '';
  return {
    utc(ms: number): string {
      if (ms === lastMs) return lastUtc;
      lastMs = ms;
      const h = Math.floor(ms / HOUR_MS);
      const prefix = hourPrefix(h);
      if (prefix === '') return (lastUtc = new Date(ms).toISOString());
      const t = ms - h * HOUR_MS;
      const s = Math.floor(t / 1000);
      return (lastUtc = `${prefix}${PAD2[Math.floor(s / 60)]}:${PAD2[s % 60]}.${PAD3[t - s * 1000]}Z`);
    },
    local(wallMs: number): string {
      if (wallMs === lastWall) return lastLocal;
      lastWall = wallMs;
      const h = Math.floor(wallMs / HOUR_MS);
      const prefix = hourPrefix(h);
      if (prefix === '') return (lastLocal = new Date(wallMs).toISOString().slice(0, 19));
      const s = Math.floor((wallMs - h * HOUR_MS) / 1000);
      return (lastLocal = `${prefix}${PAD2[Math.floor(s / 60)]}:${PAD2[s % 60]}`);
    },
  };
}
