// Results of audit maintenance, shared by the contract.
export interface ChainReport {
  chain: 'entries' | 'incidents' | 'operator_log' | 'anchors';
  rows: number;
  /** The first row whose chain does not hold, or null when the whole chain checks out. */
  first_break: { seq: number; reason: string } | null;
  /** Where verification started: the latest retention anchor, or the genesis. */
  anchored_at_seq: number | null;
}

export interface AuditVerification {
  ok: boolean;
  chains: ChainReport[];
}

export interface RetentionSettings {
  /** Entries and incidents older than this many days are deleted; null keeps everything. */
  retention_days: number | null;
  /** Personal fields of entries older than this many days are erased; null keeps them. */
  anonymize_after_days: number | null;
}

export interface RetentionRunResult {
  deleted_entries: number;
  deleted_incidents: number;
  anonymized_entries: number;
  /** False when there is more to do (the host runs the rest in later batches). */
  complete: boolean;
}
