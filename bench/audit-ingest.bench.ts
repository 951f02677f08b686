// Issue 3 figure: entries/s through the real ingest path (validation, references, hash chain, hourly
// counts, last-seen, every index, a durable commit per batch of 1000) against a raw better-sqlite3
// insert of the same rows into a bare table, in the same run. Target ratio ≥ 0.4.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { systemActor } from '../core/service/actor.ts';
import { GatehouseService } from '../core/service/service.ts';
import { buildLargeSite } from './fixtures/large-site.ts';
import { ms, now, report, rng, round } from './lib.ts';

const EVENTS = 200_000;
const BATCH = 1000;

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-'));
  try {
    const db = buildLargeSite(join(dir, 'site.db'), { users: 5_000, locks: 100, groups: 20, iqs: 5 });
    const svc = new GatehouseService(db);
    const sys = systemActor('bench');
    const snap = svc.engine.snapshot;
    const locks = [...snap.locks.keys()];
    const tags = [...snap.tags.values()].map((t) => t.tag_number);
    const r = rng(3);
    const start = Date.now() - 30 * 86_400_000;
    const categories = ['lock_opened', 'lock_opened', 'lock_opened', 'lock_opened', 'lock_rejected'] as const;
    const events = Array.from({ length: EVENTS }, (_, i) => {
      const category = categories[Math.floor(r() * categories.length)]!;
      return {
        event_id: String(i + 1),
        time: new Date(start + Math.floor((i / EVENTS) * 30 * 86_400_000)).toISOString(),
        event_category: category,
        event_detail: category === 'lock_rejected' ? 'outside_schedule' : null,
        access_by: 'tag',
        lock_id: locks[Math.floor(r() * locks.length)]!,
        tag_number: r() < 0.02 ? '9999999999' : tags[Math.floor(r() * tags.length)]!,
      };
    });

    let t = now();
    for (let i = 0; i < EVENTS; i += BATCH) svc.run(sys, 'entries.ingest', { source: 'iq:bench', entries: events.slice(i, i + BATCH) });
    const ingestMs = ms(t);
    const stored = (db.read.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
    if (stored !== EVENTS) throw new Error(`stored ${stored} of ${EVENTS}`);

    // The same rows, as stored, into a bare table with the same pragmas and batch commits.
    const rows = db.read.prepare('SELECT * FROM entries ORDER BY seq').all() as Array<Record<string, unknown>>;
    const raw = new Database(join(dir, 'raw.db'));
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = FULL');
    raw.exec(`CREATE TABLE entries (seq INTEGER PRIMARY KEY, utc_ms INTEGER, utc_offset_min INTEGER, device_ms INTEGER, received_ms INTEGER,
      event_category TEXT, event_detail TEXT, access_by TEXT, lock_ref INTEGER, lock_name TEXT, iq_ref INTEGER, user_ref INTEGER, user_name TEXT,
      tag_ref INTEGER, tag_number TEXT, source_ref INTEGER, source_event_id TEXT, personal_salt BLOB, personal_digest BLOB, hash BLOB)`);
    const cols = Object.keys(rows[0]!).filter((c) => c !== 'day');
    const ins = raw.prepare(`INSERT INTO entries (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
    const batch = raw.transaction((chunk: Array<Record<string, unknown>>) => {
      for (const { day: _day, ...row } of chunk) ins.run(row);
    });
    t = now();
    for (let i = 0; i < rows.length; i += BATCH) batch(rows.slice(i, i + BATCH));
    const rawMs = ms(t);
    raw.close();

    const ingestRate = EVENTS / (ingestMs / 1000);
    const rawRate = EVENTS / (rawMs / 1000);
    report('audit.ingest', {
      events: EVENTS,
      batch: BATCH,
      ingest_per_s: Math.round(ingestRate),
      raw_insert_per_s: Math.round(rawRate),
      ratio: round(ingestRate / rawRate, 3),
      target_ratio: 0.4,
    });
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
