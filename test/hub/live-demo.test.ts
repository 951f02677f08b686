// The headless host with the demo's three simulated hubs, wired as `serve --demo` wires them
// (bin/hubs.ts): the real host client over the fake USB bus to the simulated firmware, the device
// manager in between. In process, real time.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHubs, SPARE_HUB, type Hubs, type HubsOptions } from '../../bin/hubs.ts';
import { decide } from '../../core/access/decide.ts';
import { startHost, type RunningHost } from '../../core/host/host.ts';
import { systemActor } from '../../core/service/actor.ts';
import type { GatehouseService } from '../../core/service/service.ts';
import { FakeUsbBus } from '../../drivers/transport/fake-webusb.ts';
import { DEMO_IQS } from '../../core/host/demo.ts';
import { HubFirmware } from '../../drivers/hub-sim/firmware/firmware.ts';
import { startTcpHub } from '../../drivers/hub-sim/firmware/tcp-server.ts';
import { parseAddress } from '../../drivers/iq/host/convert.ts';
import { until } from '../until.ts';

const actor = systemActor('test');
const dirs: string[] = [];
const running: Array<{ host: RunningHost; hubs: Hubs }> = [];

afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.host.close();
    r.hubs.close();
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gh-live-'));
  dirs.push(d);
  return d;
}

/** No USB on the bus the test gives it (whatever this machine has), so only the simulated hubs count. */
const noUsb = () => {
  const bus = new FakeUsbBus();
  bus.failEnumeration(new Error('getDevices error: /sys/bus/usb/devices/ not found (errno 2)'));
  return Promise.resolve(bus);
};

async function start(dataDir: string, o: Partial<HubsOptions> & { demo?: boolean } = {}) {
  const lines: string[] = [];
  const log = (l: string) => void lines.push(l);
  const hubs = createHubs({ dataDir, log, simulated: true, usb: { load: noUsb }, pollIntervalMs: 200, ...o });
  const host = await startHost({ dataDir, port: 0, host: '127.0.0.1', demo: o.demo ?? true, ownerPassword: 'correct horse battery', version: 'test', log, hubs: hubs.attach });
  const entry = { host, hubs };
  running.push(entry);
  return { ...entry, lines };
}

async function stop(r: { host: RunningHost; hubs: Hubs }) {
  running.splice(running.indexOf(r), 1);
  await r.host.close();
  r.hubs.close();
}

const iqs = (svc: GatehouseService) => svc.run(actor, 'iqs.list', { top: 100 }).items;
/** Every IQ online and synced in the database, and its hub's session in step (the demo seeds pretend-synced IQs). */
const allSynced = (host: RunningHost) => {
  const list = iqs(host.service);
  const ready = host.hubs().filter((h) => h.state === 'ready' && h.iq_id);
  return list.length === 3 && ready.length === 3 && list.every((iq) => iq.online && iq.data_sync_state === 'synced') ? list : null;
};

describe('serve --demo with simulated hubs', () => {
  it('syncs all three IQs, follows a change, files a presented tag once, and stays in step across a restart', async () => {
    const dir = tempDir();
    const t0 = Date.now();
    let r = await start(dir);
    const svc = () => r.host.service;
    const up = Date.now();
    await until('all three IQs online and synced', () => allSynced(r.host), 5000);
    console.info(`first sync of 3 hubs (whole tables): ${Date.now() - up} ms after the host was up (${up - t0} ms to seed the demo and start)`);
    // What the hubs page says of how hubs are looked for: the demo's, and plainly why not on USB.
    const transports = svc().run(actor, 'hubs.transports', {});
    expect(transports.find((t) => t.id === 'simulated')).toMatchObject({ ok: true });
    expect(transports.find((t) => t.id === 'usb')).toMatchObject({ ok: false, detail: expect.stringMatching(/USB/) });
    const sim = r.hubs.simulated!;
    expect(r.host.hubs().map((h) => [h.state, h.iq_id !== null])).toEqual([
      ['ready', true],
      ['ready', true],
      ['ready', true],
    ]);
    // Each hub enforces its IQ's current table and lists the IQ's locks under their radio addresses (PAIR_LOCK).
    for (const iq of iqs(svc())) {
      const hub = sim.hubs.find((h) => h.mac === iq.mac)!;
      const want = svc().run(actor, 'access.tables', {}).find((t) => t.iq_id === iq.id)!;
      expect(hub.firmware.hub.tableInfo()!.hash).toBe(want.hash);
      const locks = svc().run(actor, 'locks.list', { top: 100 }).items.filter((l) => l.iq_id === iq.id);
      expect(locks.length).toBeGreaterThan(0);
      expect(hub.firmware.hub.lockIds().sort()).toEqual(locks.map((l) => l.id).sort());
      // Paired by radio address, not merely taken from the table (the firmware's own flash file keeps what PAIR_LOCK gave).
      const radio = (JSON.parse(readFileSync(join(dir, 'simulated-hubs', iq.mac.toLowerCase(), 'fw-state.json'), 'utf8')) as { radio: Record<string, { address: string }> }).radio;
      expect(Object.fromEntries(Object.entries(radio).map(([id, x]) => [id, x.address]))).toEqual(Object.fromEntries(locks.map((l) => [l.id, l.mac!.replace(/-/g, '').toLowerCase()])));
    }

    // A tag with a person behind it and a lock on which the core grants it now, if the hour allows.
    const snap = svc().engine.snapshot;
    const now = Date.now();
    const tags = [...snap.tags.values()].filter((t) => t.user_id && !t.blocked);
    const locks = [...snap.locks.values()].filter((l) => l.iq_id);
    const pick =
      tags.flatMap((t) => locks.map((l) => ({ tag: t, lock: l }))).find((p) => decide(snap, p.tag.tag_number, p.lock.id, now).granted) ??
      { tag: tags[0]!, lock: locks[0]! };

    // A committed change: the IQs it concerns go pending, then synced.
    const seen: Array<{ iq: string; state: string; at: number }> = [];
    const off = svc().on('iq.sync_state', (e) => void seen.push({ iq: e.iq_id, state: e.data_sync_state, at: Date.now() }));
    const committed = Date.now();
    svc().run(actor, 'tags.update', { id: pick.tag.id, blocked: true });
    const pending = new Set(seen.filter((s) => s.state === 'pending').map((s) => s.iq));
    expect(pending.size).toBeGreaterThan(0);
    expect(pending.has(pick.lock.iq_id!)).toBe(true);
    expect(iqs(svc()).find((i) => i.id === pick.lock.iq_id)!.data_sync_state).toBe('pending');
    await until('the changed IQs synced again', () => [...pending].every((id) => seen.some((s) => s.iq === id && s.state === 'synced')), 5000);
    const syncedAt = Math.max(...[...pending].map((id) => seen.find((s) => s.iq === id && s.state === 'synced')!.at));
    const took = syncedAt - committed;
    console.info(`change → synced: ${took} ms for ${pending.size} IQ(s) (blocking one tag)`);
    expect(took).toBeLessThan(3000);
    off();
    expect(allSynced(r.host)).toBeTruthy();

    // The blocked tag at the door: the hub refuses as the core would, and the entry arrives once.
    const at = Date.now();
    const expected = decide(svc().engine.snapshot, pick.tag.tag_number, pick.lock.id, at);
    expect(expected.granted).toBe(false);
    const result = sim.presentTag(pick.lock.id, pick.tag.tag_number);
    expect(result.mac).toBe(iqs(svc()).find((i) => i.id === pick.lock.iq_id)!.mac);
    expect({ granted: result.decision.granted, reason: result.decision.reason }).toEqual({ granted: false, reason: expected.reason });
    const since = new Date(at - 1000).toISOString();
    const entriesAt = () => svc().run(actor, 'entries.list', { lock_id: pick.lock.id, from: since, limit: 100 }).items;
    const [entry] = await until('the entry from the hub', () => (entriesAt().length ? entriesAt() : null), 5000);
    expect(entry).toMatchObject({ lock_id: pick.lock.id, tag_number: pick.tag.tag_number, event_category: 'lock_rejected', event_detail: expected.reason });
    // Past another poll and acknowledgement: still one.
    const hub = sim.hubOf(pick.lock.id)!;
    await until('the hub freed the event', () => hub.firmware.hub.eventStatus().ackedUpTo >= result.events.at(-1)!.id, 3000);
    await new Promise((res) => setTimeout(res, 600));
    expect(entriesAt()).toHaveLength(1);

    // Restart on the same folder: the hubs still hold the current tables, so nothing is sent again.
    const tables = sim.hubs.map((h) => h.firmware.hub.tableInfo()!.hash);
    await stop(r);
    r = await start(dir);
    await until('all three IQs synced after the restart', () => allSynced(r.host), 10_000);
    const again = r.hubs.simulated!;
    expect(again.hubs.map((h) => h.firmware.hub.tableInfo()!.hash)).toEqual(tables);
    // A new firmware instance per start: any table transfer would have counted fragments.
    expect(again.hubs.map((h) => h.firmware.stats.fragments)).toEqual([0, 0, 0]);
    expect(r.lines.filter((l) => /Demo site seeded/.test(l))).toEqual([]);
  }, 60_000);

  it('without USB on the machine, logs the plain no-USB message once and keeps serving', async () => {
    const dir = tempDir();
    const r = await start(dir, { simulated: false, demo: false });
    await until('the USB answer', () => r.lines.some((l) => /USB is not available/.test(l)), 5000);
    const res = await fetch(`${r.host.url}/api/health`);
    expect(res.status).toBe(200);
    // A restore re-runs the hub wiring; the answer is not repeated.
    const backup = join(dir, 'copy.db');
    const { backupDatabase } = await import('../../core/store/backup.ts');
    await backupDatabase(r.host.db, backup);
    await r.host.restore(backup);
    await new Promise((res2) => setTimeout(res2, 200));
    const messages = r.lines.filter((l) => /USB is not available/.test(l));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('SUBSYSTEM=="usb"');
    expect(r.host.hubs()).toEqual([]);
    expect((await fetch(`${r.host.url}/api/health`)).status).toBe(200);
  });

  it('after a restore, the simulated hubs attach to the new service and are in step again', async () => {
    const dir = tempDir();
    const r = await start(dir);
    await until('all three IQs online and synced', () => allSynced(r.host), 5000);
    const { backupDatabase } = await import('../../core/store/backup.ts');
    const backup = join(dir, 'copy.db');
    await backupDatabase(r.host.db, backup);
    const before = r.host.service;
    await r.host.restore(backup);
    expect(r.host.service).not.toBe(before);
    await until('all three IQs synced on the restored database', () => allSynced(r.host), 5000);
    expect(r.host.hubs().every((h) => h.state === 'ready')).toBe(true);
    expect(r.lines.filter((l) => /\[warn\]|\[error\]/.test(l) && !/USB is not available/.test(l))).toEqual([]);
  });

  it('has a spare hub in its box, so a new user can commission one: claimed, synced, a door paired and opened', async () => {
    const dir = tempDir();
    const r = await start(dir, { spare: true });
    const svc = () => r.host.service;
    const spare = await until('the spare hub unclaimed', () => svc().run(actor, 'hubs.list', {}).find((h) => h.mac === SPARE_HUB.mac && h.state === 'unclaimed'), 8000);
    const iq = svc().run(actor, 'hubs.claim', { address: spare.address, customer_reference: 'Workshop', time_zone: 'Europe/Amsterdam' });
    const door = svc().run(actor, 'locks.create', { customer_reference: 'Workshop door', mac: '00-A0-B1-C2-D3-E4' });
    await until('the spare hub in step', () => r.host.hubs().find((h) => h.iq_id === iq.id && h.state === 'ready'), 8000);
    await svc().runAsync(actor, 'hubs.locks.pair', { iq_id: iq.id, lock_id: door.id });
    const hub = r.hubs.simulated!.hubs.find((h) => h.mac === SPARE_HUB.mac)!;
    expect(hub.firmware.hub.lockIds()).toEqual([door.id]);
    await svc().runAsync(actor, 'locks.set_locking', { id: door.id, locked_state: 'unlocked' });
    await until('the remote entry from the spare hub', () => svc().run(actor, 'entries.list', { lock_id: door.id, access_by: 'remote', with_count: true }).count === 1, 8000);
  }, 20_000);

  it('keeps a LAN hub (--hub-tcp) connected: in step, and back in step after its connection drops', async () => {
    const dir = tempDir();
    const mac = DEMO_IQS[0].mac;
    // No factory key: the hub starts in install mode and Gatehouse gives it its own key (KEYSET).
    const firmware = new HubFirmware({ mac: parseAddress(mac)!, serial: 'LAN-1', factoryKey: null });
    const server = await startTcpHub(firmware);
    try {
      const r = await start(dir, { simulated: false, tcp: [`${server.host}:${server.port}`] });
      const inStep = () => {
        const iq = iqs(r.host.service).find((i) => i.mac === mac)!;
        const ready = r.host.hubs().find((h) => h.state === 'ready' && h.iq_id === iq.id);
        return ready && iq.online && iq.data_sync_state === 'synced' ? ready : null;
      };
      const first = await until('the LAN hub in step', inStep, 5000);
      expect(first.address).toBe(`tcp:${server.host}:${server.port}`);
      expect(firmware.hub.tableInfo()).not.toBeNull();
      const sessions = firmware.stats.sessions;
      server.dropConnections();
      await until('the IQ offline once the link drops', () => !iqs(r.host.service).find((i) => i.mac === mac)!.online, 5000);
      await until('the LAN hub in step again', inStep, 5000);
      expect(firmware.stats.sessions).toBeGreaterThan(sessions);
      expect(firmware.stats.fragments).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  }, 20_000);
});
