// Migration 0020 carries the entries of a version-10 database into the chained audit trail.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../audit/verify.ts';
import { listEntries } from '../../audit/query.ts';
import { openDatabase } from '../db.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-m20-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('migration 0020 (audit trail)', () => {
  it('moves version-10 entries into the chained trail with their ids, names and local times', () => {
    const file = join(dir, 'v10.db');
    const v10 = openDatabase(file, { targetVersion: 10 });
    v10.transaction((w) => {
      const ins = w.prepare(`INSERT INTO entries (utc_ms, local_date_time, event_category, event_detail, access_by, lock_id, lock_name, iq_id,
        user_id, user_name, tag_id, tag_number, source, source_event_id, received_ms) VALUES (?, ?, ?, ?, 'tag', ?, ?, 'iq-1', ?, ?, ?, ?, 'iq:iq-1', ?, ?)`);
      ins.run(Date.parse('2026-03-01T09:00:00Z'), '2026-03-01T10:00:00', 'lock_opened', null, 'lock-a', 'Front door', 'user-1', 'Anna Jansen', 'tag-1', '0000000001', 'ev-1', Date.parse('2026-03-01T09:00:01Z'));
      ins.run(Date.parse('2026-07-01T09:00:00Z'), '2026-07-01T11:00:00', 'lock_rejected', 'outside_schedule', 'lock-a', 'Front door', 'user-1', 'Anna Jansen', 'tag-1', '0000000001', 'ev-2', Date.parse('2026-07-01T09:00:01Z'));
      ins.run(Date.parse('2026-07-02T09:00:00Z'), '2026-07-02T11:00:00', 'lock_opened', null, 'lock-b', 'Back door', null, null, null, null, 'ev-3', Date.parse('2026-07-02T09:00:01Z'));
    });
    v10.close();

    const db = openDatabase(file);
    try {
      expect(db.read.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(20);
      const page = listEntries(db.read, {}, { direction: 'older', limit: 10, with_count: true });
      expect(page.count).toBe(3);
      expect(page.items.map((e) => [e.lock_id, e.lock_customer_reference, e.local_date_time, e.event_detail, e.user_name])).toEqual([
        ['lock-b', 'Back door', '2026-07-02T11:00:00', null, null],
        ['lock-a', 'Front door', '2026-07-01T11:00:00', 'outside_schedule', 'Anna Jansen'],
        ['lock-a', 'Front door', '2026-03-01T10:00:00', null, 'Anna Jansen'],
      ]);
      expect(listEntries(db.read, { user_id: 'user-1' }, { direction: 'older', limit: 10, with_count: true }).count).toBe(2);
      expect(verifyAudit(db.read).ok).toBe(true);
      const counted = db.read.prepare('SELECT sum(n) AS n FROM entry_counts').get() as { n: number };
      expect(counted.n).toBe(3);
      expect(db.read.prepare("SELECT name FROM sqlite_schema WHERE name = 'entries_0010'").get()).toBeUndefined();
    } finally {
      db.close();
    }
  });
});
