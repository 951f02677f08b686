// The service's handle on the audit trail: state that outlives one command (zone offsets, salts) and
// the entry points the handlers and the host use.
import { SaltPool } from '../audit/chain.ts';
import { CommittedRefs, ingest, RefResolver, validateEntries, validateIncidents, type IngestResult } from '../audit/ingest.ts';
import { getIncident } from '../audit/incidents.ts';
import { getEntry } from '../audit/query.ts';
import { ZoneOffsetCache } from '../audit/zone-offsets.ts';
import type { AccessSnapshot } from '../access/snapshot.ts';
import { getSetting } from '../store/repos/site.ts';
import type { ReadDb, WriteDb } from '../store/db.ts';
import type { CommandContext } from './context.ts';

export class AuditTrail {
  private readonly offsets = new ZoneOffsetCache();
  private readonly salts = new SaltPool();
  private readonly committedRefs = new CommittedRefs();

  constructor(private readonly snapshot: () => AccessSnapshot) {}

  /**
   * Stores a batch of device events in the command's transaction. Newly stored entries and incidents
   * are pushed to live views after the commit (small batches only).
   */
  ingest(ctx: CommandContext, source: string, rawEntries: unknown[], rawIncidents: unknown[]): IngestResult {
    const entries = validateEntries(rawEntries);
    const incidents = validateIncidents(rawIncidents);
    const refs = new RefResolver(ctx.db, this.committedRefs);
    ctx.afterCommit(() => refs.commit());
    const result = ingest(
      { db: ctx.db, refs, snapshot: this.snapshot(), now: ctx.now, offsets: this.offsets, salts: this.salts, anonymizeBefore: anonymizeBefore(ctx.db, ctx.now) },
      source,
      entries,
      incidents,
    );
    if (result.stored_entry_seqs.length <= 100) {
      for (const seq of result.stored_entry_seqs) {
        const row = getEntry(ctx.db, seq);
        if (row) ctx.emit('entry.new', row);
      }
    }
    if (result.stored_incident_seqs.length <= 100) {
      for (const seq of result.stored_incident_seqs) {
        const row = getIncident(ctx.db, seq);
        if (row) ctx.emit('incident.new', row);
      }
    }
    return result;
  }
}

/** Entries older than this are stored without personal fields (the privacy setting applies at once). */
export function anonymizeBefore(db: ReadDb | WriteDb, now: number): number | null {
  const days = getSetting<number | null>(db, 'audit.anonymize_after_days');
  return days ? now - days * 86_400_000 : null;
}
