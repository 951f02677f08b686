// Migration 0050: the site's card key and the encoder's work log. Added to a version-40 database without
// touching it; the constraints keep a reserved tag number from being reserved twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSite } from '../../host/first-run.ts';
import { openDatabase, type WriteDb } from '../db.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-m50-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const AT = '2026-05-01T10:00:00.000Z';

describe('migration 0050 (card encoding)', () => {
  it('adds site_keys and card_encodings to a version-40 database and keeps what was there', () => {
    const file = join(dir, 'v40.db');
    const v40 = openDatabase(file, { targetVersion: 40 });
    ensureSite(v40, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
    v40.transaction((w) => w.prepare(`INSERT INTO hub_keys (mac, state, sealed_key, created_at) VALUES ('00-14-22-01-23-45', 'pending', x'01', ?)`).run(AT));
    v40.close();

    const db = openDatabase(file, { targetVersion: 50 });
    try {
      expect(db.read.pragma('user_version', { simple: true })).toBe(50);
      expect(db.read.prepare('SELECT mac FROM hub_keys').pluck().all()).toEqual(['00-14-22-01-23-45']);
      for (const t of ['site_keys', 'card_encodings']) {
        expect(db.read.prepare(`SELECT count(*) FROM ${t}`).pluck().get()).toBe(0);
        expect(db.read.prepare(`SELECT strict FROM pragma_table_list WHERE name = ?`).pluck().get(t)).toBe(1);
      }
    } finally {
      db.close();
    }
  });

  it('reserves a tag number once while an encoding is unfinished, and checks its fields', () => {
    const db = openDatabase(':memory:', { targetVersion: 50 });
    const w = db.read as WriteDb;
    w.prepare(`INSERT INTO site_keys (generation, sealed_key, fingerprint, source, created_at) VALUES (1, x'0102', '0123456789abcdef', 'generated', ?)`).run(AT);
    expect(() => w.prepare(`INSERT INTO site_keys (generation, sealed_key, fingerprint, source, created_at) VALUES (2, x'01', '0123456789ABCDEF', 'generated', ?)`).run(AT)).toThrow(/CHECK constraint failed/);
    expect(() => w.prepare(`INSERT INTO site_keys (generation, sealed_key, fingerprint, source, created_at) VALUES (2, x'01', '0123456789abcdef', 'copied', ?)`).run(AT)).toThrow(/CHECK constraint failed/);
    let n = 0;
    const put = (o: { uid?: string; number?: string; state?: string; finished?: string | null; failure?: string | null; counter?: number; generation?: number }) =>
      w
        .prepare(
          `INSERT INTO card_encodings (id, card_uid, tag_number, issue_counter, site_key_generation, encoder, state, failure, started_at, finished_at) VALUES (?, ?, ?, ?, ?, 'sim:1', ?, ?, ?, ?)`,
        )
        .run(`e${++n}`, o.uid ?? '04A1B2C3', o.number ?? '0000000042', o.counter ?? 1, o.generation ?? 1, o.state ?? 'writing', o.failure ?? null, AT, o.finished === undefined ? null : o.finished);
    put({});
    // The same number may not be reserved twice, by writing or failed rows alike…
    expect(() => put({ uid: '04A1B2C4' })).toThrow(/UNIQUE constraint failed: card_encodings.tag_number/);
    expect(() => put({ uid: '04A1B2C4', state: 'failed', failure: 'removed', finished: AT })).toThrow(/UNIQUE constraint failed/);
    // …but finished rows keep their history.
    put({ state: 'verified', finished: AT });
    put({ state: 'abandoned', finished: AT });
    expect(() => put({ uid: '04a1b2c3', number: '0000000043' })).toThrow(/CHECK constraint failed/);
    expect(() => put({ uid: '04A1B2', number: '0000000043' })).toThrow(/CHECK constraint failed/);
    expect(() => put({ number: '42', uid: '04A1B2C5' })).toThrow(/CHECK constraint failed/);
    expect(() => put({ number: '0000000043', counter: 0 })).toThrow(/CHECK constraint failed/);
    expect(() => put({ number: '0000000043', state: 'writing', finished: AT })).toThrow(/CHECK constraint failed/);
    expect(() => put({ number: '0000000043', state: 'failed', finished: AT })).toThrow(/CHECK constraint failed/);
    expect(() => put({ number: '0000000043', generation: 9 })).toThrow(/FOREIGN KEY constraint failed/);
    db.close();
  });
});
