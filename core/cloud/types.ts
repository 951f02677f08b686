// What the cloud sync shows the admin, as plain data (the contract's results for `cloud.*`).

/** One sync round, as the "sync now" button and the status panel report it. */
export interface SyncRoundReport {
  started_at: string;
  finished_at: string;
  /** The whole round ran: everything pulled, the outbox empty or waiting only on refused changes. */
  complete: boolean;
  pulled: { applied: number; unchanged: number; deleted: number; deferred: number };
  pushed: { done: number; failed: number; coalesced: number; waiting: number };
  entries: { stored: number; duplicates: number; merged_with_hub: number; skipped: number };
  incidents: { stored: number; merged_with_hub: number; skipped: number };
  conflicts: number;
  error: string | null;
}

export interface CloudSyncStatus {
  enabled: boolean;
  /** Connected: switched on and bound to a cloud site. */
  connected: boolean;
  cloud_site_id: string | null;
  /** The last pull and push that completed. */
  last_pull_at: string | null;
  last_push_at: string | null;
  /** Local changes not yet accepted by the cloud, and since when the oldest has waited. */
  pending_changes: number;
  oldest_pending_at: string | null;
  /** Changes the cloud refused for good; they wait for an admin. */
  failed_changes: number;
  last_error: { message: string; at: string } | null;
  /** Conflicts not yet reviewed. */
  open_conflicts: number;
}

export interface CloudStatus extends CloudSyncStatus {
  account: { api_url: string; identity_url: string; client_id: string; account: string | null; connected_at: string; connected_by: string } | null;
  /** Whether sealed tokens are stored (false: signed out, sign in again). */
  signed_in: boolean;
  otp_configured: boolean;
  syncing: boolean;
  /** A browser sign-in is waiting for the redirect. */
  signing_in: boolean;
  /** Users the cloud holds as `suspended` (no free seat): they cannot use the KS app until a seat is freed. */
  suspended_users: Array<{ id: string; name: string }>;
  last_round: SyncRoundReport | null;
}

export type CloudRecordKind = 'iq' | 'lock' | 'user' | 'tag' | 'access_group';

/** A field both sides changed, or a delete against an edit (field null), for the admin to review. */
export interface CloudConflict {
  id: number;
  kind: CloudRecordKind;
  local_id: string;
  /** What the admin knows the record by (a person's name, a tag number, a door's name). */
  label: string;
  /** Whether the record still exists here. */
  exists: boolean;
  field: string | null;
  local_value: unknown;
  cloud_value: unknown;
  base_value: unknown;
  winner: 'local' | 'cloud';
  detected_at: string;
}

/** A local change the cloud refused for good. */
export interface CloudFailedChange {
  seq: number;
  kind: CloudRecordKind;
  local_id: string;
  label: string;
  operation: 'create' | 'update' | 'delete';
  error: string | null;
  created_at: string;
}
