// Issue 5 figures, IQ hubs, all through the real path: the core (GatehouseService on a SQLite file, its
// DeviceManager with the default session options), the real host client (IqHubClient, secure channel,
// default 1 s OSDP poll) over the real USB transport on a fake USB bus, and the simulated hub firmware
// (bench/fixtures/sim-hub-links.ts, wired as bin/hubs.ts wires the demo hubs).
// - hubs.change_to_active: from a command's return until every affected hub's firmware enforces the new
//   table, 20 hubs — p95 under 1 s;
// - hubs.events_to_disk: events held in the hubs' rings until they are rows of the audit trail, 1 and
//   20 hubs — events/s;
// - hubs.table_push_efficiency: a 20,000-user table pushed whole over a link modelled as USB
//   full-speed bulk — table bytes / bytes on the wire ≥ 0.85.
// The simulated hubs share the core's thread, so their own work is metered and reported beside the
// figures (docs/performance.md, "Issue 5 — IQ hubs"). GH_BENCH_VERBOSE=1 prints each change on stderr.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessCompiler } from '../core/access/table/compile.ts';
import { DeviceManager } from '../core/devices/device-manager.ts';
import { systemActor } from '../core/service/actor.ts';
import { GatehouseService } from '../core/service/service.ts';
import { loadSnapshot } from '../core/store/access-snapshot-loader.ts';
import { stmt, type SiteDatabase } from '../core/store/db.ts';
import { maxFragmentSize } from '../drivers/iq/file-transfer.ts';
import { Command, commandName } from '../drivers/osdp/codes.ts';
import type { IqHubClient } from '../drivers/iq/host/hub-client.ts';
import { buildLargeSite } from './fixtures/large-site.ts';
import { connectHub, FullSpeedBus, MeteredLink, meterFirmware, simulatedHubs, type SimHub } from './fixtures/sim-hub-links.ts';
import { ms, now, percentile, report, rng, round } from './lib.ts';
import { until } from '../test/until.ts';

const HUBS = 20;
/** A few thousand people over 20 IQs of 25 doors (bench/fixtures/large-site.ts), plus a site-wide group. */
const SITE = { users: 4000, locks: 500, groups: 80, iqs: HUBS };
/** Members of "Main entrances", a group with the first door of every IQ: each of them is in all 20 tables. */
const MAIN_MEMBERS = 1500;
const CHANGES = 50;
const EVENTS_ONE_HUB = 20_000;
const EVENTS_PER_HUB = 2_000;
/** Large enough for EVENTS_ONE_HUB in one hub (the firmware's default ring holds 4,096). */
const RING_CAPACITY = 25_000;
const PUSH_USERS = 20_000;

const sys = systemActor('bench');
/** The machine's 1-minute load average: these figures are wall-clock times on 2 cores, so other work on the machine moves them. */
const load = () => round(loadavg()[0]!, 2);
const sleep = (t: number) => new Promise<void>((resolve) => setTimeout(resolve, t));

export async function run(): Promise<void> {
  await liveHubs();
  await tablePush();
}

// ── Figures 1 and 2: 20 hubs on a live core ───────────────────────────────────────────────────────

async function liveHubs(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-hubs-'));
  const logs: string[] = [];
  const log = (line: string) => void logs.push(line);
  let db: SiteDatabase | null = null;
  const clients: IqHubClient[] = [];
  let manager: DeviceManager | null = null;
  let hubs: SimHub[] = [];
  try {
    const site = buildLargeSite(join(dir, 'gatehouse.db'), SITE, 5);
    db = site;
    const service = new GatehouseService(site, { log: (level, message) => log(`[${level}] ${message}`) });
    const r = rng(17);
    const iqs = stmt(site.read, 'SELECT id, mac FROM iqs ORDER BY pk').all() as Array<{ id: string; mac: string }>;
    const firstLocks = iqs.map((iq) => (stmt(site.read, 'SELECT id FROM locks WHERE iq_id = ? ORDER BY pk LIMIT 1').get(iq.id) as { id: string }).id);
    const userIds = (stmt(site.read, 'SELECT id FROM users ORDER BY pk').all() as Array<{ id: string }>).map((u) => u.id);
    const main = service.run(sys, 'access_groups.create', {
      customer_reference: 'Main entrances',
      lock_ids: firstLocks,
      time_schedules: [{ monday: true, tuesday: true, wednesday: true, thursday: true, friday: true, start_time: '07:00', end_time: '19:00' }],
    });
    const members = new Set(userIds.slice(0, MAIN_MEMBERS));
    service.run(sys, 'access_groups.users.update', { id: main.id, add_ids: [...members] });
    const tableBytes = iqs.map((iq) => service.engine.table(iq.id)!.serialize().length);

    const sim = simulatedHubs(
      iqs.map((iq) => iq.mac),
      { ringCapacity: RING_CAPACITY },
    );
    hubs = sim.hubs;
    const hubCpu = hubs.map((h) => meterFirmware(h.firmware));
    const m = new DeviceManager(service);
    manager = m;
    const attach = async (h: SimHub) => {
      const c = await connectHub(sim.bus, h, log);
      clients.push(c);
      m.attach(c);
    };
    const hashOf = (iqId: string) => service.engine.table(iqId)!.hash;
    const inStep = () =>
      m.hubs().length === HUBS &&
      m.hubs().every((s) => s.state === 'ready' && s.iq_id !== null && s.table?.hash === hashOf(s.iq_id)) &&
      hubs.every((h, i) => h.firmware.hub.tableInfo()?.hash === hashOf(iqs[i]!.id));

    // First contact: every hub gets its whole table.
    const t = now();
    await Promise.all(hubs.map(attach));
    await until('20 hubs in step', inStep, 120_000, 5);
    const firstSyncS = ms(t) / 1000;

    // ── 1. change → active ──
    const tagOf = (userId: string) => (stmt(site.read, 'SELECT id, blocked FROM tags WHERE user_id = ? ORDER BY pk LIMIT 1').get(userId) as { id: string; blocked: number } | undefined) ?? null;
    const schedule = main.time_schedules[0]!;
    const added: string[] = [];
    let late = false;
    const kinds = ['add_member', 'block_tag', 'schedule', 'remove_member'] as const;
    const change = (i: number): string => {
      const kind = kinds[i % kinds.length]!;
      if (kind === 'add_member') {
        const outsiders = userIds.filter((u) => !members.has(u));
        const u = outsiders[Math.floor(r() * outsiders.length)]!;
        members.add(u);
        added.push(u);
        service.run(sys, 'access_groups.users.update', { id: main.id, add_ids: [u] });
      } else if (kind === 'remove_member') {
        const u = added.shift()!;
        members.delete(u);
        service.run(sys, 'access_groups.users.update', { id: main.id, remove_ids: [u] });
      } else if (kind === 'block_tag') {
        const list = [...members];
        let tag = null;
        while (!tag) tag = tagOf(list[Math.floor(r() * list.length)]!);
        service.run(sys, 'tags.update', { id: tag.id, blocked: tag.blocked === 0 });
      } else {
        late = !late;
        const { id, start_time } = schedule;
        service.run(sys, 'access_groups.time_schedules.update', { id, monday: true, tuesday: true, wednesday: true, thursday: true, friday: true, start_time, end_time: late ? '19:30' : '19:00' });
      }
      return kind;
    };
    const loadBefore = load();
    const resendsBefore = hubCpu.reduce((n, x) => n + x.replays(), 0);
    const fromReturn: number[] = [];
    const fromCall: number[] = [];
    const firstHub: number[] = [];
    const commandMs: number[] = [];
    const affected: number[] = [];
    const hubCpuSum: number[] = [];
    const parallelEstimate: number[] = [];
    const byKind: Record<string, number[]> = {};
    for (let i = 0; i < CHANGES; i++) {
      const before = iqs.map((iq) => hashOf(iq.id));
      const cpuBefore = hubCpu.map((x) => x.ms);
      const replaysBefore = hubCpu.reduce((n, x) => n + x.replays(), 0);
      const call = now();
      const kind = change(i);
      const ret = now();
      const want = new Map<number, string>();
      iqs.forEach((iq, k) => {
        if (hashOf(iq.id) !== before[k]) want.set(k, hashOf(iq.id));
      });
      if (want.size === 0) throw new Error(`change ${i} (${kind}) moved no table`);
      const arrived = new Map<number, bigint>();
      await until(
        `change ${i} (${kind}) active on ${want.size} hubs`,
        () => {
          for (const [k, hash] of want) if (!arrived.has(k) && hubs[k]!.firmware.hub.tableInfo()?.hash === hash) arrived.set(k, now());
          return arrived.size === want.size;
        },
        20_000,
        1,
      );
      const times = [...arrived.values()].map((x) => Number(x - ret) / 1e6);
      const last = Math.max(...times);
      const cpu = hubCpu.map((x, k) => x.ms - cpuBefore[k]!);
      const cpuSum = cpu.reduce((a, b) => a + b, 0);
      hubCpuSum.push(cpuSum);
      // Were the hubs real, each would do its own work on its own processor, at the same time.
      parallelEstimate.push(last - cpuSum + Math.max(...cpu));
      fromReturn.push(last);
      fromCall.push(Number(ret - call) / 1e6 + last);
      firstHub.push(Math.min(...times));
      commandMs.push(Number(ret - call) / 1e6);
      affected.push(want.size);
      (byKind[kind] ??= []).push(last);
      if (process.env.GH_BENCH_VERBOSE) process.stderr.write(`change ${i} ${kind}: ${round(last, 1)} ms after return, command ${round(commandMs.at(-1)!, 1)} ms, hub cpu ${round(cpuSum, 1)} ms, resent ${hubCpu.reduce((n, x) => n + x.replays(), 0) - replaysBefore}\n`);
      // The core's side in step too, then a pause, so the next change lands at another moment of the hubs' polls.
      await until('the sessions in step', inStep, 20_000, 5);
      await sleep(100 + Math.floor(r() * 200));
    }
    report('hubs.change_to_active', {
      hubs: HUBS,
      users: SITE.users,
      changes: CHANGES,
      iqs_affected_avg: round(affected.reduce((a, b) => a + b, 0) / affected.length, 1),
      p50_ms: round(percentile(fromReturn, 50), 1),
      p95_ms: round(percentile(fromReturn, 95), 1),
      max_ms: round(Math.max(...fromReturn), 1),
      target_p95_ms: 1000,
      first_hub_p50_ms: round(percentile(firstHub, 50), 1),
      from_call_p95_ms: round(percentile(fromCall, 95), 1),
      command_p50_ms: round(percentile(commandMs, 50), 1),
      hub_sim_cpu_per_change_p50_ms: round(percentile(hubCpuSum, 50), 1),
      est_hubs_in_parallel_p95_ms: round(percentile(parallelEstimate, 95), 1),
      by_kind_p95_ms: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, round(percentile(v, 95), 1)])),
      table_kbytes_avg: round(tableBytes.reduce((a, b) => a + b, 0) / tableBytes.length / 1024, 1),
      first_sync_s: round(firstSyncS, 2),
      session_poll_ms: 2000,
      osdp_poll_ms: 1000,
      osdp_resends: hubCpu.reduce((n, x) => n + x.replays(), 0) - resendsBefore,
      load_1m: loadBefore,
    });

    // ── 2. events from the hubs' rings to the audit trail ──
    const tagNumbers = (stmt(site.read, 'SELECT tag_number FROM tags ORDER BY pk').all() as Array<{ tag_number: string }>).map((x) => x.tag_number);
    const entryCount = () => (stmt(site.read, 'SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n;
    const online = new Set<string>(hubs.map((h) => `sim:${h.firmware.serial}`));
    const unplug = async (which: SimHub[]) => {
      for (const h of which) {
        h.usb.unplug();
        online.delete(`sim:${h.firmware.serial}`);
      }
      await until('the sessions of unplugged hubs ended', () => m.hubs().every((s) => online.has(s.address)), 10_000, 5);
    };
    const drained = (h: SimHub) => {
      const s = h.firmware.hub.eventStatus();
      return s.ackedUpTo === s.newestId;
    };
    const eventsToDisk = async (which: SimHub[], perHub: number) => {
      await unplug(hubs.filter((h) => online.has(`sim:${h.firmware.serial}`)));
      if (!which.every(drained)) throw new Error('a hub still held unacknowledged events');
      const base = entryCount();
      let expected = 0;
      const fill = now();
      for (const h of which) {
        const locks = h.firmware.hub.lockIds();
        const before = h.firmware.hub.eventStatus().newestId;
        for (let k = 0; k < perHub; k++) h.firmware.hub.presentTag(locks[Math.floor(r() * locks.length)]!, tagNumbers[Math.floor(r() * tagNumbers.length)]!);
        expected += h.firmware.hub.eventStatus().newestId - before;
      }
      const fillS = ms(fill) / 1000;
      const fetches = () => which.reduce((n, h) => n + (hubCpu[hubs.indexOf(h)]!.commands.get('fetch_events') ?? 0), 0);
      const fetchesBefore = fetches();
      const loadBefore = load();
      const t0 = now();
      let connectedMs = 0;
      await Promise.all(
        which.map(async (h) => {
          h.usb.replug();
          online.add(`sim:${h.firmware.serial}`);
          await attach(h);
          connectedMs = Math.max(connectedMs, ms(t0));
        }),
      );
      await until(`${expected} events stored`, () => which.every(drained), 300_000, 2);
      const seconds = ms(t0) / 1000;
      const stored = entryCount() - base;
      if (stored !== expected) throw new Error(`${expected} events acknowledged but ${stored} entries stored`);
      return {
        hubs: which.length,
        events: expected,
        seconds: round(seconds, 2),
        events_per_s: Math.round(expected / seconds),
        events_per_fetch: round(expected / (fetches() - fetchesBefore), 1),
        ms_per_fetch: round((seconds * 1000) / (fetches() - fetchesBefore), 2),
        reconnect_ms: round(connectedMs, 1),
        fill_s: round(fillS, 2),
        load_1m: loadBefore,
      };
    };
    const one = await eventsToDisk([hubs[0]!], EVENTS_ONE_HUB);
    const all = await eventsToDisk(hubs, EVENTS_PER_HUB);
    report('hubs.events_to_disk', {
      one_hub: one,
      twenty_hubs: all,
      fetch_batch_max: 64,
      session_batch: 200,
      ring_capacity: RING_CAPACITY,
    });
    const warnings = logs.filter((l) => /\[(warn|error)\]/.test(l));
    if (warnings.length > 0) process.stderr.write(`hubs bench: ${warnings.length} warning(s) in the logs, first: ${warnings.slice(0, 5).join(' | ')}\n`);
  } finally {
    await manager?.close();
    await Promise.allSettled(clients.map((c) => c.close()));
    for (const h of hubs) h.usb.unplug();
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ── Figure 3: payload efficiency of a 20k-user table push ────────────────────────────────────────

async function tablePush(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-push-'));
  let client: IqHubClient | null = null;
  let hub: SimHub | null = null;
  try {
    const db = buildLargeSite(join(dir, 'site.db'), { users: PUSH_USERS, locks: 25, groups: 20, iqs: 1 }, 9);
    const iq = stmt(db.read, 'SELECT id, mac FROM iqs').get() as { id: string; mac: string };
    const table = new AccessCompiler(loadSnapshot(db.read), Date.now()).compileAll().get(iq.id)!;
    db.close();
    const bytes = table.serialize();
    const users = [...table.keys()].filter((k) => k.startsWith('U')).length;
    const tags = [...table.keys()].filter((k) => k.startsWith('T')).length;

    const sim = simulatedHubs([iq.mac]);
    hub = sim.hubs[0]!;
    const bus = new FullSpeedBus();
    let link: MeteredLink | null = null;
    client = await connectHub(sim.bus, hub, () => {}, (s) => (link = new MeteredLink(s, bus)));
    const metered = link as unknown as MeteredLink;
    // As a session does after binding: the clock (a table is activated only within its window).
    await client.setClock({ utc_ms: Date.now(), zone: 'Europe/Amsterdam', initial_offset_min: 60, transitions: [] });
    // The hub's own work per command, to tell it apart from the link and the host.
    const fw = hub.firmware;
    const hubCpu = meterFirmware(fw);
    const fragmentsBefore = fw.stats.fragments;
    const commandsBefore = fw.stats.commands;
    metered.resetCounts();
    const pollsBefore = hubCpu.commands.get(commandName(Command.POLL)) ?? 0;
    const loadBefore = load();
    const busBefore = bus.busyMs;
    const t = now();
    const active = await client.activateTable({ kind: 'full', bytes, version: 1, hash: table.hash });
    const wallMs = ms(t);
    if (active.hash !== table.hash || fw.hub.tableInfo()?.hash !== table.hash) throw new Error('the pushed table is not the one in force');
    const c = metered.counts;
    const wire = c.toHub + c.toHost;
    const fragments = fw.stats.fragments - fragmentsBefore;
    const linkMs = bus.busyMs - busBefore;
    report('hubs.table_push_efficiency', {
      users,
      tags,
      table_bytes: bytes.length,
      wire_bytes: wire,
      to_hub_bytes: c.toHub,
      to_host_bytes: c.toHost,
      ratio: round(bytes.length / wire, 3),
      target_ratio: 0.85,
      fragments,
      fragment_bytes: maxFragmentSize(fw.receiveSize, true),
      receive_size: fw.receiveSize,
      osdp_commands: fw.stats.commands - commandsBefore,
      polls: (hubCpu.commands.get(commandName(Command.POLL)) ?? 0) - pollsBefore,
      link_busy_ms: round(linkMs, 1),
      // Payload against everything the bus carried, USB tokens, handshakes and CRCs included (not the target's measure).
      usb_bus_ratio: round(bytes.length / FullSpeedBus.byteTimes(linkMs), 3),
      wall_ms: round(wallMs, 1),
      hub_cpu_ms: round(hubCpu.ms, 1),
      payload_kbytes_per_s: Math.round(bytes.length / 1024 / (wallMs / 1000)),
      link_model: 'USB full speed bulk, 64-byte packets, 19 per 1 ms frame',
      load_1m: loadBefore,
    });
  } finally {
    await client?.close();
    hub?.usb.unplug();
    rmSync(dir, { recursive: true, force: true });
  }
}
