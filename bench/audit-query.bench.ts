// Issue 3 figures on a 10,000,000-entry trail (two years, bench/fixtures/large-audit.ts):
// - the first page (100 rows, newest first) of each filter kind, p50/p99 over many ids — under 5 ms;
// - counts per day over 30 days (and per hour, category, lock) — under 50 ms;
// - opening the database and answering the first query — under 1 s.
// Queries go through the service (validation, filter translation, the same code the API runs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InputOf } from '../core/contract/contract.ts';
import { systemActor } from '../core/service/actor.ts';
import { GatehouseService } from '../core/service/service.ts';
import { openDatabase } from '../core/store/db.ts';
import { buildLargeAudit } from './fixtures/large-audit.ts';
import { ms, now, percentile, report, rng, round } from './lib.ts';

const ENTRIES = Number(process.env.GH_BENCH_ENTRIES ?? 10_000_000);
const DAYS = 730;

/** Child side of the open-and-first-query figure: a fresh process, as when the app starts. */
function openAndQuery(file: string): void {
  const t = now();
  const db = openDatabase(file);
  const service = new GatehouseService(db);
  const page = service.run(systemActor('bench'), 'entries.list', { limit: 100 });
  const total = ms(t);
  process.stdout.write(JSON.stringify({ ms: total, rows: page.items.length }));
  db.close();
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-'));
  try {
    const file = join(dir, 'audit.db');
    const t = now();
    const audit = buildLargeAudit(file, { entries: ENTRIES, days: DAYS, seed: 11 });
    const buildS = ms(t) / 1000;
    audit.db.close();

    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--open', file], { encoding: 'utf8' });
    const opened = JSON.parse(child.stdout) as { ms: number; rows: number };
    report('audit.open_first_query', { entries: ENTRIES, ms: round(opened.ms), rows: opened.rows, target_ms: 1000, fixture_build_s: round(buildS, 1) });

    const db = openDatabase(file);
    const svc = new GatehouseService(db);
    const sys = systemActor('bench');
    const r = rng(5);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
    const dayMs = 86_400_000;
    const kinds: Array<[string, () => InputOf<'entries.list'>]> = [
      ['none', () => ({})],
      ['lock_busy', () => ({ lock_id: audit.locks[0]!.id })],
      ['lock_any', () => ({ lock_id: pick(audit.locks).id })],
      ['lock_quietest', () => ({ lock_id: audit.locks[audit.locks.length - 1]!.id })],
      ['user', () => ({ user_id: pick(audit.userIds) })],
      ['tag', () => ({ tag_id: pick(audit.tagIds) })],
      ['iq', () => ({ iq_id: pick(audit.iqIds) })],
      ['category_rejected', () => ({ event_category: 'lock_rejected' })],
      ['category_privacy_mode', () => ({ event_category: 'privacy_mode' })],
      ['detail_holiday', () => ({ event_detail: 'holiday' })],
      ['time_range_day', () => {
        const from = audit.from + Math.floor(r() * (DAYS - 1)) * dayMs;
        return { from: new Date(from).toISOString(), until: new Date(from + dayMs).toISOString() };
      }],
      ['user_and_time_range', () => {
        const from = audit.from + Math.floor(r() * (DAYS - 30)) * dayMs;
        return { user_id: pick(audit.userIds), from: new Date(from).toISOString(), until: new Date(from + 30 * dayMs).toISOString() };
      }],
    ];
    const firstPages: Record<string, { p50_ms: number; p99_ms: number }> = {};
    for (const [kind, input] of kinds) {
      for (let i = 0; i < 20; i++) svc.run(sys, 'entries.list', input());
      const samples: number[] = [];
      for (let i = 0; i < 300; i++) {
        const q = input();
        const s = now();
        svc.run(sys, 'entries.list', q);
        samples.push(ms(s));
      }
      firstPages[kind] = { p50_ms: round(percentile(samples, 50), 3), p99_ms: round(percentile(samples, 99), 3) };
    }
    const worst = Math.max(...Object.values(firstPages).map((f) => f.p99_ms));
    report('audit.first_page', { entries: ENTRIES, limit: 100, worst_p99_ms: worst, target_p99_ms: 5, ...firstPages });

    // Next pages too: walking back 20 pages of the busiest lock.
    const walk: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const s = now();
      const page = svc.run(sys, 'entries.list', { lock_id: audit.locks[0]!.id, cursor });
      walk.push(ms(s));
      cursor = page.older_cursor ?? undefined;
    }
    report('audit.next_pages', { pages: 20, p50_ms: round(percentile(walk, 50), 3), max_ms: round(Math.max(...walk), 3) });

    const lastDay = new Date(audit.until - dayMs).toISOString().slice(0, 10);
    const firstDay = new Date(audit.until - 30 * dayMs).toISOString().slice(0, 10);
    const counts: Record<string, { p50_ms: number; p99_ms: number; buckets: number }> = {};
    for (const group_by of ['day', 'hour', 'category', 'lock'] as const) {
      const samples: number[] = [];
      let buckets = 0;
      for (let i = 0; i < 50; i++) {
        const s = now();
        buckets = svc.run(sys, 'entries.counts', { group_by, from_local: firstDay, until_local: lastDay }).length;
        samples.push(ms(s));
      }
      counts[group_by] = { p50_ms: round(percentile(samples, 50), 2), p99_ms: round(percentile(samples, 99), 2), buckets };
    }
    report('audit.counts_30_days', { entries: ENTRIES, target_ms: 50, ...counts });
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--open') openAndQuery(process.argv[3]!);
