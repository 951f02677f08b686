// Issue 2 figures: full compile at 50k users / 5k locks / 500 groups / 200 IQs (< 2 s), a one-person
// change recompiling only the IQs it affects (< 20 ms), decisions from a compiled table (≥ 2M/s).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessCompiler } from '../core/access/table/compile.ts';
import { TableEvaluator } from '../core/access/table/evaluator.ts';
import { loadSnapshot } from '../core/store/access-snapshot-loader.ts';
import { buildLargeSite, ISSUE_SCALE } from './fixtures/large-site.ts';
import { ms, now, percentile, report, rng, round } from './lib.ts';

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-'));
  try {
    const db = buildLargeSite(join(dir, 'site.db'), ISSUE_SCALE);
    let t = now();
    const snap = loadSnapshot(db.read);
    const loadMs = ms(t);
    const compiler = new AccessCompiler(snap, Date.now());
    t = now();
    const tables = compiler.compileAll();
    let records = 0;
    let bytes = 0;
    for (const table of tables.values()) {
      records += table.size;
      bytes += table.byteSize;
      void table.hash; // hashing is part of compiling
    }
    const compileMs = ms(t);
    report('access.compile_full', {
      ...ISSUE_SCALE,
      snapshot_load_ms: round(loadMs),
      compile_ms: round(compileMs),
      target_ms: 2000,
      tables: tables.size,
      records,
      mbytes: round(bytes / 2 ** 20),
    });

    // One person changes (blocked, or another group): patch their records, rehash the touched tables.
    const r = rng(7);
    const users = [...snap.users.values()];
    const groupIds = [...snap.groups.keys()];
    const samples: number[] = [];
    const touchedCounts: number[] = [];
    for (let i = 0; i < 300; i++) {
      const u = users[Math.floor(r() * users.length)]!;
      if (i % 2 === 0) u.blocked = !u.blocked;
      else {
        const g = groupIds[Math.floor(r() * groupIds.length)]!;
        if (u.groupIds.has(g)) {
          u.groupIds.delete(g);
          snap.groups.get(g)!.memberIds.delete(u.id);
        } else {
          u.groupIds.add(g);
          snap.groups.get(g)!.memberIds.add(u.id);
        }
      }
      const s = now();
      const touched = compiler.usersChanged([u.id]);
      for (const iq of touched) void compiler.table(iq)!.hash;
      samples.push(ms(s));
      touchedCounts.push(touched.size);
    }
    report('access.compile_one_user', {
      p50_ms: round(percentile(samples, 50), 3),
      p95_ms: round(percentile(samples, 95), 3),
      max_ms: round(Math.max(...samples), 3),
      target_ms: 20,
      iqs_touched_avg: round(touchedCounts.reduce((a, b) => a + b, 0) / touchedCounts.length),
    });

    // Decisions from one hub's table: tags it knows, tags it does not, all its locks, a year of instants.
    const [iqId, table] = [...tables].sort((a, b) => b[1].size - a[1].size)[0]!;
    const ev = new TableEvaluator(table);
    const lockIds = [...snap.locks.values()].filter((l) => l.iq_id === iqId).map((l) => l.id);
    // Four in five presentations are by people the hub knows; the rest are other people's cards.
    const tagNumbers = [...snap.tags.values()].map((x) => x.tag_number);
    const known = [...table.keys()].filter((k) => k.startsWith('T')).map((k) => k.slice(1));
    const N = 1 << 16;
    const probeTags = Array.from({ length: N }, () => (r() < 0.8 ? known[Math.floor(r() * known.length)]! : tagNumbers[Math.floor(r() * tagNumbers.length)]!));
    const probeLocks = Array.from({ length: N }, () => lockIds[Math.floor(r() * lockIds.length)]!);
    const base = Date.now();
    const probeTimes = Array.from({ length: N }, () => base + Math.floor(r() * 365 * 86_400_000));
    const door = { privacy_mode: false };
    let granted = 0;
    for (let i = 0; i < N; i++) if (ev.decide(probeTags[i]!, probeLocks[i]!, probeTimes[i]!, door).granted) granted++; // warm-up
    let count = 0;
    granted = 0;
    t = now();
    const deadline = 1500;
    while (ms(t) < deadline) {
      for (let i = 0; i < N; i++) if (ev.decide(probeTags[i]!, probeLocks[i]!, probeTimes[i]!, door).granted) granted++;
      count += N;
    }
    const seconds = ms(t) / 1000;
    report('access.table_decisions', {
      decisions_per_s: Math.round(count / seconds),
      target_per_s: 2_000_000,
      table_records: table.size,
      granted_share: round(granted / count, 3),
      known_tag_share: 0.8,
    });
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
