// Per-hub secure-channel keys (table hub_keys, migration 0040): sealed bytes only. Sealing and opening
// them, and the order of the commissioning steps, are core/secrets/hub-keys.ts's business.
import { normalizeMac } from '../../domain/mac.ts';
import { stmt, type ReadDb, type WriteDb } from '../db.ts';

export type HubKeyState = 'pending' | 'active';

export interface HubKeyRow {
  /** "00-14-22-01-23-45". */
  mac: string;
  state: HubKeyState;
  /** The key sealed by core/secrets (purpose bound to the MAC). */
  sealed_key: Uint8Array;
  created_at: string;
  /** When a handshake proved the hub holds it; null while pending. */
  confirmed_at: string | null;
}

interface SqlRow {
  mac: string;
  state: HubKeyState;
  sealed_key: Buffer;
  created_at: string;
  confirmed_at: string | null;
}

const toRow = (r: SqlRow): HubKeyRow => ({ ...r, sealed_key: new Uint8Array(r.sealed_key) });
const blob = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** The hub's keys, the active one first. */
export function hubKeyRows(db: ReadDb, mac: string): HubKeyRow[] {
  const rows = stmt(db, `SELECT * FROM hub_keys WHERE mac = ? ORDER BY state = 'pending'`).all(normalizeMac(mac)) as SqlRow[];
  return rows.map(toRow);
}

/** Every hub we hold a key for, and the state of its keys (no key material). */
export function hubKeyStates(db: ReadDb): Array<{ mac: string; state: HubKeyState; created_at: string; confirmed_at: string | null }> {
  return stmt(db, 'SELECT mac, state, created_at, confirmed_at FROM hub_keys ORDER BY mac, state').all() as Array<{
    mac: string;
    state: HubKeyState;
    created_at: string;
    confirmed_at: string | null;
  }>;
}

/** Stores a key about to be given to the hub, replacing a pending key it never took. */
export function putPendingHubKey(db: WriteDb, mac: string, sealed: Uint8Array, at: string): void {
  stmt(db, `INSERT OR REPLACE INTO hub_keys (mac, state, sealed_key, created_at, confirmed_at) VALUES (?, 'pending', ?, ?, NULL)`).run(normalizeMac(mac), blob(sealed), at);
}

/**
 * The hub proved it holds the pending key with these sealed bytes: it becomes the hub's only active key.
 * False when no such pending row exists (it was replaced or confirmed meanwhile).
 */
export function activatePendingHubKey(db: WriteDb, mac: string, sealed: Uint8Array, at: string): boolean {
  const m = normalizeMac(mac);
  const pending = stmt(db, `SELECT 1 FROM hub_keys WHERE mac = ? AND state = 'pending' AND sealed_key = ?`).get(m, blob(sealed));
  if (!pending) return false;
  stmt(db, `DELETE FROM hub_keys WHERE mac = ? AND state = 'active'`).run(m);
  stmt(db, `UPDATE hub_keys SET state = 'active', confirmed_at = ? WHERE mac = ? AND state = 'pending'`).run(at, m);
  return true;
}

/** Forgets the hub's pending key; true when there was one. */
export function deletePendingHubKey(db: WriteDb, mac: string): boolean {
  return stmt(db, `DELETE FROM hub_keys WHERE mac = ? AND state = 'pending'`).run(normalizeMac(mac)).changes > 0;
}

/** Forgets every key of the hub; true when there was one. */
export function deleteHubKeys(db: WriteDb, mac: string): boolean {
  return stmt(db, 'DELETE FROM hub_keys WHERE mac = ?').run(normalizeMac(mac)).changes > 0;
}
