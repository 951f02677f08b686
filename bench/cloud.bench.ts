// Issue 7 figure, cloud sync after a long time offline, through the real path: the core's outbox and
// sync engine on a SQLite file, the KS Connect client and port (bin/cloud-port.ts) over HTTP to the mock
// KS cloud (test/ks-cloud) in a process of its own (its memory and CPU are not Gatehouse's), no faults.
// - cloud.offline_30_days: a site of 2,000 people, 1,000 tags, 40 doors and 40 groups, synced, then 30
//   simulated days without the cloud: N local changes (people edited, members added and removed, tags
//   blocked) spread over the days while the cloud gathers N entries at the site's doors. Then rounds
//   until a round finds nothing to do: time, rounds, requests, and the live heap's peak above where
//   it started. Run for N = 10,000 (the baseline) and N = 100,000 in the same process: memory is
//   bounded when the peak does not grow with N.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setCloudSyncEnabled } from '../core/cloud/outbox.ts';
import { CloudSync } from '../core/cloud/sync-engine.ts';
import { ensureSite } from '../core/host/first-run.ts';
import { systemActor } from '../core/service/actor.ts';
import { GatehouseService } from '../core/service/service.ts';
import { openDatabase } from '../core/store/db.ts';
import { linkByLocalId } from '../core/store/repos/cloud.ts';
import type { MockAccount } from '../test/ks-cloud/signed-in.ts';
import { ms, now, report, rng, round } from './lib.ts';
import { cloudPort } from '../test/cloud/fixture.ts';

const DAY = 86_400_000;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const PEOPLE = 2_000;
const TAGS = 1_000;
const DOORS = 40;
const GROUPS = 40;
const sys = systemActor('bench');

async function offline(changes: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-cloud-'));
  const mock = fork(new URL('../test/ks-cloud/standalone.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: 'ignore' });
  const [ready] = (await once(mock, 'message')) as [{ url: string; site_id: string; auth: MockAccount['auth']; otp_secret: string; otp_pin: string }];
  const cloud: MockAccount = { url: ready.url, siteId: ready.site_id, auth: ready.auth };
  const db = openDatabase(join(dir, 'gatehouse.db'));
  try {
    ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
    let clock = Date.now() - 31 * DAY;
    const svc = new GatehouseService(db, { now: () => clock });
    const random = rng(changes);
    const int = (n: number) => Math.floor(random() * n);

    const iq = svc.run(sys, 'iqs.create', { mac: '00:11:22:33:44:55', customer_reference: 'Main IQ' });
    const doors = Array.from({ length: DOORS }, (_, i) => svc.run(sys, 'locks.create', { customer_reference: `Door ${i}`, iq_id: iq.id }).id);
    const people = Array.from({ length: PEOPLE }, (_, i) => svc.run(sys, 'users.create', { first_name: 'Person', last_name: String(i), email: `p${i}@site.example` }).id);
    const tags = Array.from({ length: TAGS }, (_, i) => svc.run(sys, 'tags.create', { tag_number: String(1_000_000_000 + i), user_id: people[i]! }).id);
    const groups = Array.from({ length: GROUPS }, (_, g) => {
      const id = svc.run(sys, 'access_groups.create', { customer_reference: `Group ${g}`, lock_ids: [doors[g]!] }).id;
      svc.run(sys, 'access_groups.users.update', { id, add_ids: people.slice(g * 50, g * 50 + 50), remove_ids: [] });
      return id;
    });

    const { port } = await cloudPort({ ...cloud, site: { otpSecret: ready.otp_secret, otpPin: ready.otp_pin } }, { timeoutMs: 60_000 });
    setCloudSyncEnabled(db, true, clock);
    db.transaction((w) => w.prepare('UPDATE cloud_sync_state SET cloud_site_id = ?').run(cloud.siteId));
    const sync = new CloudSync(svc, port, { now: () => clock, entriesHistoryMs: DAY });
    const untilQuiet = async () => {
      let rounds = 0;
      for (;;) {
        const r = await sync.sync();
        rounds++;
        if (r.error) throw new Error(r.error);
        if (r.complete && r.pushed.done === 0 && r.pulled.applied === 0 && r.pulled.deleted === 0 && r.entries.stored === 0) return rounds;
      }
    };
    const initialStart = now();
    await untilQuiet();
    const initialMs = ms(initialStart);

    // Thirty days without the cloud.
    const start = clock;
    for (let i = 0; i < changes; i++) {
      clock = start + Math.floor((i / changes) * 30 * DAY);
      const kind = int(10);
      if (kind < 6) svc.run(sys, 'users.update', { id: people[int(PEOPLE)]!, phone: `+31 20 ${i}` });
      else if (kind < 7) svc.run(sys, 'users.update', { id: people[int(PEOPLE)]!, blocked: random() < 0.5 });
      else if (kind < 9) {
        const g = groups[int(GROUPS)]!;
        const p = people[int(PEOPLE)]!;
        svc.run(sys, 'access_groups.users.update', random() < 0.5 ? { id: g, add_ids: [p], remove_ids: [] } : { id: g, add_ids: [], remove_ids: [p] });
      } else svc.run(sys, 'tags.update', { id: tags[int(TAGS)]!, blocked: random() < 0.5 });
    }
    await ask(mock, { type: 'entries', lock_ids: doors.map((d) => linkByLocalId(db.read, 'lock', d)!.cloud_id), per_lock: Math.floor(changes / DOORS), from: start, span_ms: 30 * DAY });
    clock = start + 30 * DAY;
    const outbox = db.read.prepare(`SELECT count(*) AS n, coalesce(sum(length(fields)), 0) AS bytes FROM cloud_outbox WHERE state = 'pending'`).get() as { n: number; bytes: number };

    // Live heap: sampled right after a full collection every second, so what is measured is what the
    // sync holds on to, not garbage V8 has not collected yet (it lets that grow with the work done).
    gc();
    const heapBase = process.memoryUsage().heapUsed;
    let livePeak = heapBase;
    const sampler = setInterval(() => {
      gc();
      livePeak = Math.max(livePeak, process.memoryUsage().heapUsed);
    }, 1_000);
    const requestsBefore = (await ask(mock, { type: 'requests' })).requests;
    const t = now();
    const rounds = await untilQuiet();
    const syncMs = ms(t);
    clearInterval(sampler);
    const stored = db.read.prepare('SELECT count(*) FROM entries').pluck().get() as number;
    return {
      changes,
      pending_rows: outbox.n,
      pending_fields_mb: round(outbox.bytes / 2 ** 20, 1),
      entries_stored: stored,
      initial_sync_s: round(initialMs / 1000, 1),
      sync_s: round(syncMs / 1000, 1),
      rounds,
      requests: (await ask(mock, { type: 'requests' })).requests - requestsBefore,
      live_heap_peak_above_start_mb: round((livePeak - heapBase) / 2 ** 20, 1),
    };
  } finally {
    db.close();
    mock.send({ type: 'close' });
    await once(mock, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function ask(child: ChildProcess, message: object): Promise<{ requests: number }> {
  child.send(message);
  const [answer] = (await once(child, 'message')) as [{ requests: number }];
  return answer;
}

export async function run(): Promise<void> {
  const baseline = await offline(10_000);
  report('cloud.offline_30_days.baseline', baseline);
  const big = await offline(100_000);
  report('cloud.offline_30_days', { ...big, time_ratio_vs_baseline: round(big.sync_s! / baseline.sync_s!, 2) });
}
