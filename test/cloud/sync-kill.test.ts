// The host killed (SIGKILL) in the middle of syncing, again and again, while the cloud keeps changing:
// each restart resumes from what is on disk, and in the end both sides hold the same records, with no
// person, tag or group made twice in the cloud.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setCloudSyncEnabled } from '../../core/cloud/outbox.ts';
import { ensureSite } from '../../core/host/first-run.ts';
import { systemActor } from '../../core/service/actor.ts';
import { GatehouseService } from '../../core/service/service.ts';
import { openDatabase } from '../../core/store/db.ts';
import { createRng } from '../../drivers/osdp/testing/prng.ts';
import { startKsCloud, type KsCloud } from '../ks-cloud/server.ts';
import { adminAddGroup, adminAddUser, adminUpdateUser } from '../ks-cloud/store.ts';
import { bothSides, cloudPort } from './fixture.ts';

const CHILD = new URL('./sync-child.ts', import.meta.url).pathname;
const SEED = Number(process.env.SYNC_SEED ?? 7);
const KILLS = 8;
const me = systemActor('admin here');
const dir = mkdtempSync(join(tmpdir(), 'gh-sync-kill-'));
let cloud: KsCloud | undefined;
afterAll(async () => {
  await cloud?.close();
  rmSync(dir, { recursive: true, force: true });
});

function runChild(file: string, c: KsCloud, killAfterMs: number | null): Promise<{ output: string; killed: boolean; code: number | null }> {
  const args = [file, c.url, c.siteId, c.auth.clientId, c.auth.clientSecret ?? '', c.auth.username, c.auth.password, c.site.otpSecret, c.site.otpPin];
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  let killed = false;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    proc.stdout.once('data', () => {
      // Counted from "ready" (signed in), so every kill lands inside a round.
      if (killAfterMs !== null)
        timer = setTimeout(() => {
          killed = proc.kill('SIGKILL');
        }, killAfterMs);
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ output, killed, code });
    });
  });
}

describe('SIGKILL in the middle of a sync', () => {
  it('resumes after every kill and converges, nothing made twice', async () => {
    const rng = createRng(SEED);
    cloud = await startKsCloud({ seed: SEED, settleMs: 20 });
    // Every request is slowed, so that each kill lands inside a round: at 10 ms a request even a round
    // with little to send outlasts the latest kill, and the child needs two rounds (one to sync, one to
    // find nothing left) before it exits on its own.
    cloud.faults.add({ route: '*', fault: { kind: 'latency', ms: 10 } });
    for (let i = 0; i < 15; i++) adminAddUser(cloud.site, { first_name: `Cloud${i}`, last_name: 'Person', email: `c${i}@there.example` });
    adminAddGroup(cloud.site, 'Made in the cloud');

    const file = join(dir, 'gatehouse.db');
    const db = openDatabase(file);
    ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
    const svc = new GatehouseService(db);
    const people = Array.from({ length: 60 }, (_, i) => svc.run(me, 'users.create', { first_name: `Local${i}`, last_name: 'Person', email: `l${i}@here.example` }));
    for (let i = 0; i < 30; i++) svc.run(me, 'tags.create', { tag_number: String(1_000_000_000 + i), user_id: people[i]!.id });
    for (let g = 0; g < 6; g++) {
      const group = svc.run(me, 'access_groups.create', { customer_reference: `Group ${g}` });
      svc.run(me, 'access_groups.users.update', { id: group.id, add_ids: people.slice(g * 8, g * 8 + 12).map((p) => p.id), remove_ids: [] });
      svc.run(me, 'access_groups.time_schedules.create', { access_group_id: group.id, monday: true, tuesday: true, start_time: '07:00:00', end_time: '18:59:59' });
    }
    setCloudSyncEnabled(db, true, Date.now());
    db.transaction((w) => w.prepare('UPDATE cloud_sync_state SET cloud_site_id = ?').run(cloud!.siteId));
    db.close();

    let killedMidRound = 0;
    /** Kills that left some changes sent and some still waiting: the push was cut in two. */
    let killedMidPush = 0;
    for (let k = 0; k < KILLS; k++) {
      const r = await runChild(file, cloud, 100 + rng.int(500));
      if (r.killed) killedMidRound++;
      else expect(r.output).toContain('converged');
      // The second admin keeps working while Gatehouse is down.
      const users = [...cloud.site.users.values()];
      adminUpdateUser(cloud.site, users[rng.int(users.length)]!.id, { last_name: `Changed while down ${k}` });
      adminAddUser(cloud.site, { first_name: `Added while down ${k}`, last_name: 'Person', email: `down${k}@there.example` });
      // And so does the front desk here, between a kill and the restart.
      const here = openDatabase(file);
      const counts = here.read.prepare(`SELECT sum(state = 'pending') AS pending, sum(state = 'done') AS done FROM cloud_outbox`).get() as { pending: number; done: number };
      if (r.killed && counts.pending > 0 && counts.done > 0) killedMidPush++;
      const s = new GatehouseService(here);
      s.run(me, 'users.update', { id: people[rng.int(people.length)]!.id, phone: `+31 20 555 ${k}` });
      s.run(me, 'users.create', { first_name: `Added here ${k}`, last_name: 'Person', email: `here${k}@here.example` });
      here.close();
    }
    expect(killedMidRound).toBeGreaterThanOrEqual(KILLS / 2);
    expect(killedMidPush).toBeGreaterThanOrEqual(1);

    const last = await runChild(file, cloud, null);
    expect(last.output, last.output).toContain('converged');

    const after = openDatabase(file);
    try {
      const service = new GatehouseService(after);
      const { port } = await cloudPort(cloud);
      const sides = await bothSides(service, port);
      expect(sides.cloud).toEqual(sides.local);
      const emails = [...cloud.site.users.values()].map((u) => u.user.email);
      expect(new Set(emails).size).toBe(emails.length);
      expect(cloud.site.users.size).toBe(after.read.prepare('SELECT count(*) FROM users').pluck().get());
      expect(cloud.site.tags.size).toBe(30);
      expect([...cloud.site.accessGroups.values()].map((g) => g.customer_reference).sort()).toEqual(['Group 0', 'Group 1', 'Group 2', 'Group 3', 'Group 4', 'Group 5', 'Made in the cloud']);
      // Six schedules made here, each in the cloud once.
      expect([...cloud.site.schedules.values()].reduce((n, m) => n + m.size, 0)).toBe(6);
    } finally {
      after.close();
    }
  }, 300_000);
});
