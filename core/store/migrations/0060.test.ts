// Migration 0060: the cloud sync tables. Added to a version-50 database without touching it, sync off;
// the constraints keep one cloud record from being linked to two local ones and a delete from
// carrying fields.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSite } from '../../host/first-run.ts';
import { openDatabase, type WriteDb } from '../db.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-m60-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const AT = '2026-05-01T10:00:00.000Z';

describe('migration 0060 (cloud sync)', () => {
  it('adds the sync tables to a version-50 database, keeps what was there, and leaves sync off', () => {
    const file = join(dir, 'v50.db');
    const v50 = openDatabase(file, { targetVersion: 50 });
    ensureSite(v50, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
    const site = v50.read.prepare('SELECT id FROM site').pluck().get();
    v50.close();

    const db = openDatabase(file, { targetVersion: 60 });
    try {
      expect(db.read.pragma('user_version', { simple: true })).toBe(60);
      expect(db.read.prepare('SELECT id FROM site').pluck().get()).toBe(site);
      for (const t of ['cloud_outbox', 'cloud_links', 'cloud_records', 'cloud_conflicts']) {
        expect(db.read.prepare(`SELECT count(*) FROM ${t}`).pluck().get()).toBe(0);
        expect(db.read.prepare(`SELECT strict FROM pragma_table_list WHERE name = ?`).pluck().get(t)).toBe(1);
      }
      expect(db.read.prepare('SELECT enabled, cloud_site_id, last_pull_at FROM cloud_sync_state').all()).toEqual([{ enabled: 0, cloud_site_id: null, last_pull_at: null }]);
    } finally {
      db.close();
    }
  });

  it('links each local record to one cloud record and back, a user by both of its cloud ids', () => {
    const db = openDatabase(':memory:', { targetVersion: 60 });
    const w = db.read as WriteDb;
    const link = (kind: string, local: string, cloud: string, platform: string | null = null) =>
      w.prepare('INSERT INTO cloud_links (kind, local_id, cloud_id, cloud_user_id, linked_at) VALUES (?, ?, ?, ?, ?)').run(kind, local, cloud, platform, AT);
    link('user', 'u1', 'c1', 'p1');
    link('tag', 'u1', 'c1');
    expect(() => link('user', 'u1', 'c2', 'p2')).toThrow(/UNIQUE constraint failed/);
    expect(() => link('user', 'u2', 'c1', 'p2')).toThrow(/UNIQUE constraint failed/);
    expect(() => link('user', 'u2', 'c2', 'p1')).toThrow(/UNIQUE constraint failed/);
    expect(() => link('user', 'u2', 'c2')).toThrow(/CHECK constraint failed/);
    expect(() => link('lock', 'l1', 'c9', 'p9')).toThrow(/CHECK constraint failed/);
    expect(() => link('holiday_calendar', 'h1', 'c9')).toThrow(/CHECK constraint failed/);
    db.close();
  });

  it('keeps outbox rows in commit order with a key of their own, and a delete without fields', () => {
    const db = openDatabase(':memory:', { targetVersion: 60 });
    const w = db.read as WriteDb;
    const put = (op: string, fields: string | null, key: string, state = 'pending', finished: string | null = null) =>
      w
        .prepare(`INSERT INTO cloud_outbox (record_kind, local_id, operation, fields, idempotency_key, state, created_at, finished_at) VALUES ('user', 'u1', ?, ?, ?, ?, ?, ?)`)
        .run(op, fields, key, state, AT, finished);
    put('create', '{"first_name":"Ada"}', 'k1');
    put('update', '{"first_name":"Ida"}', 'k2', 'done', AT);
    w.prepare('DELETE FROM cloud_outbox WHERE seq = 2').run();
    put('delete', null, 'k3');
    // A pruned row's seq is not handed out again.
    expect(w.prepare('SELECT seq FROM cloud_outbox ORDER BY seq').pluck().all()).toEqual([1, 3]);
    expect(() => put('update', '{}', 'k1')).toThrow(/UNIQUE constraint failed: cloud_outbox.idempotency_key/);
    expect(() => put('delete', '{}', 'k4')).toThrow(/CHECK constraint failed/);
    expect(() => put('update', null, 'k4')).toThrow(/CHECK constraint failed/);
    expect(() => put('update', '[1]', 'k4')).toThrow(/CHECK constraint failed/);
    expect(() => put('update', '{}', 'k4', 'done')).toThrow(/CHECK constraint failed/);
    expect(() => put('update', '{}', 'k4', 'pending', AT)).toThrow(/CHECK constraint failed/);
    db.close();
  });

  it('refuses a record row that knows neither side, and a resolved conflict without its resolution', () => {
    const db = openDatabase(':memory:', { targetVersion: 60 });
    const w = db.read as WriteDb;
    expect(() => w.prepare(`INSERT INTO cloud_records (kind, local_id, queued, base) VALUES ('user', 'u1', NULL, NULL)`).run()).toThrow(/CHECK constraint failed/);
    w.prepare(`INSERT INTO cloud_records (kind, local_id, queued, base) VALUES ('user', 'u1', NULL, '{}')`).run();
    const conflict = (resolvedAt: string | null, resolution: string | null) =>
      w
        .prepare(`INSERT INTO cloud_conflicts (kind, local_id, field, local_value, cloud_value, base_value, winner, detected_at, resolved_at, resolution) VALUES ('user', 'u1', 'first_name', '"A"', '"B"', '"C"', 'cloud', ?, ?, ?)`)
        .run(AT, resolvedAt, resolution);
    conflict(null, null);
    conflict(AT, 'took_local');
    expect(() => conflict(AT, null)).toThrow(/CHECK constraint failed/);
    expect(() => conflict(null, 'took_local')).toThrow(/CHECK constraint failed/);
    db.close();
  });
});
