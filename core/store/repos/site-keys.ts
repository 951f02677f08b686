// The site's card keys (table site_keys, migration 0050): sealed bytes only. Sealing and opening them is
// core/secrets/site-keys.ts's business.
import { stmt, type ReadDb, type WriteDb } from '../db.ts';

export type SiteKeySource = 'generated' | 'imported';

export interface SiteKeyRow {
  generation: number;
  sealed_key: Uint8Array;
  /** 16 hex digits: what an admin compares between a backup and an installation (docs/credentials.md). */
  fingerprint: string;
  source: SiteKeySource;
  created_at: string;
}

interface SqlRow extends Omit<SiteKeyRow, 'sealed_key'> {
  sealed_key: Buffer;
}

/** The current (newest) key, or null when the site has none yet. */
export function currentSiteKeyRow(db: ReadDb): SiteKeyRow | null {
  const r = stmt(db, 'SELECT * FROM site_keys ORDER BY generation DESC LIMIT 1').get() as SqlRow | undefined;
  return r ? { ...r, sealed_key: new Uint8Array(r.sealed_key) } : null;
}

export function siteKeyRow(db: ReadDb, generation: number): SiteKeyRow | null {
  const r = stmt(db, 'SELECT * FROM site_keys WHERE generation = ?').get(generation) as SqlRow | undefined;
  return r ? { ...r, sealed_key: new Uint8Array(r.sealed_key) } : null;
}

/** Adds the next generation and returns its number. */
export function insertSiteKey(db: WriteDb, row: Omit<SiteKeyRow, 'generation'>): number {
  const next = (stmt(db, 'SELECT coalesce(max(generation), 0) + 1 FROM site_keys').pluck().get() as number);
  stmt(db, 'INSERT INTO site_keys (generation, sealed_key, fingerprint, source, created_at) VALUES (?, ?, ?, ?, ?)').run(
    next,
    Buffer.from(row.sealed_key.buffer, row.sealed_key.byteOffset, row.sealed_key.byteLength),
    row.fingerprint,
    row.source,
    row.created_at,
  );
  return next;
}
