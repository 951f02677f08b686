// Migration 0061: the cloud account row and the suspended flag on user links. Added to a version-60
// database with links in it, which keep their ids and start unflagged.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type WriteDb } from '../db.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-m61-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const AT = '2026-05-01T10:00:00.000Z';

describe('migration 0061 (cloud account)', () => {
  it('keeps the links of a version-60 database, unflagged, and holds at most one account', () => {
    const file = join(dir, 'v60.db');
    const v60 = openDatabase(file, { targetVersion: 60 });
    (v60.read as WriteDb).prepare('INSERT INTO cloud_links (kind, local_id, cloud_id, cloud_user_id, linked_at) VALUES (?, ?, ?, ?, ?)').run('user', 'u1', 'c1', 'p1', AT);
    v60.close();

    const db = openDatabase(file, { targetVersion: 61 });
    try {
      const w = db.read as WriteDb;
      expect(w.prepare('SELECT kind, local_id, cloud_id, cloud_user_id, suspended FROM cloud_links').all()).toEqual([{ kind: 'user', local_id: 'u1', cloud_id: 'c1', cloud_user_id: 'p1', suspended: 0 }]);
      expect(() => w.prepare('UPDATE cloud_links SET suspended = 2').run()).toThrow(/CHECK constraint failed/);
      const account = (singleton: number) =>
        w.prepare('INSERT INTO cloud_account (singleton, api_url, identity_url, client_id, connected_at, connected_by) VALUES (?, ?, ?, ?, ?, ?)').run(singleton, 'https://a', 'https://i', 'c', AT, 'owner');
      account(1);
      expect(() => account(1)).toThrow(/UNIQUE constraint failed/);
      expect(() => account(2)).toThrow(/CHECK constraint failed/);
      expect(w.prepare(`SELECT strict FROM pragma_table_list WHERE name = 'cloud_account'`).pluck().get()).toBe(1);
    } finally {
      db.close();
    }
  });
});
