// Streaming export of the audit trail (CSV or JSON lines), oldest first.
//
// - A snapshot: the export covers the rows present when exportEntries() is called (seq at most the
//   highest seq then); rows stored while it runs are left for the next export. (Rows that retention
//   deletes meanwhile are left out too; the CLI reads in one read transaction, a strict snapshot.)
// - Never one long-running statement: rows are read in keyset chunks (utc_ms, seq) with `.all()`, so the
//   connection is free between chunks (on the server it is the writer's connection too), and each chunk
//   is turned into text before anything is yielded.
// - Linear however large the trail: chunks are read one UTC day at a time. Within a day every filter has
//   a plan that delivers rows already in (utc_ms, seq) order (the time index, or a day-led lock, person,
//   tag or IQ index), so no chunk sorts more than one day's rows. A category filter without a detail
//   is kept off the category index, whose order (category, detail, utc_ms) would need a sort.
// - Flat memory: one chunk of rows and its text at a time, plus small caches of reference ids.
// - Fast (bench/audit-export.bench.ts): no joins (ids come from a per-export cache of audit_refs), few
//   columns (small values packed into numbers), and text built by hand from cached pieces: CSV quoted
//   exactly as csv-stringify quotes (delimiter, quote, CR or LF → quoted, quotes doubled), JSON lines
//   identical to JSON.stringify of the entries.list row, timestamps as Date#toISOString writes them.
//   export.test.ts checks all three against those slow paths.
import { stmt, type ReadDb } from '../store/db.ts';
import { ACCESS_BY, ENTRY_CATEGORIES, ENTRY_DETAILS } from '../domain/audit.ts';
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
  /** Rows per chunk of text (default 128, about 50 kB of CSV). */
  chunkRows?: number;
}

/**
 * Page cache (KiB) for a connection opened only to export (the CLI): one pass over the trail gains
 * nothing from the server's larger cache, and the process stays small.
 */
export const EXPORT_PAGE_CACHE_KIB = 2048;

const DAY_MS = 86_400_000;
/**
 * Rows per query and rows per chunk of text, as measured (bench/audit-export.bench.ts). A query per 512
 * rows keeps the per-query cost small; bigger reads survive into the old generation and cost more in
 * garbage collection and memory. Chunks of 128 rows (≈50 kB of CSV) stay small enough for a writer to
 * flatten and encode them without touching V8's large-object space (which only a full collection empties).
 */
const READ_ROWS = 512;
const DEFAULT_CHUNK_ROWS = 128;

// seq comes as text: it is printed as is, and numbers turned into text in JS go through V8's number-string
// cache, which keeps every one alive long enough to reach the old generation (15 MB of garbage per
// million rows, collected late).
//
// Each column read costs about as much as formatting it (better-sqlite3 builds rows value by value), so
// the common case travels packed: the receive time as a difference from utc_ms (when the device time
// equals utc_ms), two references per number (1 to 2^26 - 1 each; 0 for none), the source with the UTC
// offset, and category, detail and access_by as one code. A row that does not fit (a corrected device
// clock, an unknown word, a huge reference) reads a marker (null, -1 or an UNKNOWN code) and is then
// read again on its own, unpacked.
const PAIR = 2 ** 26;
const OFFSET_BIAS = 2048;
const WORD_BITS = 6;
const UNKNOWN = 2 ** WORD_BITS - 1;
const WORD_LISTS = [ENTRY_CATEGORIES, ENTRY_DETAILS, ACCESS_BY] as const;
const sqlText = (v: string) => `'${v.replaceAll("'", "''")}'`;
const wordCode = (col: string, words: readonly string[]) =>
  `CASE WHEN ${col} IS NULL THEN 0 ELSE CASE ${col} ${words.map((w, i) => `WHEN ${sqlText(w)} THEN ${i + 1}`).join(' ')} ELSE ${UNKNOWN} END END`;
const packable = (ref: string) => `(${ref} IS NULL OR ${ref} BETWEEN 1 AND ${PAIR - 1})`;
const pair = (a: string, b: string) => `CASE WHEN ${packable(a)} AND ${packable(b)} THEN coalesce(${a}, 0) * ${PAIR} + coalesce(${b}, 0) ELSE -1 END`;
const COLUMNS = `CAST(e.seq AS TEXT), e.utc_ms, CASE WHEN e.device_ms = e.utc_ms THEN e.received_ms - e.utc_ms END,
  ${pair('e.lock_ref', 'e.iq_ref')}, ${pair('e.user_ref', 'e.tag_ref')},
  CASE WHEN e.source_ref BETWEEN 1 AND ${2 ** 40} AND e.utc_offset_min BETWEEN ${-OFFSET_BIAS} AND ${OFFSET_BIAS - 1}
    THEN e.source_ref * ${2 * OFFSET_BIAS} + e.utc_offset_min + ${OFFSET_BIAS} ELSE -1 END,
  (${wordCode('e.event_category', ENTRY_CATEGORIES)}) * ${2 ** (2 * WORD_BITS)} + (${wordCode('e.event_detail', ENTRY_DETAILS)}) * ${2 ** WORD_BITS}
    + (${wordCode('e.access_by', ACCESS_BY)}),
  e.lock_name, e.user_name, e.tag_number, e.source_event_id`;

/** A row as read: the columns of COLUMNS, in order. */
type RawRow = [
  seq: string,
  utc_ms: number,
  received_minus_utc: number | null,
  lock_iq: number,
  user_tag: number,
  source_offset: number,
  words: number,
  lock_name: string | null,
  user_name: string | null,
  tag_number: string | null,
  source_event_id: string,
];

/** The same row unpacked (the slow way, for rows that do not pack). */
interface UnpackedRow {
  utc_offset_min: number;
  device_ms: number | null;
  received_ms: number;
  event_category: string;
  event_detail: string | null;
  access_by: string | null;
  lock_ref: number | null;
  iq_ref: number | null;
  user_ref: number | null;
  tag_ref: number | null;
  source_ref: number;
}
const UNPACKED = 'SELECT utc_offset_min, device_ms, received_ms, event_category, event_detail, access_by, lock_ref, iq_ref, user_ref, tag_ref, source_ref FROM entries WHERE seq = ?';

/** Formatted values cached per export are dropped beyond this many (memory stays bounded). */
const MAX_CACHED = 100_000;

/** How an export reads: the chunk query, its parameters and the UTC days to walk. */
interface ExportPlan {
  sql: string;
  /** Parameters before the per-day ones (filter, snapshot bound). */
  params: unknown[];
  /** Whether the query takes the day (day-led reference indexes). */
  withDay: boolean;
  firstDay: number;
  lastDay: number;
  maxSeq: number;
  total: number;
}

/** The plan of an export, or null when nothing matches. Takes the snapshot and counts. */
function planExport(db: ReadDb, f: EntryFilter): ExportPlan | null {
  const cond = filterConditions(db, f);
  if (!cond) return null;
  // One aggregate per subquery: each is then a single index probe (together they would scan the table).
  const top = stmt(db, 'SELECT (SELECT max(seq) FROM entries) AS seq, (SELECT min(utc_ms) FROM entries) AS lo, (SELECT max(utc_ms) FROM entries) AS hi').get() as {
    seq: number | null;
    lo: number | null;
    hi: number | null;
  };
  if (top.seq === null || top.lo === null || top.hi === null) return null;
  // `+e.seq`: the snapshot bound must never lead to a walk of the table by rowid.
  const params = [...cond.params, top.seq];
  const total = (stmt(db, `SELECT count(*) AS n FROM entries e WHERE ${[...cond.sql, '+e.seq <= ?'].join(' AND ')}`).get(...params) as { n: number }).n;
  // A category alone must not lead to the category index (ordered by detail first: a sort per chunk).
  const where = cond.sql.map((c) => (c === 'e.event_category = ?' && f.event_detail === undefined ? '+e.event_category = ?' : c));
  where.push('+e.seq <= ?');
  // The lock, person, tag and IQ indexes lead with the UTC day: usable only with the day given.
  const byRef = f.lock_id !== undefined || f.user_id !== undefined || f.tag_id !== undefined || f.iq_id !== undefined;
  const withDay = byRef && top.lo >= 0 && hasUtcDayColumn(db);
  return {
    // The cursor alone bounds each walk from below: with a separate `utc_ms >= day start` as well,
    // SQLite starts every chunk's walk at the start of the day.
    sql: `SELECT ${COLUMNS} FROM entries e
     WHERE ${where.join(' AND ')} AND e.utc_ms < ?${withDay ? ' AND e.day = ?' : ''} AND (e.utc_ms, e.seq) > (?, ?)
     ORDER BY e.utc_ms, e.seq LIMIT ?`,
    params,
    withDay,
    firstDay: Math.floor(Math.max(top.lo, f.from ?? -Infinity) / DAY_MS),
    lastDay: Math.floor(Math.min(top.hi, f.until !== undefined ? f.until - 1 : Infinity) / DAY_MS),
    maxSeq: top.seq,
    total,
  };
}

/** entries.day, when the schema has it as the UTC day of utc_ms (what the day walk assumes). */
function hasUtcDayColumn(db: ReadDb): boolean {
  const sql = (stmt(db, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'entries'").get() as { sql: string } | undefined)?.sql ?? '';
  return /\bday\s+INTEGER\s+GENERATED\s+ALWAYS\s+AS\s*\(\s*utc_ms\s*\/\s*86400000\s*\)/i.test(sql);
}

/** The query plan of an export's chunk query, one line per step (tests and diagnostics). */
export function explainExport(db: ReadDb, filter: EntryFilter): string[] {
  const plan = planExport(db, filter);
  if (!plan) return [];
  const day = plan.firstDay;
  const args = [...plan.params, (day + 1) * DAY_MS, ...(plan.withDay ? [day] : []), day * DAY_MS - 1, plan.maxSeq, READ_ROWS];
  return (db.prepare(`EXPLAIN QUERY PLAN ${plan.sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail);
}

/**
 * The entries of a filter as text chunks: CSV (a header line, then one line per entry) or JSON lines.
 * The filter is checked, the snapshot taken and the total counted when this is called; nothing else
 * is read until the first chunk is pulled.
 */
export function exportEntries(db: ReadDb, opts: ExportOptions): Generator<string> {
  const chunkRows = Math.max(1, Math.floor(opts.chunkRows ?? DEFAULT_CHUNK_ROWS));
  const style = opts.format === 'csv' ? CSV : JSON_LINES;
  const plan = planExport(db, opts.filter);
  if (!plan || plan.total === 0) return emptyExport(style.header, opts.onProgress);
  const { params, withDay, firstDay, lastDay, maxSeq, total } = plan;
  const q = stmt(db, plan.sql);
  const format = lineWriter(db, style);

  function* chunks(): Generator<string> {
    if (style.header) yield style.header;
    opts.onProgress?.(0, total);
    let done = 0;
    let text = '';
    let pending = 0;
    for (let day = firstDay; day <= lastDay; day++) {
      const lo = day * DAY_MS;
      const dayParams = withDay ? [...params, lo + DAY_MS, day] : [...params, lo + DAY_MS];
      // (lo - 1, maxSeq) admits nothing before lo.
      let afterMs = lo - 1;
      let afterSeq = maxSeq;
      for (;;) {
        const batch = q.raw(true).all(...dayParams, afterMs, afterSeq, READ_ROWS) as RawRow[];
        // The whole batch becomes text now: a row cannot change or go while we wait to be pulled.
        const ready: string[] = [];
        for (let i = 0; i < batch.length; ) {
          const n = Math.min(batch.length - i, chunkRows - pending);
          text += format(batch, i, i + n);
          pending += n;
          i += n;
          if (pending === chunkRows) {
            ready.push(text);
            text = '';
            pending = 0;
          }
        }
        for (const out of ready) {
          done += chunkRows;
          yield out;
          opts.onProgress?.(done, total);
        }
        if (batch.length < READ_ROWS) break;
        const last = batch[batch.length - 1]!;
        afterMs = last[1];
        afterSeq = Number(last[0]);
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

// ── Text ───────────────────────────────────────────────────────────────────────────────────────────

const NEEDS_QUOTES = /[",\r\n]/;

/** A CSV field as csv-stringify writes it (null → empty). */
export function csvField(s: string | null): string {
  if (s === null) return '';
  return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const jsonField = (s: string | null): string => (s === null ? 'null' : JSON.stringify(s));

/**
 * A string made of pieces, stored as one piece (V8 flattens a concatenation when its characters are
 * read). Cached texts are flattened once: a line that includes them then joins one piece instead of
 * ten, which is what makes writing the chunks out cheap (flattening a chunk costs per piece).
 */
function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}

interface Ref {
  id: string | null;
  aux: string | null;
}

/**
 * How each format writes neighbouring columns (formatted once per distinct value, then cached). The
 * cached pieces carry the punctuation around them, so a line joins as few pieces as possible.
 */
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
  line(seq: string, utc: string, local: string, device: string | null, received: string, words: string, lock: string, person: string, source: string, sourceEventId: string): string;
}

const CSV: Style = {
  header: `${EXPORT_COLUMNS.join(',')}\n`,
  words: (c, d, a) => `${csvField(c)},${csvField(d)},${csvField(a)},`,
  lock: (l, name, iq) => `${csvField(l?.id ?? null)},${csvField(name)},${csvField(iq?.id ?? null)},`,
  person: (u, name, t, num) => `${csvField(u?.id ?? null)},${csvField(u?.aux ?? null)},${csvField(name)},${csvField(t?.id ?? null)},${csvField(num)},`,
  source: (s) => `${csvField(s?.id ?? null)},`,
  line: (seq, utc, local, device, received, words, lock, person, source, sid) => `${seq},${utc},${local},${words}${lock}${person}${device ?? ''},${received},${source}${csvField(sid)}\n`,
};

// Keys in the order of query.ts's EntryRow, so a line is JSON.stringify of the entries.list item.
const JSON_LINES: Style = {
  header: null,
  words: (c, d, a) => `"event_category":${jsonField(c)},"event_detail":${jsonField(d)},"access_by":${jsonField(a)},"utc_date_time":"`,
  lock: (l, name, iq) => `","lock_id":${jsonField(l?.id ?? null)},"lock_customer_reference":${jsonField(name)},"iq_id":${jsonField(iq?.id ?? null)},`,
  person: (u, name, t, num) =>
    `"user_id":${jsonField(u?.id ?? null)},"platform_user_id":${jsonField(u?.aux ?? null)},"user_name":${jsonField(name)},"tag_id":${jsonField(t?.id ?? null)},"tag_number":${jsonField(num)},"source":`,
  source: (s) => `${jsonField(s?.id ?? null)},"source_event_id":`,
  line: (seq, utc, local, device, received, words, lock, person, source, sid) =>
    `{"id":"${seq}",${words}${utc}","local_date_time":"${local}","device_date_time":${device === null ? 'null' : `"${device}"`},"received_date_time":"${received}${lock}${person}${source}${jsonField(sid)}}\n`,
};

/** Turns chunks of rows into text. Values that repeat from row to row are formatted once. */
function lineWriter(db: ReadDb, style: Style): (rows: RawRow[], from: number, to: number) => string {
  const refs = new Map<number, Ref>();
  const refQuery = stmt(db, 'SELECT id, aux FROM audit_refs WHERE ref = ?');
  const ref = (r: number | null): Ref | null => {
    if (r === null) return null;
    let v = refs.get(r);
    if (v === undefined) {
      const row = refQuery.get(r) as Ref | undefined;
      v = { id: row?.id ?? null, aux: row?.aux ?? null };
      if (refs.size >= MAX_CACHED) refs.clear();
      refs.set(r, v);
    }
    return v;
  };
  const unpacked = stmt(db, UNPACKED);

  const words = new Map<number, string | null>();
  const wordsText = (code: number): string | null => {
    let v = words.get(code);
    if (v === undefined) {
      const c = Math.floor(code / 2 ** (2 * WORD_BITS));
      const d = Math.floor(code / 2 ** WORD_BITS) % 2 ** WORD_BITS;
      const a = code % 2 ** WORD_BITS;
      v = c === 0 || c === UNKNOWN || d === UNKNOWN || a === UNKNOWN ? null : flat(style.words(WORD_LISTS[0][c - 1]!, d ? WORD_LISTS[1][d - 1]! : null, a ? WORD_LISTS[2][a - 1]! : null));
      words.set(code, v);
    }
    return v;
  };
  const locks = new Map<number, { name: string | null; out: string }>();
  const lockText = (packed: number, name: string | null): string => {
    const e = locks.get(packed);
    if (e !== undefined && e.name === name) return e.out;
    const lock = Math.floor(packed / PAIR);
    const iq = packed - lock * PAIR;
    const out = flat(style.lock(ref(lock || null), name, ref(iq || null)));
    if (locks.size >= MAX_CACHED) locks.clear();
    locks.set(packed, { name, out });
    return out;
  };
  const people = new Map<number, { name: string | null; num: string | null; out: string }>();
  const personText = (packed: number, name: string | null, num: string | null): string => {
    const e = people.get(packed);
    if (e !== undefined && e.name === name && e.num === num) return e.out;
    const user = Math.floor(packed / PAIR);
    const tag = packed - user * PAIR;
    const out = flat(style.person(ref(user || null), name, ref(tag || null), num));
    if (people.size >= MAX_CACHED) people.clear();
    people.set(packed, { name, out, num });
    return out;
  };
  const sources = new Map<number, string>();
  const sourceText = (r: number): string => {
    let v = sources.get(r);
    if (v === undefined) {
      v = flat(style.source(ref(r)));
      if (sources.size >= MAX_CACHED) sources.clear();
      sources.set(r, v);
    }
    return v;
  };

  const utc = isoFormatter();
  const local = isoFormatter();
  const device = isoFormatter();
  const received = isoFormatter();
  /** A row that does not pack, read again and formatted without the caches. */
  const slowLine = (r: RawRow): string => {
    const x = unpacked.get(Number(r[0])) as UnpackedRow;
    const ms = r[1];
    return style.line(
      r[0],
      utc.utc(ms),
      local.local(ms + x.utc_offset_min * 60_000),
      x.device_ms === null ? null : device.utc(x.device_ms),
      received.utc(x.received_ms),
      style.words(x.event_category, x.event_detail, x.access_by),
      style.lock(ref(x.lock_ref), r[7], ref(x.iq_ref)),
      style.person(ref(x.user_ref), r[8], ref(x.tag_ref), r[9]),
      style.source(ref(x.source_ref)),
      r[10],
    );
  };
  return (rows, from, to) => {
    let out = '';
    for (let i = from; i < to; i++) {
      const r = rows[i]!;
      const w = r[2] === null || r[3] < 0 || r[4] < 0 || r[5] < 0 ? null : wordsText(r[6]);
      if (w === null) {
        out += slowLine(r);
        continue;
      }
      const ms = r[1];
      const u = utc.utc(ms);
      const s = Math.floor(r[5] / (2 * OFFSET_BIAS));
      const offset = r[5] - s * 2 * OFFSET_BIAS - OFFSET_BIAS;
      out += style.line(r[0], u, local.local(ms + offset * 60_000), u, received.utc(ms + r[2]!), w, lockText(r[3], r[7]), personText(r[4], r[8], r[9]), sourceText(s), r[10]);
    }
    return out;
  };
}

// ── Timestamps ─────────────────────────────────────────────────────────────────────────────────────

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const SECONDS_DOT = PAD2.slice(0, 60).map((s) => `${s}.`);
const MILLIS_Z = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(3, '0')}Z`);

/** "YYYY-MM-DDTHH:" of recent hours (direct-mapped by hour), or '' for years Date writes as ±YYYYYY. */
const HOUR_SLOTS = 256;
const hourKeys = new Float64Array(HOUR_SLOTS).fill(NaN);
const hourPrefixes = new Array<string>(HOUR_SLOTS).fill('');
function hourPrefix(hour: number): string {
  const slot = hour & (HOUR_SLOTS - 1);
  if (hourKeys[slot] === hour) return hourPrefixes[slot]!;
  const iso = new Date(hour * HOUR_MS).toISOString();
  hourKeys[slot] = hour;
  return (hourPrefixes[slot] = iso.length === 24 ? iso.slice(0, 14) : '');
}

export interface IsoFormatter {
  /** As Date#toISOString: "2026-03-02T09:00:00.000Z". */
  utc(ms: number): string;
  /** Wall-clock ms as the local column shows it: "2026-03-02T10:00:00" (toISOString without ms and Z). */
  local(wallMs: number): string;
}

/**
 * Formats timestamps exactly as query.ts's toEntryRow does (Date#toISOString), several times faster:
 * "YYYY-MM-DDTHH:" comes from a cache of hours, "MM:" is added once per minute (consecutive rows mostly
 * share it), seconds and milliseconds come from lookup tables, and a value equal to the previous one
 * (a batch's receive time) is returned as is. Nothing is kept per minute beyond the last one, so a long
 * export leaves no trail of cached strings behind. Years outside 0000–9999 go the slow way.
 */
export function isoFormatter(): IsoFormatter {
  let minute = NaN;
  let prefix = '';
  let lastMs = NaN;
  let lastUtc = '';
  let lastWall = NaN;
  let lastLocal = '';
  const minutePrefix = (m: number): string => {
    if (m !== minute) {
      minute = m;
      const h = Math.floor(m / 60);
      const p = hourPrefix(h);
      prefix = p && flat(`${p}${PAD2[m - h * 60]}:`);
    }
    return prefix;
  };
  return {
    utc(ms: number): string {
      if (ms === lastMs) return lastUtc;
      lastMs = ms;
      const m = Math.floor(ms / MINUTE_MS);
      const p = minutePrefix(m);
      if (p === '') return (lastUtc = new Date(ms).toISOString());
      const t = ms - m * MINUTE_MS;
      const s = Math.floor(t / 1000);
      return (lastUtc = `${p}${SECONDS_DOT[s]}${MILLIS_Z[t - s * 1000]}`);
    },
    local(wallMs: number): string {
      if (wallMs === lastWall) return lastLocal;
      lastWall = wallMs;
      const m = Math.floor(wallMs / MINUTE_MS);
      const p = minutePrefix(m);
      if (p === '') return (lastLocal = new Date(wallMs).toISOString().slice(0, 19));
      return (lastLocal = `${p}${PAD2[Math.floor((wallMs - m * MINUTE_MS) / 1000)]}`);
    },
  };
}
