// Streaming export of the audit trail (CSV or JSON lines), oldest first. Rows are read in keyset
// chunks on the ordinary read connection (never one long-running statement that would keep it busy)
// and turned into text chunk by chunk, so memory stays flat however many rows there are. The export
// covers the rows present when it starts: later arrivals are left for the next export.
import { stringify } from 'csv-stringify/sync';
import { stmt, type ReadDb } from '../store/db.ts';
import { countEntries, ENTRY_FROM, ENTRY_SELECT, filterConditions, toEntryRow, type EntryFilter, type RawEntryRow } from './query.ts';

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
  onProgress?: (done: number, total: number) => void;
  chunkRows?: number;
}

export function* exportEntries(db: ReadDb, opts: ExportOptions): Generator<string> {
  const chunkRows = opts.chunkRows ?? 5000;
  const cond = filterConditions(db, opts.filter);
  const total = cond ? countEntries(db, opts.filter) : 0;
  if (opts.format === 'csv') yield stringify([[...EXPORT_COLUMNS]]);
  if (!cond) {
    opts.onProgress?.(0, 0);
    return;
  }
  const maxSeq = (stmt(db, 'SELECT coalesce(max(seq), 0) AS m FROM entries').get() as { m: number }).m;
  const where = [...cond.sql, 'e.seq <= ?', '(e.utc_ms, e.seq) > (?, ?)'];
  const q = stmt(db, `SELECT ${ENTRY_SELECT} FROM ${ENTRY_FROM} WHERE ${where.join(' AND ')} ORDER BY e.utc_ms, e.seq LIMIT ?`);
  let after = { utc_ms: -Infinity, seq: 0 };
  let done = 0;
  opts.onProgress?.(0, total);
  for (;;) {
    const rows = q.all(...cond.params, maxSeq, after.utc_ms === -Infinity ? Number.MIN_SAFE_INTEGER : after.utc_ms, after.seq, chunkRows) as RawEntryRow[];
    if (rows.length === 0) break;
    const items = rows.map(toEntryRow);
    if (opts.format === 'csv') yield stringify(items.map((r) => EXPORT_COLUMNS.map((c) => r[c])));
    else yield items.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const last = rows[rows.length - 1]!;
    after = { utc_ms: last.utc_ms, seq: last.seq };
    done += rows.length;
    opts.onProgress?.(done, total);
    if (rows.length < chunkRows) break;
  }
}
