// The tables derived from entries (hourly counts, last seen and per-reference counts of locks and IQs), rebuilt from
// scratch. Ingest and retention keep them up to date incrementally; this is for migrations and repair.
import type Database from 'better-sqlite3';

export function rebuildDerived(db: Database.Database): void {
  db.exec(`
    DELETE FROM entry_counts;
    INSERT INTO entry_counts (local_hour, lock_ref, event_category, event_detail, n)
      SELECT (utc_ms + utc_offset_min * 60000) / 3600000, coalesce(lock_ref, 0), event_category, coalesce(event_detail, ''), count(*)
      FROM entries GROUP BY 1, 2, 3, 4;

    DELETE FROM audit_last_seen;
    INSERT INTO audit_last_seen (ref, last_ms, last_seq, last_opened_ms, n)
      SELECT ref, max(utc_ms), max(seq), max(CASE WHEN event_category = 'lock_opened' THEN utc_ms END), count(*)
      FROM (
        SELECT lock_ref AS ref, utc_ms, seq, event_category FROM entries WHERE lock_ref IS NOT NULL
        UNION ALL SELECT iq_ref, utc_ms, seq, event_category FROM entries WHERE iq_ref IS NOT NULL
      ) GROUP BY ref;
  `);
}
