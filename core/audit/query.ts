// Reading the audit trail: filtered pages with cursors both ways, counts for dashboards, last-seen
// times and inactivity reports. Filters use the trail's own indexes (one per filter kind), and
// dashboards read the hourly counts, so pages and counts stay fast on tens of millions of rows.
import { GatehouseError } from '../contract/errors.ts';
import { stmt, type ReadDb } from '../store/db.ts';

export interface EntryFilter {
  lock_id?: string;
  iq_id?: string;
  user_id?: string;
  tag_id?: string;
  tag_number?: string;
  event_category?: string;
  event_detail?: string;
  access_by?: string;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  until?: number;
}

export interface EntryRow {
  id: string;
  event_category: string;
  event_detail: string | null;
  access_by: string | null;
  utc_date_time: string;
  local_date_time: string;
  device_date_time: string | null;
  received_date_time: string;
  lock_id: string | null;
  lock_customer_reference: string | null;
  iq_id: string | null;
  user_id: string | null;
  platform_user_id: string | null;
  user_name: string | null;
  tag_id: string | null;
  tag_number: string | null;
  source: string;
  source_event_id: string;
}

export const ENTRY_SELECT = `e.seq, e.utc_ms, e.utc_offset_min, e.device_ms, e.received_ms, e.event_category, e.event_detail, e.access_by,
  e.lock_name, e.user_name, e.tag_number, e.source_event_id,
  lr.id AS lock_id, ir.id AS iq_id, ur.id AS user_id, ur.aux AS platform_user_id, tr.id AS tag_id, sr.id AS source`;
export const ENTRY_FROM = `entries e
  LEFT JOIN audit_refs lr ON lr.ref = e.lock_ref
  LEFT JOIN audit_refs ir ON ir.ref = e.iq_ref
  LEFT JOIN audit_refs ur ON ur.ref = e.user_ref
  LEFT JOIN audit_refs tr ON tr.ref = e.tag_ref
  LEFT JOIN audit_refs sr ON sr.ref = e.source_ref`;

export interface RawEntryRow {
  seq: number;
  utc_ms: number;
  utc_offset_min: number;
  device_ms: number | null;
  received_ms: number;
  event_category: string;
  event_detail: string | null;
  access_by: string | null;
  lock_name: string | null;
  user_name: string | null;
  tag_number: string | null;
  source_event_id: string;
  lock_id: string | null;
  iq_id: string | null;
  user_id: string | null;
  platform_user_id: string | null;
  tag_id: string | null;
  source: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
export const localIso = (ms: number, offsetMin: number) => new Date(ms + offsetMin * 60_000).toISOString().slice(0, 19);

export function toEntryRow(r: RawEntryRow): EntryRow {
  return {
    id: String(r.seq),
    event_category: r.event_category,
    event_detail: r.event_detail,
    access_by: r.access_by,
    utc_date_time: iso(r.utc_ms),
    local_date_time: localIso(r.utc_ms, r.utc_offset_min),
    device_date_time: r.device_ms === null ? null : iso(r.device_ms),
    received_date_time: iso(r.received_ms),
    lock_id: r.lock_id,
    lock_customer_reference: r.lock_name,
    iq_id: r.iq_id,
    user_id: r.user_id,
    platform_user_id: r.platform_user_id,
    user_name: r.user_name,
    tag_id: r.tag_id,
    tag_number: r.tag_number,
    source: r.source,
    source_event_id: r.source_event_id,
  };
}

/** A person may be named by site-user id or by CLP platform user id (kept as `aux`), even after deletion. */
function refOf(db: ReadDb, kind: string, id: string): number | null {
  const row = (stmt(db, 'SELECT ref FROM audit_refs WHERE kind = ? AND id = ?').get(kind, id) ??
    (kind === 'user' ? stmt(db, "SELECT ref FROM audit_refs WHERE kind = 'user' AND aux = ?").get(id) : undefined)) as { ref: number } | undefined;
  return row?.ref ?? null;
}

/** SQL conditions for a filter, or null when it can match nothing (an id the trail never saw). */
export function filterConditions(db: ReadDb, f: EntryFilter): { sql: string[]; params: unknown[] } | null {
  const sql: string[] = [];
  const params: unknown[] = [];
  for (const [field, kind, column] of [
    ['lock_id', 'lock', 'e.lock_ref'],
    ['iq_id', 'iq', 'e.iq_ref'],
    ['user_id', 'user', 'e.user_ref'],
    ['tag_id', 'tag', 'e.tag_ref'],
  ] as const) {
    const id = f[field];
    if (id === undefined) continue;
    const ref = refOf(db, kind, id);
    if (ref === null) return null;
    sql.push(`${column} = ?`);
    params.push(ref);
  }
  if (f.tag_number !== undefined) {
    sql.push('e.tag_number = ?');
    params.push(f.tag_number);
  }
  for (const k of ['event_category', 'event_detail', 'access_by'] as const) {
    if (f[k] === undefined) continue;
    sql.push(`e.${k} = ?`);
    params.push(f[k]);
  }
  if (f.from !== undefined) {
    sql.push('e.utc_ms >= ?');
    params.push(f.from);
  }
  if (f.until !== undefined) {
    sql.push('e.utc_ms < ?');
    params.push(f.until);
  }
  return { sql, params };
}

export interface Cursor {
  utc_ms: number;
  seq: number;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.utc_ms}.${c.seq}`).toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  const m = /^(-?\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(text, 'base64url').toString());
  if (!m) throw new GatehouseError('validation', 'cursor: not a cursor returned by this list', [{ path: 'cursor', message: 'malformed' }]);
  return { utc_ms: Number(m[1]), seq: Number(m[2]) };
}

export interface EntryPage {
  /** Newest first. */
  items: EntryRow[];
  /** Pass as `cursor` with direction 'older' for the next page back in time; null at the oldest. */
  older_cursor: string | null;
  /** Pass with direction 'newer' for entries after this page (also: poll for new ones). */
  newer_cursor: string | null;
  count: number | null;
}

const DAY = 86_400_000;

/** The per-reference index and column to walk day by day, most selective first. */
const REF_WALKS = [
  ['tag_id', 'tag', 'e.tag_ref', 'entries_tag'],
  ['user_id', 'user', 'e.user_ref', 'entries_user'],
  ['lock_id', 'lock', 'e.lock_ref', 'entries_lock'],
  ['iq_id', 'iq', 'e.iq_ref', 'entries_iq'],
] as const;

export function listEntries(db: ReadDb, f: EntryFilter, page: { cursor?: string; direction: 'older' | 'newer'; limit: number; with_count: boolean }): EntryPage {
  const cond = filterConditions(db, f);
  if (!cond) return { items: [], older_cursor: null, newer_cursor: null, count: page.with_count ? 0 : null };
  const newer = page.direction === 'newer';
  const cursor = page.cursor ? decodeCursor(page.cursor) : null;
  const rows = fetchPage(db, f, cond, cursor, newer, page.limit + 1);
  const more = rows.length > page.limit;
  if (more) rows.pop();
  if (newer) rows.reverse();
  const first = rows[0];
  const last = rows[rows.length - 1];
  return {
    items: rows.map(toEntryRow),
    // Going back from the oldest row shown; there is more back in time when we stopped short or came from there.
    older_cursor: last && (newer || more) ? encodeCursor({ utc_ms: last.utc_ms, seq: last.seq }) : null,
    newer_cursor: first ? encodeCursor({ utc_ms: first.utc_ms, seq: first.seq }) : (page.cursor ?? null),
    count: page.with_count ? countEntries(db, f) : null,
  };
}

/**
 * Up to `want` rows after/before the cursor in (utc_ms, seq) order. With a lock, person or tag in the
 * filter, the matching day-led index is walked one UTC day at a time from the cursor's day, stopping as
 * soon as the page is full; the days walked are bounded by the reference's first and last appearance.
 */
function fetchPage(db: ReadDb, f: EntryFilter, cond: { sql: string[]; params: unknown[] }, cursor: Cursor | null, newer: boolean, want: number): RawEntryRow[] {
  const where = [...cond.sql];
  const params = [...cond.params];
  if (cursor) {
    where.push(newer ? '(e.utc_ms, e.seq) > (?, ?)' : '(e.utc_ms, e.seq) < (?, ?)');
    params.push(cursor.utc_ms, cursor.seq);
  }
  const order = newer ? 'e.utc_ms ASC, e.seq ASC' : 'e.utc_ms DESC, e.seq DESC';
  const walk = REF_WALKS.find(([field]) => f[field] !== undefined);
  if (!walk) {
    const sqlWhere = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return stmt(db, `SELECT ${ENTRY_SELECT} FROM ${ENTRY_FROM} ${sqlWhere} ORDER BY ${order} LIMIT ?`).all(...params, want) as RawEntryRow[];
  }
  const [field, kind, column, index] = walk;
  const ref = refOf(db, kind, f[field]!)!;
  // Locks and IQs keep their last appearance; for people and tags the newest entry overall bounds the walk.
  const span = stmt(
    db,
    'SELECT (SELECT min(utc_ms) FROM entries) AS lo, coalesce((SELECT last_ms FROM audit_last_seen WHERE ref = ?), (SELECT max(utc_ms) FROM entries)) AS hi',
  ).get(ref) as { lo: number | null; hi: number | null };
  if (span.lo === null || span.hi === null) return [];
  const lo = Math.floor(Math.max(span.lo, f.from ?? -Infinity, newer && cursor ? cursor.utc_ms : -Infinity) / DAY);
  const hi = Math.floor(Math.min(span.hi, f.until !== undefined ? f.until - 1 : Infinity, !newer && cursor ? cursor.utc_ms : Infinity) / DAY);
  const joins = `LEFT JOIN audit_refs lr ON lr.ref = e.lock_ref LEFT JOIN audit_refs ir ON ir.ref = e.iq_ref LEFT JOIN audit_refs ur ON ur.ref = e.user_ref
       LEFT JOIN audit_refs tr ON tr.ref = e.tag_ref LEFT JOIN audit_refs sr ON sr.ref = e.source_ref`;
  const out: RawEntryRow[] = [];
  // Days are taken in growing runs (1, 2, 4 … 64 at a time): a busy reference fills its page from the
  // first day, a rare one costs a few statements instead of one per empty day.
  let run = 1;
  for (let d = newer ? lo : hi; newer ? d <= hi : d >= lo; ) {
    const days: number[] = [];
    for (let i = 0; i < run && (newer ? d <= hi : d >= lo); i++, d += newer ? 1 : -1) days.push(d);
    const q = stmt(
      db,
      `SELECT ${ENTRY_SELECT} FROM entries e INDEXED BY ${index} ${joins}
       WHERE e.day IN (${days.map(() => '?').join(', ')}) AND ${column} = ? ${where.length ? `AND ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`,
    );
    out.push(...(q.all(...days, ref, ...params, want - out.length) as RawEntryRow[]));
    if (out.length >= want) break;
    run = Math.min(run * 2, 64);
  }
  return out;
}

/** Every UTC day the trail covers, newest first. */
function allDays(db: ReadDb): number[] {
  const span = stmt(db, 'SELECT (SELECT min(utc_ms) FROM entries) AS lo, (SELECT max(utc_ms) FROM entries) AS hi').get() as { lo: number | null; hi: number | null };
  if (span.lo === null || span.hi === null) return [];
  const out: number[] = [];
  for (let d = Math.floor(span.hi / DAY); d >= Math.floor(span.lo / DAY); d--) out.push(d);
  return out;
}

/** An aggregate over one reference's entries, per run of days, through its day-led index. */
function perDay(db: ReadDb, index: string, column: string, ref: number, aggregate: string, days: number[]): Array<number | null> {
  const out: Array<number | null> = [];
  for (let i = 0; i < days.length; i += 500) {
    const run = days.slice(i, i + 500);
    const q = stmt(db, `SELECT ${aggregate} AS v FROM entries e INDEXED BY ${index} WHERE e.day IN (${run.map(() => '?').join(', ')}) AND ${column} = ?`);
    out.push((q.get(...run, ref) as { v: number | null }).v);
  }
  return out;
}

/** The newest entry of a person or tag before `before`, walking back in growing runs of days. */
function newestOf(db: ReadDb, kind: 'user' | 'tag', ref: number, before = Infinity, openingsOnly = false): number | null {
  const walk = REF_WALKS.find(([, k]) => k === kind)!;
  const days = allDays(db).filter((d) => d * DAY < before);
  for (let i = 0, run = 1; i < days.length; i += run, run = Math.min(run * 2, 64)) {
    const chunk = days.slice(i, i + run);
    const q = stmt(db, `SELECT max(e.utc_ms) AS v FROM entries e INDEXED BY ${walk[3]} WHERE e.day IN (${chunk.map(() => '?').join(', ')}) AND ${walk[2]} = ? AND e.utc_ms < ?${openingsOnly ? " AND e.event_category = 'lock_opened'" : ''}`);
    const v = (q.get(...chunk, ref, before) as { v: number | null }).v;
    if (v !== null) return v;
  }
  return null;
}

export function countEntries(db: ReadDb, f: EntryFilter): number {
  const cond = filterConditions(db, f);
  if (!cond) return 0;
  // A filter on exactly one lock or IQ is counted by the running total kept at ingest; one on a
  // person or tag by seeking their day-led index day by day (never a scan of the whole index).
  const keys = Object.keys(f).filter((k) => f[k as keyof EntryFilter] !== undefined);
  const walk = REF_WALKS.find(([field]) => f[field] !== undefined);
  if (walk && keys.length === 1) {
    const ref = refOf(db, walk[1], f[walk[0]]!)!;
    if (walk[1] === 'lock' || walk[1] === 'iq') return (stmt(db, 'SELECT n FROM audit_last_seen WHERE ref = ?').get(ref) as { n: number } | undefined)?.n ?? 0;
    return perDay(db, walk[3], walk[2], ref, 'count(*)', allDays(db)).reduce<number>((a, b) => a + (b ?? 0), 0);
  }
  const where = cond.sql.length ? `WHERE ${cond.sql.join(' AND ')}` : '';
  return (stmt(db, `SELECT count(*) AS n FROM entries e ${where}`).get(...cond.params) as { n: number }).n;
}

export function getEntry(db: ReadDb, seq: number): EntryRow | null {
  const row = stmt(db, `SELECT ${ENTRY_SELECT} FROM ${ENTRY_FROM} WHERE e.seq = ?`).get(seq) as RawEntryRow | undefined;
  return row ? toEntryRow(row) : null;
}

// ── Counts ─────────────────────────────────────────────────────────────────────────────────────────

export type CountGrouping = 'hour' | 'day' | 'category' | 'detail' | 'lock';

export interface CountBucket {
  key: string;
  /** For 'lock': the lock's name at the time of the last entry counted. */
  label?: string;
  count: number;
}

/**
 * Counts by local hour or day (in each lock's own zone), category, detail or lock. Served from the
 * hourly counts unless the filter names a person, tag or IQ, which the counts do not break down by.
 * `from`/`until` select local hours: pass the local midnight you mean as wall-clock ms ("…Z" read as
 * local time), as the dashboard does.
 */
export function countBy(db: ReadDb, group: CountGrouping, f: EntryFilter & { fromLocal?: number; untilLocal?: number }): CountBucket[] {
  const usesRollup = f.user_id === undefined && f.tag_id === undefined && f.tag_number === undefined && f.iq_id === undefined && f.access_by === undefined && f.from === undefined && f.until === undefined;
  if (usesRollup) return countFromRollup(db, group, f);
  const cond = filterConditions(db, f);
  if (!cond) return [];
  const keyExpr = {
    hour: "strftime('%Y-%m-%dT%H', (e.utc_ms + e.utc_offset_min * 60000) / 1000, 'unixepoch')",
    day: "strftime('%Y-%m-%d', (e.utc_ms + e.utc_offset_min * 60000) / 1000, 'unixepoch')",
    category: 'e.event_category',
    detail: "coalesce(e.event_detail, '')",
    lock: "coalesce(lr.id, '')",
  }[group];
  if (f.fromLocal !== undefined) {
    cond.sql.push('e.utc_ms + e.utc_offset_min * 60000 >= ?');
    cond.params.push(f.fromLocal);
  }
  if (f.untilLocal !== undefined) {
    cond.sql.push('e.utc_ms + e.utc_offset_min * 60000 < ?');
    cond.params.push(f.untilLocal);
  }
  const where = cond.sql.length ? `WHERE ${cond.sql.join(' AND ')}` : '';
  const rows = stmt(
    db,
    `SELECT ${keyExpr} AS key, max(e.lock_name) AS label, count(*) AS count FROM entries e LEFT JOIN audit_refs lr ON lr.ref = e.lock_ref ${where} GROUP BY key ORDER BY key`,
  ).all(...cond.params) as CountBucket[];
  return rows.map((r) => (group === 'lock' ? r : { key: r.key, count: r.count }));
}

function countFromRollup(db: ReadDb, group: CountGrouping, f: EntryFilter & { fromLocal?: number; untilLocal?: number }): CountBucket[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.lock_id !== undefined) {
    const ref = refOf(db, 'lock', f.lock_id);
    if (ref === null) return [];
    where.push('c.lock_ref = ?');
    params.push(ref);
  }
  if (f.event_category !== undefined) {
    where.push('c.event_category = ?');
    params.push(f.event_category);
  }
  if (f.event_detail !== undefined) {
    where.push('c.event_detail = ?');
    params.push(f.event_detail);
  }
  if (f.fromLocal !== undefined) {
    where.push('c.local_hour >= ?');
    params.push(Math.floor(f.fromLocal / 3_600_000));
  }
  if (f.untilLocal !== undefined) {
    where.push('c.local_hour < ?');
    params.push(Math.ceil(f.untilLocal / 3_600_000));
  }
  // Group on integers (hour number, day number, lock ref) and name the buckets afterwards: formatting or
  // joining every hourly row first costs more than the grouping itself.
  const keyExpr = { hour: 'c.local_hour', day: 'c.local_hour / 24', category: 'c.event_category', detail: 'c.event_detail', lock: 'c.lock_ref' }[group];
  const sqlWhere = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const grouped = stmt(db, `SELECT ${keyExpr} AS key, sum(c.n) AS count FROM entry_counts c ${sqlWhere} GROUP BY key ORDER BY key`).all(...params) as Array<{ key: number | string; count: number }>;
  const lockId = stmt(db, 'SELECT id FROM audit_refs WHERE ref = ?').pluck();
  const rows: CountBucket[] = grouped.map((g) => ({
    key:
      group === 'hour'
        ? new Date((g.key as number) * 3_600_000).toISOString().slice(0, 13)
        : group === 'day'
          ? new Date((g.key as number) * 86_400_000).toISOString().slice(0, 10)
          : group === 'lock'
            ? ((lockId.get(g.key) as string | undefined) ?? '')
            : (g.key as string),
    count: g.count,
  }));
  if (group === 'lock') rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (group !== 'lock') return rows;
  // Name each lock by the name on its latest entry.
  const name = stmt(
    db,
    `SELECT e.lock_name FROM audit_refs r JOIN audit_last_seen s ON s.ref = r.ref JOIN entries e ON e.seq = s.last_seq WHERE r.kind = ? AND r.id = ?`,
  );
  return rows.map((r) => ({ ...r, label: r.key ? ((name.get('lock', r.key) as { lock_name: string } | undefined)?.lock_name ?? undefined) : undefined }));
}

// ── Last seen and inactivity ───────────────────────────────────────────────────────────────────────

export interface LastSeen {
  id: string;
  last_seen: string | null;
  last_opened: string | null;
}

export function lastSeen(db: ReadDb, kind: 'user' | 'tag' | 'lock', ids: string[]): LastSeen[] {
  if (kind !== 'lock') {
    return ids.map((id) => {
      const ref = refOf(db, kind, id);
      const last = ref === null ? null : newestOf(db, kind, ref);
      const opened = ref === null || last === null ? null : newestOf(db, kind, ref, Infinity, true);
      return { id, last_seen: last === null ? null : iso(last), last_opened: opened === null ? null : iso(opened) };
    });
  }
  const q = stmt(db, 'SELECT s.last_ms, s.last_opened_ms FROM audit_refs r JOIN audit_last_seen s ON s.ref = r.ref WHERE r.kind = ? AND r.id = ?');
  return ids.map((id) => {
    const row = q.get(kind, id) as { last_ms: number; last_opened_ms: number | null } | undefined;
    return { id, last_seen: row ? iso(row.last_ms) : null, last_opened: row?.last_opened_ms ? iso(row.last_opened_ms) : null };
  });
}

export interface InactivityReport {
  since: string;
  doors: Array<{ lock_id: string; customer_reference: string; last_opened: string | null }>;
  people: Array<{ user_id: string; name: string; last_seen: string | null }>;
}

/** Doors with no opening and people with no entry since `since` (longest idle first; never seen first of all). */
export function inactivity(db: ReadDb, since: number, limit: number): InactivityReport {
  const doors = stmt(
    db,
    `SELECT l.id AS lock_id, l.customer_reference, s.last_opened_ms FROM locks l
     LEFT JOIN audit_refs r ON r.kind = 'lock' AND r.id = l.id LEFT JOIN audit_last_seen s ON s.ref = r.ref
     WHERE s.last_opened_ms IS NULL OR s.last_opened_ms < ? ORDER BY coalesce(s.last_opened_ms, 0), l.customer_reference LIMIT ?`,
  ).all(since, limit) as Array<{ lock_id: string; customer_reference: string; last_opened_ms: number | null }>;
  // Who was seen since: one pass over the person index for the days in question.
  const active = new Set(
    stmt(db, 'SELECT DISTINCT e.user_ref FROM entries e INDEXED BY entries_user WHERE e.day >= ? AND e.utc_ms >= ? AND e.user_ref IS NOT NULL')
      .pluck()
      .all(Math.floor(since / DAY), since) as number[],
  );
  const candidates = stmt(
    db,
    `SELECT u.id AS user_id, trim(u.first_name || ' ' || u.last_name) AS name, r.ref FROM users u
     LEFT JOIN audit_refs r ON r.kind = 'user' AND r.id = u.id ORDER BY u.last_name COLLATE NOCASE, u.first_name COLLATE NOCASE, u.pk`,
  ).all() as Array<{ user_id: string; name: string; ref: number | null }>;
  // Longest idle first (never seen first of all): each idle person's last entry is a short index walk.
  const people = candidates
    .filter((c) => c.ref === null || !active.has(c.ref))
    .map((c) => ({ ...c, last_ms: c.ref === null ? null : newestOf(db, 'user', c.ref, since) }))
    .sort((a, b) => (a.last_ms ?? 0) - (b.last_ms ?? 0))
    .slice(0, limit);
  return {
    since: iso(since),
    doors: doors.map((d) => ({ lock_id: d.lock_id, customer_reference: d.customer_reference, last_opened: d.last_opened_ms ? iso(d.last_opened_ms) : null })),
    people: people.map((p) => ({ user_id: p.user_id, name: p.name, last_seen: p.last_ms ? iso(p.last_ms) : null })),
  };
}
