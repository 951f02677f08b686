// Randomised sync rounds against the mock KS cloud with faults on the wire: people, tags and access
// groups changed on both sides between and during rounds, some fields changed on both sides on purpose.
// After every epoch both sides hold the same records, nothing is doubled or lost, and the conflict list
// holds exactly the conflicts the test created, each won by the later writer (a delete always wins).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../drivers/osdp/testing/prng.ts';
import type { CloudSync } from '../../core/cloud/sync-engine.ts';
import type { CloudPort } from '../../core/cloud/port.ts';
import { ensureSite } from '../../core/host/first-run.ts';
import { systemActor } from '../../core/service/actor.ts';
import { GatehouseService } from '../../core/service/service.ts';
import { openDatabase, type SiteDatabase } from '../../core/store/db.ts';
import { linkByLocalId, openConflicts } from '../../core/store/repos/cloud.ts';
import { startKsCloud, type KsCloud } from '../ks-cloud/server.ts';
import * as admin from '../ks-cloud/store.ts';
import { bothSides, syncedSite } from './fixture.ts';

const SEED = Number(process.env.SYNC_SEED ?? 20261126);
const MIN_ROUNDS = 200;
const me = systemActor('admin here');

let db: SiteDatabase;
let service: GatehouseService;
let cloud: KsCloud;
let sync: CloudSync;
let port: CloudPort;
const rng = createRng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
const chance = (p: number) => rng.next() < p;
const pause = () => new Promise((r) => setTimeout(r, 3));
const created = { field: 0, deleteVsEdit: 0 };

beforeAll(async () => {
  db = openDatabase(':memory:');
  ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
  service = new GatehouseService(db);
  cloud = await startKsCloud({ seed: SEED, settleMs: 30 });
  ({ sync, port } = await syncedSite(service, cloud));
});
afterAll(async () => {
  await cloud?.close();
  db?.close();
});

function faultsOn(): void {
  const writes = ['POST /users', 'PATCH /users/:id', 'DELETE /users/:id', 'POST /tags', 'PATCH /tags/:id', 'DELETE /tags/:id', 'POST /access_groups', 'PATCH /access_groups/:id', 'DELETE /access_groups/:id'];
  const members = ['POST /access_groups/:id/users', 'DELETE /access_groups/:id/users/:id', 'POST /access_groups/:id/locks', 'POST /access_groups/:id/time_schedules'];
  const reads = ['GET /users', 'GET /tags', 'GET /access_groups', 'GET /access_groups/:id/users', 'GET /entries'];
  // Not on the token route: a refresh token is single use, so a lost answer to a refresh is a sign-in again.
  for (const route of [...writes, ...members, ...reads]) cloud.faults.add({ route, fault: { kind: 'drop' }, probability: 0.03 });
  cloud.faults.add(
    { route: '*', fault: { kind: 'error500' }, probability: 0.02 },
    { route: '*', fault: { kind: 'rate-limit', retryAfterSeconds: 0 }, probability: 0.02 },
    { route: '*', fault: { kind: 'duplicate' }, probability: 0.1 },
    { route: '*', fault: { kind: 'expire-token' }, probability: 0.01 },
  );
}

// ── What exists, on each side ────────────────────────────────────────────────────────────────────

const localIds = (table: string) => db.read.prepare(`SELECT id FROM ${table} ORDER BY pk`).pluck().all() as string[];
let serial = 0;
const next = () => ++serial;

const localOps = {
  createUser: () => service.run(me, 'users.create', { first_name: `Local${next()}`, last_name: 'Person', email: `l${serial}@here.example` }),
  renameUser: (id: string) => service.run(me, 'users.update', { id, last_name: `Renamed${next()}` }),
  blockUser: (id: string) => service.run(me, 'users.update', { id, blocked: chance(0.5) }),
  deleteUser: (id: string) => service.run(me, 'users.delete', { id }),
  createTag: (userId: string | null) => service.run(me, 'tags.create', { tag_number: String(1_000_000_000 + next()), user_id: userId }),
  blockTag: (id: string) => service.run(me, 'tags.update', { id, blocked: chance(0.5) }),
  deleteTag: (id: string) => service.run(me, 'tags.delete', { id }),
  createGroup: () => service.run(me, 'access_groups.create', { customer_reference: `Local group ${next()}` }),
  renameGroup: (id: string) => service.run(me, 'access_groups.update', { id, customer_reference: `Local group ${next()}` }),
  addMember: (group: string, user: string) => service.run(me, 'access_groups.users.update', { id: group, add_ids: [user], remove_ids: [] }),
  removeMember: (group: string, user: string) => service.run(me, 'access_groups.users.update', { id: group, add_ids: [], remove_ids: [user] }),
  addSchedule: (group: string) =>
    service.run(me, 'access_groups.time_schedules.create', { access_group_id: group, monday: true, friday: chance(0.5), start_time: `0${rng.int(9)}:00:00`, end_time: '17:59:59' }),
  deleteGroup: (id: string) => service.run(me, 'access_groups.delete', { id }),
};

const cloudUserOf = (localId: string) => {
  const l = linkByLocalId(db.read, 'user', localId);
  return l ? cloud.site.users.get(l.cloud_id) : undefined;
};
const cloudIdOf = (kind: 'tag' | 'access_group', localId: string) => linkByLocalId(db.read, kind, localId)?.cloud_id;

interface Expected {
  key: string;
  winner: 'local' | 'cloud';
}

/** One epoch: changes on both sides (some conflicting on purpose), then rounds until both sides agree. */
async function epoch(n: number, rounds: { count: number }): Promise<void> {
  const expected: Expected[] = [];
  const firstConflict = db.read.prepare('SELECT coalesce(max(id), 0) + 1 FROM cloud_conflicts').pluck().get() as number;
  const touched = new Set<string>();
  const users = localIds('users').filter((id) => linkByLocalId(db.read, 'user', id));

  // The same field changed on both sides.
  for (const id of users.filter(() => chance(0.08)).slice(0, 2)) {
    touched.add(id);
    const cu = cloudUserOf(id)!;
    const same = chance(0.2);
    const localFirst = chance(0.5);
    const here = () => service.run(me, 'users.update', { id, first_name: same ? `Both${n}` : `Here${n}` });
    const there = () => admin.adminUpdateUser(cloud.site, cu.id, { first_name: same ? `Both${n}` : `There${n}` });
    if (localFirst) here();
    else there();
    await pause();
    if (localFirst) there();
    else here();
    if (!same) {
      expected.push({ key: `user:${id}:first_name`, winner: localFirst ? 'cloud' : 'local' });
      created.field++;
    }
  }
  // A delete on one side against an edit on the other.
  if (chance(0.25)) {
    const id = pick(users.filter((u) => !touched.has(u)).concat(['']));
    if (id) {
      touched.add(id);
      const cu = cloudUserOf(id)!;
      if (chance(0.5)) {
        localOps.deleteUser(id);
        admin.adminUpdateUser(cloud.site, cu.id, { last_name: `Edited there ${n}` });
        expected.push({ key: `user:${id}:null`, winner: 'local' });
        created.deleteVsEdit++;
      } else {
        service.run(me, 'users.update', { id, last_name: `Edited here ${n}` });
        admin.adminDeleteUser(cloud.site, cu.id);
        expected.push({ key: `user:${id}:null`, winner: 'cloud' });
        created.deleteVsEdit++;
      }
    }
  }

  // Changes on one side only, to records nobody else touches this epoch.
  const free = () => localIds('users').filter((u) => !touched.has(u) && linkByLocalId(db.read, 'user', u));
  for (let i = 0; i < 3 + rng.int(5); i++) {
    const userIds = free();
    const groups = localIds('access_groups').filter((g) => !touched.has(g) && linkByLocalId(db.read, 'access_group', g));
    const tags = localIds('tags').filter((t) => !touched.has(t) && linkByLocalId(db.read, 'tag', t));
    const local = chance(0.5);
    const u = userIds.length ? pick(userIds) : null;
    const g = groups.length ? pick(groups) : null;
    const t = tags.length ? pick(tags) : null;
    const op = rng.int(10);
    if (u) touched.add(u);
    if (g) touched.add(g);
    if (t) touched.add(t);
    if (local) {
      if (op === 0 || !u) localOps.createUser();
      else if (op === 1) localOps.renameUser(u);
      else if (op === 2) localOps.blockUser(u);
      else if (op === 3 && userIds.length > 6) localOps.deleteUser(u);
      else if (op === 4) localOps.createTag(chance(0.7) ? u : null);
      else if (op === 5 && t) (chance(0.3) ? localOps.deleteTag : localOps.blockTag)(t);
      else if (op === 6 || !g) localOps.createGroup();
      else if (op === 7) localOps.renameGroup(g);
      else if (op === 8) (chance(0.7) ? localOps.addMember : localOps.removeMember)(g, u);
      else if (chance(0.3)) localOps.addSchedule(g);
      else if (localIds('access_groups').length > 3) localOps.deleteGroup(g);
    } else {
      const cu = u ? cloudUserOf(u) : undefined;
      const cg = g ? cloudIdOf('access_group', g) : undefined;
      const ct = t ? cloudIdOf('tag', t) : undefined;
      if (op === 0 || !cu) admin.adminAddUser(cloud.site, { first_name: `Cloud${next()}`, last_name: 'Person', email: `c${serial}@there.example` });
      else if (op === 1) admin.adminUpdateUser(cloud.site, cu.id, { last_name: `Changed there ${next()}` });
      else if (op === 2) admin.adminUpdateUser(cloud.site, cu.id, { blocked: chance(0.5) });
      else if (op === 3 && userIds.length > 6) admin.adminDeleteUser(cloud.site, cu.id);
      else if (op === 4) admin.adminAddTag(cloud.site, { tag_number: String(2_000_000_000 + next()), user_id: chance(0.7) ? cu.id : null });
      else if (op === 5 && ct) {
        if (chance(0.3)) admin.adminDeleteTag(cloud.site, ct);
        else admin.adminUpdateTag(cloud.site, ct, { blocked: chance(0.5) });
      }
      else if (op === 6 || !cg) admin.adminAddGroup(cloud.site, `Cloud group ${next()}`);
      else if (op === 7) admin.adminRenameGroup(cloud.site, cg, `Cloud group ${next()}`);
      else if (op === 8) (chance(0.7) ? admin.adminAddGroupUser : admin.adminRemoveGroupUser)(cloud.site, cg, cu.user.id);
      else if (localIds('access_groups').length > 3) admin.adminDeleteGroup(cloud.site, cg);
    }
  }

  // Rounds with faults until a round finds nothing to do; a new person on each side in between.
  faultsOn();
  let quiet = false;
  for (let r = 0; r < 25 && !quiet; r++) {
    if (r === 1) {
      localOps.createUser();
      admin.adminAddUser(cloud.site, { first_name: `Cloud${next()}`, last_name: 'Between rounds', email: `c${serial}@there.example` });
    }
    if (r === 8) cloud.faults.clear();
    const report = await sync.sync();
    rounds.count++;
    quiet = r > 1 && report.complete && report.error === null && report.pushed.done === 0 && report.pulled.applied === 0 && report.pulled.deleted === 0;
  }
  cloud.faults.clear();
  expect(quiet, `epoch ${n} (seed ${SEED}) did not settle`).toBe(true);

  const sides = await bothSides(service, port);
  expect(sides.cloud, `epoch ${n} (seed ${SEED}): both sides hold the same records, none doubled or lost`).toEqual(sides.local);

  const found = openConflicts(db.read).filter((c) => c.id >= firstConflict);
  expect(found.map((c) => ({ key: `${c.kind}:${c.local_id}:${c.field}`, winner: c.winner })).sort((a, b) => a.key.localeCompare(b.key)), `epoch ${n} (seed ${SEED}): exactly the true conflicts`).toEqual(
    expected.sort((a, b) => a.key.localeCompare(b.key)),
  );
  for (const c of found) service.run(me, 'cloud.conflicts.resolve', { id: c.id, take: 'winner' });
}

describe('sync rounds with faults on both sides', () => {
  it(`converges after every epoch with exactly the true conflicts (≥ ${MIN_ROUNDS} rounds, seed ${SEED})`, async () => {
    // A starting site: people with tags, groups with members and a schedule.
    for (let i = 0; i < 8; i++) {
      const u = localOps.createUser();
      if (i % 2 === 0) localOps.createTag(u.id);
    }
    for (let i = 0; i < 3; i++) {
      const g = localOps.createGroup();
      for (const u of localIds('users').slice(i, i + 3)) localOps.addMember(g.id, u);
      localOps.addSchedule(g.id);
    }
    const rounds = { count: 0 };
    let n = 0;
    while (rounds.count < MIN_ROUNDS || n < 30) await epoch(++n, rounds);
    expect(rounds.count).toBeGreaterThanOrEqual(MIN_ROUNDS);
    if (process.env.SYNC_DEBUG) console.log({ epochs: n, rounds: rounds.count, conflicts: created, fired: cloud.faults.fired.length, users: cloud.site.users.size, groups: cloud.site.accessGroups.size, tags: cloud.site.tags.size });
    // The schedule really made conflicts of both kinds, won by both sides.
    expect(created.field).toBeGreaterThan(5);
    expect(created.deleteVsEdit).toBeGreaterThan(2);
    // The faults really happened.
    expect(cloud.faults.fired.filter((f) => f.kind === 'drop').length).toBeGreaterThan(10);
  }, 600_000);
});
