// Exactly once, through crashes: a device + driver process (ingest-child.ts) ingests events 1..N and
// acknowledges them to the device only after `entries.ingest` returned. It is killed with SIGKILL at
// random moments at least 30 times and restarted each time, then allowed to finish. Whatever the kill
// interrupted (a transaction, its fsync, the device's state file), every event the device produced must
// be stored exactly once, and the trail must verify with its derived tables in step.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../core/audit/verify.ts';
import { fullIntegrityCheck, openDatabase } from '../../core/store/db.ts';

const CHILD = join(process.cwd(), 'test', 'audit', 'ingest-child.ts');
/**
 * Large enough that the device cannot finish within the kill rounds even on a fast machine (100,000
 * was done after 21 rounds once: each round ingests for up to 300 ms at 30,000 events/s or more).
 */
const N = 300_000;
const KILLS = 35;
const dir = mkdtempSync(join(tmpdir(), 'gh-ingest-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  /** Acknowledged count the device reported at start. */
  ackedAtStart: number | null;
  killed: boolean;
  done: boolean;
}

/** Starts the device; kills it `killAfterMs` after it is ready (null: lets it finish). */
function runDevice(killAfterMs: number | null): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(N)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const run: Run = { ackedAtStart: null, killed: false, done: false };
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (b) => {
      out += String(b);
      const m = /^ready (\d+)$/m.exec(out);
      if (m && run.ackedAtStart === null) {
        run.ackedAtStart = Number(m[1]);
        if (killAfterMs !== null) {
          setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null) {
              run.killed = true;
              child.kill('SIGKILL');
            }
          }, killAfterMs);
        }
      }
    });
    child.stderr.on('data', (b) => (err += String(b)));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      run.done = /^done$/m.test(out);
      if (signal === 'SIGKILL' && run.killed) return resolve(run);
      if (code === 0 && run.done) return resolve(run);
      reject(new Error(`device exited unexpectedly (${code ?? signal}):\n${out}\n${err}`));
    });
  });
}

describe('SIGKILL during ingest', () => {
  it(`stores every event exactly once across ${KILLS} kills`, async () => {
    const runs: Run[] = [];
    for (let i = 0; i < KILLS; i++) {
      const run = await runDevice(20 + Math.floor(Math.random() * 281));
      runs.push(run);
      if (run.done) break;
    }
    while (!runs.at(-1)!.done) runs.push(await runDevice(null));

    const kills = runs.filter((r) => r.killed).length;
    expect(kills).toBeGreaterThanOrEqual(30);
    // The device's own record never went backwards and made progress across the kills.
    const acked = runs.map((r) => r.ackedAtStart!);
    expect(acked).toEqual([...acked].sort((a, b) => a - b));
    expect(acked[kills - 1]).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(dir, 'device.json'), 'utf8'))).toEqual({ acked: N });
    expect(existsSync(join(dir, 'device.json.tmp'))).toBe(false);

    const db = openDatabase(join(dir, 'gatehouse.db'));
    try {
      const read = db.read;
      const one = (sql: string, ...p: unknown[]) => read.prepare(sql).pluck().get(...p) as number;
      const ids = read.prepare(`SELECT e.source_event_id FROM entries e JOIN audit_refs s ON s.ref = e.source_ref WHERE s.kind = 'source' AND s.id = 'device-1'`).pluck().all() as string[];
      expect(ids.length).toBe(N);
      const distinct = new Set(ids);
      expect(distinct.size).toBe(N);
      const missing = [];
      for (let i = 1; i <= N; i++) if (!distinct.has(`ev-${i}`)) missing.push(i);
      expect(missing).toEqual([]);
      // Nothing else in the trail, and duplicates never took a seq.
      expect(one('SELECT count(*) FROM entries')).toBe(N);
      expect(one('SELECT max(seq) FROM entries')).toBe(N);
      // Tamper evidence and the derived tables survived the kills.
      const report = verifyAudit(read);
      expect(report.chains.filter((c) => c.first_break)).toEqual([]);
      expect(report.ok).toBe(true);
      expect(one('SELECT sum(n) FROM entry_counts')).toBe(N);
      expect(one(`SELECT s.n FROM audit_last_seen s JOIN audit_refs r ON r.ref = s.ref WHERE r.kind = 'lock'`)).toBe(N);
      // Every third event carries an unknown tag; the others the person's.
      expect(one('SELECT count(*) FROM entries WHERE user_ref IS NOT NULL')).toBe(N - Math.floor(N / 3));
      expect(fullIntegrityCheck(read)).toEqual([]);
    } finally {
      db.close();
    }
  }, 150_000);
});
