import type { Site } from '../../domain/model.ts';
import { stmt, type ReadDb, type WriteDb } from '../db.ts';

export function getSite(db: ReadDb): Site | null {
  const row = stmt(db, 'SELECT id, site_uid, customer_reference, time_zone, created_at, updated_at FROM site WHERE singleton = 1').get() as Site | undefined;
  return row ?? null;
}

export function insertSite(db: WriteDb, site: Site): void {
  stmt(db, `INSERT INTO site (singleton, id, site_uid, customer_reference, time_zone, created_at, updated_at)
            VALUES (1, @id, @site_uid, @customer_reference, @time_zone, @created_at, @updated_at)`).run(site);
}

export function updateSite(db: WriteDb, patch: Partial<Pick<Site, 'customer_reference' | 'time_zone'>>, now: string): void {
  const cur = getSite(db)!;
  stmt(db, 'UPDATE site SET customer_reference = ?, time_zone = ?, updated_at = ? WHERE singleton = 1').run(
    patch.customer_reference ?? cur.customer_reference,
    patch.time_zone ?? cur.time_zone,
    now,
  );
}

export function getSetting<T>(db: ReadDb, key: string): T | null {
  const row = stmt(db, 'SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
  return row ? (JSON.parse(row.value) as T) : null;
}

export function setSetting(db: WriteDb, key: string, value: unknown): void {
  stmt(db, 'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
}
