// The audit trail's basic store (lossless ingest, retention and tamper evidence build on this).
import type { EntryRecord } from '../../contract/results.ts';
import type { FieldMap } from '../../query/filter-sql.ts';
import { stmt, type WriteDb } from '../db.ts';
import type { ListSpec } from '../list.ts';
import type { SqlRow } from './rows.ts';

export interface NewEntry {
  utc_ms: number;
  local_date_time: string;
  event_category: string;
  event_detail: string | null;
  access_by: string | null;
  lock_id: string | null;
  lock_name: string | null;
  iq_id: string | null;
  user_id: string | null;
  user_name: string | null;
  tag_id: string | null;
  tag_number: string | null;
  source: string;
  source_event_id: string;
  received_ms: number;
}

/** Inserts an entry once per (source, source_event_id); returns its seq, or null for a duplicate. */
export function insertEntry(db: WriteDb, e: NewEntry): number | null {
  const r = stmt(
    db,
    `INSERT OR IGNORE INTO entries (utc_ms, local_date_time, event_category, event_detail, access_by, lock_id, lock_name, iq_id, user_id,
       user_name, tag_id, tag_number, source, source_event_id, received_ms)
     VALUES (@utc_ms, @local_date_time, @event_category, @event_detail, @access_by, @lock_id, @lock_name, @iq_id, @user_id,
       @user_name, @tag_id, @tag_number, @source, @source_event_id, @received_ms)`,
  ).run(e);
  return r.changes ? Number(r.lastInsertRowid) : null;
}

export function toEntryRecord(row: SqlRow): EntryRecord {
  return {
    id: String(row.seq),
    event_category: row.event_category as string,
    event_detail: row.event_detail as string | null,
    access_by: row.access_by as string | null,
    utc_date_time: new Date(row.utc_ms as number).toISOString(),
    local_date_time: row.local_date_time as string,
    lock_id: row.lock_id as string | null,
    lock_customer_reference: row.lock_name as string | null,
    iq_id: row.iq_id as string | null,
    user_id: row.user_id as string | null,
    user_name: row.user_name as string | null,
    tag_id: row.tag_id as string | null,
    tag_number: row.tag_number as string | null,
  };
}

export const ENTRY_FIELDS: FieldMap = {
  id: { column: 'e.seq', type: 'number' },
  utc_date_time: { column: 'e.utc_ms', type: 'datetime', storage: 'epoch_ms' },
  local_date_time: { column: 'e.local_date_time', type: 'string' },
  event_category: { column: 'e.event_category', type: 'string' },
  event_detail: { column: 'e.event_detail', type: 'string' },
  access_by: { column: 'e.access_by', type: 'string' },
  lock_id: { column: 'e.lock_id', type: 'string' },
  iq_id: { column: 'e.iq_id', type: 'string' },
  user_id: { column: 'e.user_id', type: 'string' },
  tag_id: { column: 'e.tag_id', type: 'string' },
  tag_number: { column: 'e.tag_number', type: 'string' },
};

export const entryList: ListSpec<SqlRow, EntryRecord> = {
  from: 'entries e',
  select: 'e.*',
  fields: ENTRY_FIELDS,
  searchColumns: ['e.lock_name', 'e.user_name', 'e.tag_number'],
  defaultOrder: [{ field: 'utc_date_time', direction: 'desc' }],
  tieBreaker: 'e.seq',
  map: toEntryRecord,
};
