// Issue 3 figure: CSV export of the audit trail at ≥ 300k rows/s with resident memory growing by less
// than 50 MB. The trail: 1,000,000 entries over a year (bench/fixtures/large-audit.ts).
//
// Each export runs in a fresh process, as `gatehouse export entries` does: a new connection with the
// CLI's page cache, cold code. Memory: the baseline is the resident set after opening the database and
// a full collection; it is sampled after every chunk and the largest growth is reported. Figures:
// - rows_per_s: producing the CSV text (exportEntries, chunks consumed as they come);
// - to_file: the same, written to a file chunk by chunk (what the CLI does with --out);
// - lock_filter: the busiest door's entries (a filter served by a day-led index);
// - jsonl: JSON lines instead of CSV.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXPORT_PAGE_CACHE_KIB, exportEntries, type ExportOptions } from '../core/audit/export.ts';
import { openDatabase } from '../core/store/db.ts';
import { buildLargeAudit } from './fixtures/large-audit.ts';
import { ms, now, report, round } from './lib.ts';

const ENTRIES = 1_000_000;
const MB = 2 ** 20;

interface Job {
  db: string;
  out: string | null;
  format: ExportOptions['format'];
  filter: ExportOptions['filter'];
}

interface Measured {
  rows: number;
  rows_per_s: number;
  rss_growth_mb: number;
}

/** Runs one export in this process (the child side). */
function measure(job: Job): Measured {
  const db = openDatabase(job.db);
  db.read.pragma(`cache_size = -${EXPORT_PAGE_CACHE_KIB}`);
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage.rss();
  let maxRss = baseline;
  let rows = 0;
  const fd = job.out ? openSync(job.out, 'w') : null;
  const t = now();
  try {
    for (const chunk of exportEntries(db.read, { format: job.format, filter: job.filter, onProgress: (done) => void (rows = done) })) {
      if (fd !== null) writeSync(fd, chunk);
      const rss = process.memoryUsage.rss();
      if (rss > maxRss) maxRss = rss;
    }
  } finally {
    if (fd !== null) closeSync(fd);
    db.close();
  }
  return { rows, rows_per_s: Math.round(rows / (ms(t) / 1000)), rss_growth_mb: round((maxRss - baseline) / MB, 1) };
}

/** Runs one export in a fresh Node process. */
function inChild(job: Job): Measured {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(job)], { encoding: 'utf8', maxBuffer: 2 ** 20 });
  if (r.status !== 0) throw new Error(`export child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Measured;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-'));
  try {
    const file = join(dir, 'audit.db');
    const t = now();
    const fixture = buildLargeAudit(file, { entries: ENTRIES, days: 365, seed: 42 });
    const buildMs = ms(t);
    fixture.db.close();
    const busiest = fixture.locks[0]!;
    const out = join(dir, 'export.out');

    const csv = inChild({ db: file, out: null, format: 'csv', filter: {} });
    const toFile = inChild({ db: file, out, format: 'csv', filter: {} });
    const lock = inChild({ db: file, out: null, format: 'csv', filter: { lock_id: busiest.id } });
    const jsonl = inChild({ db: file, out: null, format: 'jsonl', filter: {} });
    report('audit.export_csv', {
      entries: ENTRIES,
      fixture_build_s: round(buildMs / 1000, 1),
      rows_per_s: csv.rows_per_s,
      target_rows_per_s: 300_000,
      rss_growth_mb: csv.rss_growth_mb,
      target_rss_growth_mb: 50,
      to_file: { rows_per_s: toFile.rows_per_s, rss_growth_mb: toFile.rss_growth_mb },
      lock_filter: lock,
      jsonl: { rows_per_s: jsonl.rows_per_s, rss_growth_mb: jsonl.rss_growth_mb },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Child side: `node --expose-gc --import tsx bench/audit-export.bench.ts '<job>'` prints one export's figures.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2]) {
  process.stdout.write(JSON.stringify(measure(JSON.parse(process.argv[2]) as Job)));
}
