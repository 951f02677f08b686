import type { AccessTableInfo } from '../../contract/results.ts';
import { stmt, type ReadDb, type WriteDb } from '../db.ts';

export function listAccessTables(db: ReadDb): AccessTableInfo[] {
  return stmt(db, 'SELECT iq_id, version, hash, record_count, byte_size, generated_at FROM access_tables ORDER BY iq_id').all() as AccessTableInfo[];
}

/** Records a table's hash; bumps the version only when the content changed. Returns the version. */
export function recordAccessTable(db: WriteDb, t: { iq_id: string; hash: string; record_count: number; byte_size: number; generated_at: string }): { version: number; changed: boolean } {
  const cur = stmt(db, 'SELECT version, hash FROM access_tables WHERE iq_id = ?').get(t.iq_id) as { version: number; hash: string } | undefined;
  if (cur && cur.hash === t.hash) return { version: cur.version, changed: false };
  const version = (cur?.version ?? 0) + 1;
  stmt(
    db,
    `INSERT INTO access_tables (iq_id, version, hash, record_count, byte_size, generated_at) VALUES (@iq_id, @version, @hash, @record_count, @byte_size, @generated_at)
     ON CONFLICT(iq_id) DO UPDATE SET version = excluded.version, hash = excluded.hash, record_count = excluded.record_count,
       byte_size = excluded.byte_size, generated_at = excluded.generated_at`,
  ).run({ ...t, version });
  // A hub that had the previous version is now behind; one that never had a table stays not_synced.
  stmt(db, "UPDATE iqs SET data_sync_state = 'pending' WHERE id = ? AND data_sync_state = 'synced'").run(t.iq_id);
  return { version, changed: true };
}

/** The version the core wants an IQ to enforce. */
export function currentTableVersion(db: ReadDb, iqId: string): { version: number; hash: string } | null {
  return (stmt(db, 'SELECT version, hash FROM access_tables WHERE iq_id = ?').get(iqId) as { version: number; hash: string } | undefined) ?? null;
}
