// Retention and privacy (docs/audit.md): delete entries and incidents older than the retention period,
// and erase the personal fields of entries older than the privacy period. Work is done in bounded
// batches, each in its own short transaction, so ingest is never held up for long. Deleting the oldest
// rows adds a retention anchor so the hash chain of what remains still verifies; erasing personal
// fields keeps each row's salted digest, so the chain is unaffected.
import { stmt, type ReadDb, type WriteDb } from '../store/db.ts';
import { getSetting, setSetting } from '../store/repos/site.ts';
import { addAnchor } from './anchors.ts';
import type { RetentionRunResult, RetentionSettings } from './types.ts';

const DAY_MS = 86_400_000;

export function getRetentionSettings(db: ReadDb | WriteDb): RetentionSettings {
  return {
    retention_days: getSetting<number | null>(db, 'audit.retention_days') ?? null,
    anonymize_after_days: getSetting<number | null>(db, 'audit.anonymize_after_days') ?? null,
  };
}

export function setRetentionSettings(db: WriteDb, patch: Partial<RetentionSettings>): RetentionSettings {
  if (patch.retention_days !== undefined) setSetting(db, 'audit.retention_days', patch.retention_days);
  if (patch.anonymize_after_days !== undefined) {
    // A different period (or switching it back on) starts the erasing walk over: rows behind where it
    // stopped may carry names (delivered late while it was off, or while the period was longer).
    if (patch.anonymize_after_days !== getRetentionSettings(db).anonymize_after_days) setSetting(db, 'audit.anonymize_cursor', null);
    setSetting(db, 'audit.anonymize_after_days', patch.anonymize_after_days);
  }
  return getRetentionSettings(db);
}

/** One batch of at most `maxRows` rows of each kind of work; call again while `complete` is false. */
export function applyRetention(db: WriteDb, settings: RetentionSettings, now: number, maxRows: number, nowIso = new Date(now).toISOString()): RetentionRunResult {
  const result: RetentionRunResult = { deleted_entries: 0, deleted_incidents: 0, anonymized_entries: 0, complete: true };
  if (settings.retention_days) {
    const cutoff = now - settings.retention_days * DAY_MS;
    result.deleted_entries = deleteOldest(db, 'entries', cutoff, maxRows, nowIso, settings.retention_days);
    result.deleted_incidents = deleteOldest(db, 'incidents', cutoff, maxRows, nowIso, settings.retention_days);
    if (result.deleted_entries === maxRows || result.deleted_incidents === maxRows) result.complete = false;
  }
  if (settings.anonymize_after_days) {
    result.anonymized_entries = anonymize(db, now - settings.anonymize_after_days * DAY_MS, maxRows);
    if (result.anonymized_entries === maxRows) result.complete = false;
  }
  return result;
}

/**
 * Deletes the oldest rows, in chain order, up to the first row that is still inside the retention
 * period. A late-delivered old row stays until the rows before it go: the chain is cut only at its start.
 */
function deleteOldest(db: WriteDb, table: 'entries' | 'incidents', cutoff: number, maxRows: number, nowIso: string, days: number): number {
  const rows = stmt(db, `SELECT seq, utc_ms, hash FROM ${table} ORDER BY seq LIMIT ?`).all(maxRows) as Array<{ seq: number; utc_ms: number; hash: Buffer }>;
  let last = -1;
  while (last + 1 < rows.length && rows[last + 1]!.utc_ms < cutoff) last++;
  if (last < 0) return 0;
  const lastRow = rows[last]!;
  if (table === 'entries') {
    uncount(db, 'seq <= ?', [lastRow.seq], ['lock_ref', 'iq_ref']);
    uncountHours(db, lastRow.seq);
  }
  stmt(db, `DELETE FROM ${table} WHERE seq <= ?`).run(lastRow.seq);
  addAnchor(db, {
    chain: table,
    first_seq: lastRow.seq + 1,
    prev_hash: lastRow.hash,
    deleted_rows: last + 1,
    created_at: nowIso,
    reason: `retention: ${table} older than ${days} days`,
  });
  return last + 1;
}

function anonymize(db: WriteDb, cutoff: number, maxRows: number): number {
  const cursor = getSetting<{ utc_ms: number; seq: number }>(db, 'audit.anonymize_cursor') ?? { utc_ms: -1, seq: 0 };
  // Rows without a salt are anonymised already (at ingest, or by an earlier walk).
  const rows = stmt(db, 'SELECT seq, utc_ms FROM entries WHERE (utc_ms, seq) > (?, ?) AND utc_ms < ? AND personal_salt IS NOT NULL ORDER BY utc_ms, seq LIMIT ?').all(
    cursor.utc_ms,
    cursor.seq,
    cutoff,
    maxRows,
  ) as Array<{
    seq: number;
    utc_ms: number;
  }>;
  if (rows.length === 0) return 0;
  const last = rows[rows.length - 1]!;
  const erase = stmt(db, 'UPDATE entries SET user_ref = NULL, user_name = NULL, tag_ref = NULL, tag_number = NULL, personal_salt = NULL WHERE seq = ?');
  let n = 0;
  for (const r of rows) n += erase.run(r.seq).changes;
  setSetting(db, 'audit.anonymize_cursor', { utc_ms: last.utc_ms, seq: last.seq });
  return n;
}

/** Takes rows that are about to be deleted out of the per-lock and per-IQ counts. */
function uncount(db: WriteDb, where: string, params: unknown[], columns: Array<'lock_ref' | 'iq_ref'>): void {
  const dec = stmt(db, 'UPDATE audit_last_seen SET n = n - ? WHERE ref = ?');
  for (const col of columns) {
    for (const r of stmt(db, `SELECT ${col} AS ref, count(*) AS c FROM entries WHERE ${where} AND ${col} IS NOT NULL GROUP BY ${col}`).all(...params) as Array<{ ref: number; c: number }>) {
      dec.run(r.c, r.ref);
    }
  }
}

/**
 * Takes the rows up to `seq` out of the hourly counts, bucket by bucket. (Dropping whole hours before the
 * cutoff would keep the counts of deleted rows in the last hours before it, and drop those of late old
 * rows that stay until the rows before them go.)
 */
function uncountHours(db: WriteDb, seq: number): void {
  const dec = stmt(db, 'UPDATE entry_counts SET n = n - ? WHERE local_hour = ? AND lock_ref = ? AND event_category = ? AND event_detail = ?');
  const buckets = stmt(
    db,
    `SELECT (utc_ms + utc_offset_min * 60000) / 3600000 AS hour, coalesce(lock_ref, 0) AS lock, event_category AS cat, coalesce(event_detail, '') AS detail, count(*) AS c
     FROM entries WHERE seq <= ? GROUP BY 1, 2, 3, 4`,
  ).all(seq) as Array<{ hour: number; lock: number; cat: string; detail: string; c: number }>;
  const drop = stmt(db, 'DELETE FROM entry_counts WHERE local_hour = ? AND lock_ref = ? AND event_category = ? AND event_detail = ? AND n <= 0');
  for (const b of buckets) {
    dec.run(b.c, b.hour, b.lock, b.cat, b.detail);
    drop.run(b.hour, b.lock, b.cat, b.detail);
  }
}
