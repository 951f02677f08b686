// Migration 0040: per-hub secure-channel keys. Added to a version-30 database without touching it; the
// table takes one active and one pending key per hub, by normalised MAC, and nothing else.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSite } from '../../host/first-run.ts';
import { openDatabase, type WriteDb } from '../db.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-m40-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MAC = '00-14-22-01-23-45';
const AT = '2026-05-01T10:00:00.000Z';

describe('migration 0040 (hub keys)', () => {
  it('adds hub_keys to a version-30 database and keeps what was there', () => {
    const file = join(dir, 'v30.db');
    const v30 = openDatabase(file, { targetVersion: 30 });
    ensureSite(v30, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
    v30.transaction((w) =>
      w.prepare(`INSERT INTO iqs (id, mac, customer_reference, time_zone, created_at, updated_at) VALUES ('iq-1', ?, 'Main', 'Europe/Amsterdam', ?, ?)`).run(MAC, AT, AT),
    );
    expect(v30.read.prepare(`SELECT name FROM sqlite_schema WHERE name = 'hub_keys'`).get()).toBeUndefined();
    v30.close();

    const db = openDatabase(file, { targetVersion: 40 });
    try {
      expect(db.read.pragma('user_version', { simple: true })).toBe(40);
      expect(db.read.prepare('SELECT id, mac FROM iqs').all()).toEqual([{ id: 'iq-1', mac: MAC }]);
      expect(db.read.prepare('SELECT count(*) FROM hub_keys').pluck().get()).toBe(0);
      const table = db.read.prepare(`SELECT strict, wr FROM pragma_table_list WHERE name = 'hub_keys'`).get();
      expect(table).toEqual({ strict: 1, wr: 1 });
    } finally {
      db.close();
    }
  });

  it('holds one active and one pending key per hub, by normalised MAC, with consistent confirmation times', () => {
    const db = openDatabase(':memory:', { targetVersion: 40 });
    // Statements outside a transaction: each is its own, so a refused one changes nothing.
    const w = db.read as WriteDb;
    const put = (mac: string, state: string, sealed: unknown, confirmed: string | null) =>
      w.prepare('INSERT INTO hub_keys (mac, state, sealed_key, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?)').run(mac, state, sealed, AT, confirmed);
    const sealed = Buffer.from('sealed bytes');
    put(MAC, 'active', sealed, AT);
    put(MAC, 'pending', sealed, null);
    expect(() => put(MAC, 'pending', sealed, null)).toThrow(/UNIQUE constraint failed: hub_keys.mac, hub_keys.state/);
    expect(() => put('00-14-22-01-23-46', 'retired', sealed, null)).toThrow(/CHECK constraint failed: state IN/);
    for (const bad of ['00:14:22:01:23:46', '00-14-22-01-23-4f', '0014220123-46', '00-14-22-01-23', '00-14-22-01-23-45-67']) {
      expect(() => put(bad, 'pending', sealed, null), bad).toThrow(/CHECK constraint failed: mac GLOB/);
    }
    expect(() => put('00-14-22-01-23-46', 'active', sealed, null)).toThrow(/CHECK constraint failed/);
    expect(() => put('00-14-22-01-23-46', 'pending', sealed, AT)).toThrow(/CHECK constraint failed/);
    expect(() => put('00-14-22-01-23-46', 'pending', Buffer.alloc(0), null)).toThrow(/CHECK constraint failed: length\(sealed_key\) > 0/);
    // STRICT: a key is bytes, never text that a driver might mangle.
    expect(() => put('00-14-22-01-23-46', 'pending', 'text', null)).toThrow(/cannot store TEXT value in BLOB column/);
    expect(w.prepare('SELECT mac, state FROM hub_keys ORDER BY state').all()).toEqual([
      { mac: MAC, state: 'active' },
      { mac: MAC, state: 'pending' },
    ]);
    db.close();
  });
});
