// The exactly-once acceptance test, end to end: with 5% dropped, 5% corrupted and 1% duplicated
// chunks on the hub links, random unplugs and hub reboots, and the host killed with SIGKILL at random
// moments, every event the hubs produced lands in the audit trail exactly once, and a hub's active
// table is always a whole version the host compiled.
//
// - In this process: two simulated hubs (HubFirmware on a FileFlash, so a reboot reads the flash back)
//   served over TCP by startTcpHub with the faults module on both directions, in install mode
//   (factoryKey: null) as bin/hubs.ts makes them. Whatever key handling the host does at first contact
//   is the host's business: the test never speaks for the host.
// - In a child process: the real `gatehouse serve --hub-tcp …` on a temporary data folder, killed with
//   SIGKILL 6–8 times and restarted on the same folder each time.
// - Meanwhile: tags presented at random locks of both hubs (thousands of events), access changes through
//   the REST API (so tables are pushed, mostly as diffs), connections dropped and hubs rebooted.
// - Then it runs without chaos (the wire faults stay on) until every hub event is acknowledged and both
//   IQs are in step, the host is stopped with SIGTERM, and its database is read.
//
// Reproduce a run with GATEHOUSE_EXACTLY_ONCE_SEED=<seed> (printed at the start; it fixes the wire
// faults and every random choice, not the OS's timing).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../core/audit/verify.ts';
import type { ReadDb } from '../../core/store/db.ts';
import { HubFirmware } from '../../drivers/hub-sim/firmware/firmware.ts';
import type { FaultConfig } from '../../drivers/hub-sim/firmware/faults.ts';
import { startTcpHub, type TcpHubServer } from '../../drivers/hub-sim/firmware/tcp-server.ts';
import { FileFlash, PowerLossError } from '../../drivers/hub-sim/flash.ts';
import type { PresentResult } from '../../drivers/hub-sim/hub.ts';
import { decodeTable } from '../../drivers/hub-sim/table.ts';
import { epochHex, parseAddress } from '../../drivers/iq/host/convert.ts';
import { createRng } from '../../drivers/osdp/testing/prng.ts';

const BIN = join(process.cwd(), 'bin', 'gatehouse.mjs');
const PASSWORD = 'exactly once, through everything';
const SEED = Number(process.env.GATEHOUSE_EXACTLY_ONCE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FAULTS: FaultConfig = { drop: 0.05, corrupt: 0.05, duplicate: 0.01 };
/** Events presented per second, over both hubs, while the chaos lasts. */
const EVENT_RATE = 100;
const LOCKS_PER_HUB = 4;
const MIN_CHAOS_MS = 30_000;

const dir = mkdtempSync(join(tmpdir(), 'gh-exactly-once-'));
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`seed ${SEED}: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Like until, but gives up quietly: for choosing a moment, not for asserting. */
async function soon(probe: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!probe() && Date.now() - t0 < timeoutMs) await sleep(5);
}

// ── The host: `gatehouse serve` in a child process ──────────────────────────────────────────────

interface Host {
  proc: ChildProcess;
  url: string;
  headers: Record<string, string>;
  site: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Everything every host run printed, for the failure message. */
let hostLog = '';
let unexpectedExit: string | null = null;

interface Spawned {
  proc: ChildProcess;
  exit: Host['exit'];
  /** The URL once it listens; rejects if it exits first. */
  ready: Promise<string>;
}

function spawnHost(hubPorts: number[]): Spawned {
  const args = [BIN, '--data', join(dir, 'host'), 'serve', '--port', '0', ...hubPorts.flatMap((p) => ['--hub-tcp', `127.0.0.1:${p}`])];
  const proc = spawn(process.execPath, args, { env: { ...process.env, GATEHOUSE_OWNER_PASSWORD: PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  proc.stdout!.on('data', (b) => {
    out += String(b);
    hostLog += String(b);
  });
  proc.stderr!.on('data', (b) => {
    out += String(b);
    hostLog += String(b);
  });
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start within 30 s:\n${out}`)), 30_000);
    const onData = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.stdout!.off('data', onData);
      resolve(m[1]!);
    };
    proc.stdout!.on('data', onData);
    void exit.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited while starting (${code ?? signal}):\n${out}`));
    });
  });
  ready.catch(() => {});
  return { proc, exit, ready };
}

async function startHost(hubPorts: number[]): Promise<Host> {
  const { proc, exit, ready } = spawnHost(hubPorts);
  const url = await ready;
  const tok = await fetch(`${url}/connect/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'owner', password: PASSWORD }) });
  expect(tok.status).toBe(200);
  const headers = { authorization: `Bearer ${((await tok.json()) as { access_token: string }).access_token}`, 'content-type': 'application/json' };
  const sites = (await (await fetch(`${url}/v1.1/sites`, { headers })).json()) as { items: Array<{ id: string }> };
  return { proc, url, headers, site: sites.items[0]!.id, exit };
}

/** A CLP REST call under the site (`/locks`, `/tags/…`); throws on anything but 2xx. */
async function rest<T>(h: Host, method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`${h.url}/v1.1/sites/${h.site}${path}`, { method, headers: h.headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

async function rpc<T>(h: Host, name: string, input: unknown = {}): Promise<T> {
  const r = await fetch(`${h.url}/api/rpc/${name}`, { method: 'POST', headers: h.headers, body: JSON.stringify(input) });
  const text = await r.text();
  if (!r.ok) throw new Error(`rpc ${name}: ${r.status} ${text}`);
  return (JSON.parse(text) as { result: T }).result;
}

// ── The hubs, in this process ───────────────────────────────────────────────────────────────────

interface Hub {
  name: string;
  mac: string;
  firmware: HubFirmware;
  server: TcpHubServer;
  flash: FileFlash;
  iqId: string;
  /** Boot reports of every reboot: a cut write must never leave an unreadable slot behind. */
  boots: Array<{ faults: string[]; tornLogBytes: number }>;
  /** The writes power failed in. */
  powerCuts: string[];
  /** Event ids presentTag reported as filed, in the ring's epoch. */
  filed: Set<number>;
  /** Every table seen active on the hub: after each activation, each reboot, and by a sampler. */
  tables: Array<{ hash: string; version: number; iqId: string; whole: boolean; why: string; /** ms within the run's clock, for a failure's story. */ at: number }>;
}

/** Records the hub's active table if it is not the last one recorded (or `force`), checking it is whole. */
function sampleTable(h: Hub, why: string, force = false): void {
  const hub = h.firmware.hub;
  if (!hub.isPowered) return;
  const info = hub.tableInfo();
  if (!info) return;
  const last = h.tables.at(-1);
  if (!force && last?.hash === info.hash) return;
  const decoded = decodeTable(hub.tableBytes()!);
  h.tables.push({ hash: info.hash, version: info.version, iqId: info.iqId, whole: decoded.ok && decoded.table.hash === info.hash, why, at: Date.now() % 1_000_000 });
}

/** Samples the active table after every activation the firmware makes (whole table or diff). */
function watchActivations(h: Hub): void {
  const hub = h.firmware.hub;
  const install = hub.installTable.bind(hub);
  const apply = hub.applyDiff.bind(hub);
  hub.installTable = (...a: Parameters<typeof install>) => {
    const r = install(...a);
    sampleTable(h, 'installTable', true);
    return r;
  };
  hub.applyDiff = (...a: Parameters<typeof apply>) => {
    const r = apply(...a);
    sampleTable(h, 'applyDiff', true);
    return r;
  };
}

/** Power cycle: the link drops, the firmware boots from flash; what it then enforces is sampled. */
function reboot(h: Hub, why: string): void {
  h.server.reboot();
  h.server.toHost.config = FAULTS;
  h.boots.push({ faults: [...h.firmware.hub.bootReport.faults], tornLogBytes: h.firmware.hub.bootReport.tornLogBytes });
  sampleTable(h, why, true);
}

/**
 * An armed power cut (FileFlash.armPowerCut) stops a write part-way and throws PowerLossError. The hub
 * is then dead: nothing more leaves it, and it boots again from its flash a moment later.
 */
function watchPowerCuts(h: Hub): void {
  const cut = (name: string, e: unknown) => {
    if (!(e instanceof PowerLossError)) return;
    h.powerCuts.push(name);
    h.server.toHost.config = { drop: 1 };
    setImmediate(() => reboot(h, `power cut writing ${name}`));
  };
  const replace = h.flash.replace.bind(h.flash);
  const append = h.flash.append.bind(h.flash);
  h.flash.replace = (name, data) => {
    try {
      replace(name, data);
    } catch (e) {
      cut(name, e);
      throw e;
    }
  };
  h.flash.append = (name, data) => {
    try {
      append(name, data);
    } catch (e) {
      cut(name, e);
      throw e;
    }
  };
}

/** A cut armed for a write that never comes: disarms whatever was armed. */
const DISARM = { op: 'replace', name: 'no-such-slot', afterBytes: 0 } as const;

describe('exactly once, end to end', () => {
  it('files every hub event once and keeps whole tables through faults, unplugs, reboots and SIGKILLs of the host', async () => {
    console.info(`exactly-once seed ${SEED} (replay with GATEHOUSE_EXACTLY_ONCE_SEED=${SEED})`);
    const rng = createRng(SEED);
    const t0 = Date.now();

    // Two LAN hubs, install mode, flash on disk.
    const hubs: Hub[] = [];
    for (let i = 1; i <= 2; i++) {
      const mac = `02-00-5E-E0-00-0${i}`;
      const flash = new FileFlash(join(dir, `hub-${i}`));
      const firmware = new HubFirmware({ flash, mac: parseAddress(mac)!, serial: `EO-HUB-${i}`, factoryKey: null });
      const server = await startTcpHub(firmware, { seed: SEED * 10 + i * 2, faults: { toHub: FAULTS, toHost: FAULTS } });
      cleanups.push(() => server.close());
      const h: Hub = { name: `hub-${i}`, mac, firmware, server, flash, iqId: '', boots: [], powerCuts: [], filed: new Set(), tables: [] };
      watchActivations(h);
      watchPowerCuts(h);
      hubs.push(h);
    }
    const ports = hubs.map((h) => h.server.port);

    // The host, first start: create the site model over the REST API.
    let host: Host | null = await startHost(ports);
    let expectKill = false;
    const watchExit = (h: Host) =>
      void h.exit.then(({ code, signal }) => {
        if (!(expectKill && signal === 'SIGKILL') && !(code === 0 && stopping)) unexpectedExit ??= `host exited by itself (${code ?? signal})`;
      });
    let stopping = false;
    watchExit(host);
    cleanups.push(() => {
      if (host && host.proc.exitCode === null && host.proc.signalCode === null) host.proc.kill('SIGKILL');
    });

    const h0 = host;
    // Every version the host compiled (and so the only tables it may push), per IQ.
    const hostHashes = new Map<string, Map<string, number>>();
    const recordVersions = async (h: Host) => {
      for (const t of await rpc<Array<{ iq_id: string; version: number; hash: string }>>(h, 'access.tables')) {
        const m = hostHashes.get(t.iq_id) ?? new Map<string, number>();
        m.set(t.hash, t.version);
        hostHashes.set(t.iq_id, m);
      }
    };
    // Setup calls record the versions they make too: the hubs sync while the site is being built.
    const setup = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const r = await rest<T>(h0, method, path, body);
      await recordVersions(h0);
      return r;
    };
    const lockIdsOf = new Map<string, string[]>();
    for (const [i, hub] of hubs.entries()) {
      const iq = await setup<{ id: string }>('POST', '/iqs', { mac: hub.mac, customer_reference: `Exactly-once IQ ${i + 1}`, serial: hub.firmware.serial });
      hub.iqId = iq.id;
      const ids: string[] = [];
      for (let l = 1; l <= LOCKS_PER_HUB; l++) {
        const lock = await setup<{ id: string }>('POST', '/locks', { customer_reference: `IQ ${i + 1} door ${l}`, iq_id: iq.id, mac: `02-11-22-33-0${i + 1}-0${l}` });
        ids.push(lock.id);
      }
      lockIdsOf.set(iq.id, ids);
    }
    const allLocks = [...lockIdsOf.values()].flat();
    const users: string[] = [];
    const tags: Array<{ id: string; number: string }> = [];
    for (let u = 0; u < 8; u++) {
      const user = await setup<{ id: string }>('POST', '/users', { first_name: 'Person', last_name: `${u}` });
      users.push(user.id);
      for (let t = 0; t < 2; t++) {
        const number = String(1_000_000 + u * 10 + t).padStart(10, '0');
        const tag = await setup<{ id: string }>('POST', '/tags', { tag_number: number, user_id: user.id });
        tags.push({ id: tag.id, number });
      }
    }
    const groups: string[] = [];
    for (const [g, locks] of [lockIdsOf.get(hubs[0]!.iqId)!, lockIdsOf.get(hubs[1]!.iqId)!, [allLocks[0]!, allLocks[LOCKS_PER_HUB]!]].entries()) {
      const group = await setup<{ id: string }>('POST', '/access_groups', { customer_reference: `Group ${g}`, lock_ids: locks });
      await setup('PATCH', `/access_groups/${group.id}/users`, { add_ids: users.filter((_, u) => (u + g) % 3 !== 0) });
      groups.push(group.id);
    }

    const inStep = async (h: Host) => {
      const iqs = (await rest<{ items: Array<{ id: string; online: boolean; data_sync_state: string }> }>(h, 'GET', '/iqs')).items;
      const tables = await rpc<Array<{ iq_id: string; hash: string }>>(h, 'access.tables');
      return hubs.every((hub) => {
        const iq = iqs.find((x) => x.id === hub.iqId);
        const want = tables.find((t) => t.iq_id === hub.iqId);
        return iq?.online && iq.data_sync_state === 'synced' && want && hub.firmware.hub.tableInfo()?.hash === want.hash;
      });
    };
    // The hubs bind, get their tables and pair the locks the tables name (the simulator's autoPair:
    // --hub-tcp does not send PAIR_LOCK); only then can they name lock ids in events.
    const diagnosis = () =>
      [
        ...hubs.map((hub) => `${hub.name}: ${JSON.stringify({ powered: hub.firmware.hub.isPowered, ring: hub.firmware.hub.isPowered ? hub.firmware.hub.eventStatus() : null, table: hub.firmware.hub.tableInfo()?.hash ?? null, locks: hub.firmware.hub.lockIds().length })}`),
        `host output (last 4000 characters):\n${hostLog.slice(-4000)}`,
      ].join('\n');
    await until('both IQs online and synced with their locks paired', async () => (await inStep(h0)) && hubs.every((hub) => lockIdsOf.get(hub.iqId)!.every((id) => hub.firmware.hub.lockIds().includes(id))), 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${diagnosis()}`);
    });
    for (const hub of hubs) sampleTable(hub, 'first sync');
    const setupMs = Date.now() - t0;

    // ── Chaos ───────────────────────────────────────────────────────────────────────────────────
    let chaos = true;
    const chaosStart = Date.now();
    let changeInFlight = false;
    const stats = { events: 0, changes: 0, changeFailures: 0, unplugs: 0, reboots: 0, powerCutsArmed: 0, kills: 0, downMs: 0 };

    // Tags at doors: registered numbers (granted or refused by the table) and unknown ones.
    const presenting = (async () => {
      const started = Date.now();
      while (chaos) {
        const due = Math.floor(((Date.now() - started) * EVENT_RATE) / 1000);
        for (; stats.events < due && chaos; stats.events++) {
          const hub = hubs[rng.int(hubs.length)]!;
          // A hub without power takes no tags (a reboot follows at once).
          if (!hub.firmware.hub.isPowered) continue;
          const locks = hub.firmware.hub.lockIds();
          const tag = rng.next() < 0.8 ? tags[rng.int(tags.length)]!.number : String(9_000_000_000 + rng.int(1_000_000));
          let r: PresentResult;
          try {
            r = hub.firmware.hub.presentTag(locks[rng.int(locks.length)]!, tag);
          } catch (e) {
            // Power failed while the event was being written: it was never filed (its id goes to the next one).
            if (e instanceof PowerLossError) continue;
            throw e;
          }
          for (const e of r.events) {
            expect(hub.filed.has(e.id), `seed ${SEED}: ${hub.name} filed event ${e.id} twice`).toBe(false);
            hub.filed.add(e.id);
          }
        }
        await sleep(5);
      }
    })();

    // Access changes through the REST API, one at a time; the versions before and after each are
    // recorded, so every version the host ever compiled is seen (a change cut short by a kill is
    // recompiled at the next start, and recorded before the next change).
    const changing = (async () => {
      while (chaos) {
        await sleep(150 + rng.int(350));
        const h: Host | null = host;
        if (!h) continue;
        try {
          await recordVersions(h);
          changeInFlight = true;
          const pick = rng.int(4);
          if (pick === 0) await rest(h, 'PATCH', `/tags/${tags[rng.int(tags.length)]!.id}`, { blocked: rng.next() < 0.5 });
          else if (pick === 1) await rest(h, 'PATCH', `/users/${users[rng.int(users.length)]!}`, { blocked: rng.next() < 0.3 });
          else if (pick === 2) await rest(h, 'PATCH', `/users/${users[rng.int(users.length)]!}`, { valid_until: rng.next() < 0.5 ? null : `2099-01-${String(1 + rng.int(28)).padStart(2, '0')}T00:00:00Z` });
          else {
            const group = groups[rng.int(2)]!;
            const user = users[rng.int(users.length)]!;
            await rest(h, 'PATCH', `/access_groups/${group}/users`, rng.next() < 0.5 ? { add_ids: [user] } : { remove_ids: [user] });
          }
          changeInFlight = false;
          stats.changes++;
          await recordVersions(h);
        } catch (e) {
          changeInFlight = false;
          // A kill in the middle of the request; anything else is a real failure.
          if (host === h && h.proc.exitCode === null && h.proc.signalCode === null && !expectKill) throw e;
          stats.changeFailures++;
        }
      }
    })();

    // Unplugs and reboots of a random hub.
    const unplugging = (async () => {
      while (chaos) {
        await sleep(700 + rng.int(1800));
        if (!chaos) break;
        const hub = hubs[rng.int(hubs.length)]!;
        const action = rng.next();
        if (action < 0.45) {
          hub.server.dropConnections();
          stats.unplugs++;
        } else if (action < 0.8) {
          reboot(hub, 'reboot');
          stats.reboots++;
        } else {
          // Power fails part-way through the next write of the active table, of a staged table file, or
          // of the event log (an event being filed, or an acknowledgement).
          const target = rng.int(3);
          if (target === 2) hub.flash.armPowerCut({ op: 'append', name: 'events.log', afterBytes: rng.int(40) });
          else hub.flash.armPowerCut({ op: 'replace', name: target === 0 ? 'table.bin' : 'fw-staged.bin', afterBytes: rng.int(600) });
          stats.powerCutsArmed++;
        }
      }
    })();

    // A loop that fails stops the run at once rather than at the end of the chaos.
    let loopFailure: unknown = null;
    const background = Promise.all([presenting, changing, unplugging]);
    background.catch((e: unknown) => {
      loopFailure ??= e;
      chaos = false;
    });

    // A sampler besides: whatever the active table is, it is recorded.
    const sampler = setInterval(() => hubs.forEach((h) => sampleTable(h, 'sampler')), 100);
    cleanups.push(() => clearInterval(sampler));

    // SIGKILLs at random moments, each followed by a restart on the same folder. The moment is one of:
    // any time; while it empties the hubs of the events that piled up while it was away; during an
    // access change (before or after its commit, or with its table on the way to the hub); or while it
    // starts, before it listens.
    const kills = 6 + rng.int(3);
    const moments: string[] = [];
    for (let k = 0; k < kills && chaos; k++) {
      const h = host!;
      const moment = (['any', 'draining', 'during a change', 'starting'] as const)[rng.int(4)]!;
      if (moment === 'any') await sleep(1200 + rng.int(3300));
      else if (moment === 'draining') {
        const acked = hubs.map((hub) => (hub.firmware.hub.isPowered ? hub.firmware.hub.eventStatus().ackedUpTo : 0));
        await soon(() => !chaos || hubs.some((hub, i) => hub.firmware.hub.isPowered && hub.firmware.hub.eventStatus().ackedUpTo > acked[i]!), 10_000);
        await sleep(rng.int(60));
      } else if (moment === 'during a change') {
        await sleep(800 + rng.int(1500));
        await soon(() => !chaos || changeInFlight, 10_000);
        await sleep(rng.int(25));
      }
      expectKill = true;
      host = null;
      h.proc.kill('SIGKILL');
      expect((await h.exit).signal).toBe('SIGKILL');
      stats.kills++;
      moments.push(moment);
      const down = Date.now();
      if (moment === 'starting') {
        // Killed again before it listens: while it opens the database, recompiles, connects the hubs.
        const early = spawnHost(ports);
        await sleep(300 + rng.int(1200));
        early.proc.kill('SIGKILL');
        await early.exit;
        stats.kills++;
      }
      // Sometimes the host stays away a while, so events pile up on the hubs.
      await sleep(rng.int(3) === 0 ? 300 + rng.int(1200) : 0);
      expectKill = false;
      const next = await startHost(ports);
      watchExit(next);
      stats.downMs += Date.now() - down;
      await recordVersions(next);
      host = next;
    }
    // At least 30 s of chaos in all, whatever the kills took.
    await sleep(Math.max(1000 + rng.int(2000), MIN_CHAOS_MS - (Date.now() - chaosStart)));
    chaos = false;
    await background.catch(() => {});
    if (loopFailure) throw loopFailure;
    for (const hub of hubs) hub.flash.armPowerCut(DISARM);
    await until('both hubs powered', () => hubs.every((hub) => hub.firmware.hub.isPowered), 5000);
    const chaosMs = Date.now() - t0 - setupMs;

    // ── Clean run: no more chaos (the wire faults stay) until everything is acknowledged and in step ──
    const h = host!;
    await recordVersions(h);
    const drainStart = Date.now();
    await until(
      'every hub event acknowledged and both IQs in step',
      async () => hubs.every((hub) => hub.firmware.hub.eventStatus().ackedUpTo === hub.firmware.hub.eventStatus().newestId) && (await inStep(h)),
      45_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${diagnosis()}`);
    });
    const drainMs = Date.now() - drainStart;
    clearInterval(sampler);
    for (const hub of hubs) sampleTable(hub, 'end', true);
    await recordVersions(h);
    stopping = true;
    h.proc.kill('SIGTERM');
    const stopped = await Promise.race([h.exit, sleep(20_000).then(() => ({ code: null, signal: 'timeout' as const }))]);
    expect(stopped, `seed ${SEED}: the host did not stop cleanly on SIGTERM`).toEqual({ code: 0, signal: null });
    host = null;
    expect(unexpectedExit, `seed ${SEED}:\n${hostLog.slice(-4000)}`).toBeNull();
    // One more power cycle with the host gone: what the flash holds is what the hubs enforced.
    const enforced = hubs.map((hub) => hub.firmware.hub.tableInfo()!.hash);
    for (const hub of hubs) reboot(hub, 'final boot');
    expect(hubs.map((hub) => hub.firmware.hub.tableInfo()?.hash)).toEqual(enforced);

    // ── The host's database ──────────────────────────────────────────────────────────────────────
    const db = new Database(join(dir, 'host', 'gatehouse.db'), { readonly: true, fileMustExist: true });
    cleanups.push(() => db.close());
    const rows = db
      .prepare(
        `SELECT 'entry' AS kind, s.id AS source, e.source_event_id AS event_id FROM entries e JOIN audit_refs s ON s.ref = e.source_ref WHERE s.kind = 'source'
         UNION ALL
         SELECT 'incident', s.id, i.source_event_id FROM incidents i JOIN audit_refs s ON s.ref = i.source_ref WHERE s.kind = 'source'`,
      )
      .all() as Array<{ kind: 'entry' | 'incident'; source: string; event_id: string }>;
    const stored = db.prepare('SELECT iq_id, version, hash FROM access_tables').all() as Array<{ iq_id: string; version: number; hash: string }>;

    let produced = 0;
    for (const hub of hubs) {
      const ring = hub.firmware.hub.eventStatus();
      const epoch = epochHex(ring.epoch);
      // What the hub produced: ids 1..newest of its one epoch (none lost: the ring never filled).
      expect(ring.lost, `seed ${SEED}: ${hub.name} overwrote events`).toBeNull();
      const expected = Array.from({ length: ring.newestId }, (_, i) => `${epoch}:${i + 1}`);
      expect([...hub.filed].sort((a, b) => a - b), `seed ${SEED}: ${hub.name}'s ring ids are the ids presentTag filed`).toEqual(expected.map((_, i) => i + 1));
      const got = rows.filter((r) => r.source === `iq:${hub.iqId}`).map((r) => r.event_id);
      const counts = new Map<string, number>();
      for (const id of got) counts.set(id, (counts.get(id) ?? 0) + 1);
      const doubled = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
      const missing = expected.filter((id) => !counts.has(id));
      const expectedSet = new Set(expected);
      const foreign = [...counts.keys()].filter((id) => !expectedSet.has(id));
      expect({ hub: hub.name, doubled, missing: missing.slice(0, 50), missingCount: missing.length, foreign: foreign.slice(0, 50) }, `seed ${SEED}`).toEqual({
        hub: hub.name,
        doubled: [],
        missing: [],
        missingCount: 0,
        foreign: [],
      });
      expect(got.length).toBe(ring.newestId);
      produced += ring.newestId;

      // Power cuts and reboots never left a slot unreadable (a torn tail of the event log is expected).
      expect(hub.boots.filter((b) => b.faults.length > 0), `seed ${SEED}: ${hub.name} booted with faults`).toEqual([]);

      // Tables: every one the hub ever had active was whole, for its own IQ, and a version the host compiled.
      const compiled = hostHashes.get(hub.iqId)!;
      const bad = hub.tables.filter((t) => !t.whole || t.iqId !== hub.iqId || !compiled.has(t.hash));
      if (bad.length) {
        const versions = [...compiled].map(([hash, v]) => [v, hash.slice(0, 8)] as const).sort((a, b) => a[0] - b[0]);
        console.info(`${hub.name}: compiled ${JSON.stringify(versions)}; active ${JSON.stringify(hub.tables.map((t) => [t.version, t.hash.slice(0, 8), t.why, t.at]))}`);
      }
      expect(bad, `seed ${SEED}: ${hub.name} had a table active that is not a whole version of its IQ`).toEqual([]);
      // And it ends on the host's current version, which the database holds.
      const current = stored.find((t) => t.iq_id === hub.iqId)!;
      expect(hub.firmware.hub.tableInfo()!.hash).toBe(current.hash);
      expect(compiled.get(current.hash)).toBe(current.version);
    }
    // Nothing else in the trail but the host's own iq_offline / iq_online incidents for dropped links.
    const others = rows.filter((r) => !hubs.some((hub) => r.source === `iq:${hub.iqId}`));
    expect(others.filter((r) => !(r.kind === 'incident' && r.source === 'gatehouse' && r.event_id.startsWith('link:'))), `seed ${SEED}`).toEqual([]);
    // The kills left the trail's hash chains whole.
    const audit = verifyAudit(db as unknown as ReadDb);
    expect(audit.chains.filter((c) => c.first_break), `seed ${SEED}`).toEqual([]);
    expect(audit.ok, `seed ${SEED}: ${JSON.stringify(audit).slice(0, 2000)}`).toBe(true);

    // The run did what it says.
    const faults = hubs.map((hub) => [hub.server.toHub.stats, hub.server.toHost.stats]).flat();
    const sum = (k: 'dropped' | 'corrupted' | 'duplicated' | 'chunks') => faults.reduce((n, s) => n + s[k], 0);
    const tablesSeen = hubs.map((hub) => new Set(hub.tables.map((t) => t.hash)).size);
    console.info(
      `seed ${SEED}: ${produced} events (${hubs.map((x) => x.firmware.hub.eventStatus().newestId).join(' + ')}) stored once each (and ${others.length} link incidents of the host's); ` +
        `${stats.kills} SIGKILLs (${moments.join(', ')}; ${stats.downMs} ms down), ${stats.reboots} hub reboots, power cuts writing ${hubs.flatMap((x) => x.powerCuts).join(', ') || 'nothing'} (${stats.powerCutsArmed} armed), ${stats.unplugs} unplugs, ` +
        `${stats.changes} access changes (${stats.changeFailures} cut short), ${tablesSeen.join(' + ')} tables active on the hubs of ${[...hostHashes.values()].map((m) => m.size).join(' + ')} compiled; ` +
        `wire: ${sum('chunks')} chunks, ${sum('dropped')} dropped, ${sum('corrupted')} corrupted, ${sum('duplicated')} duplicated; ` +
        `hub keys: ${hubs.map((x) => (x.firmware.scbk ? 'its own' : 'install mode')).join(' + ')}; ` +
        `setup ${setupMs} ms, chaos ${chaosMs} ms, drain ${drainMs} ms, total ${Date.now() - t0} ms`,
    );
    expect(stats.kills).toBeGreaterThanOrEqual(6);
    expect(stats.reboots + stats.unplugs).toBeGreaterThanOrEqual(5);
    expect(stats.changes).toBeGreaterThanOrEqual(10);
    expect(produced).toBeGreaterThanOrEqual(2000);
    // (Duplicates are 1% of under a thousand chunks: reported above, not asserted.)
    expect(sum('dropped')).toBeGreaterThan(0);
    expect(sum('corrupted')).toBeGreaterThan(0);
    expect(tablesSeen.every((n) => n >= 2)).toBe(true);
  }, 115_000);
});
