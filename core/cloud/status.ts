// What the UI shows about cloud sync, read from the sync tables alone (so it is right after a restart
// and costs a few index lookups, whatever the size of the outbox).
import type { ReadDb } from '../store/db.ts';
import { getSyncState, outboxCounts } from '../store/repos/cloud.ts';
import type { CloudSyncStatus } from './types.ts';

export type { CloudSyncStatus };

export function cloudSyncStatus(db: ReadDb): CloudSyncStatus {
  const s = getSyncState(db);
  const c = outboxCounts(db);
  return {
    enabled: s.enabled,
    connected: s.enabled && s.cloud_site_id !== null,
    cloud_site_id: s.cloud_site_id,
    last_pull_at: s.last_pull_at,
    last_push_at: s.last_push_at,
    pending_changes: c.pending,
    oldest_pending_at: c.oldest_pending_at,
    failed_changes: c.failed,
    last_error: s.last_error && s.last_error_at ? { message: s.last_error, at: s.last_error_at } : null,
    open_conflicts: c.conflicts,
  };
}
