// Per-hub keys in the composition root (bin/hubs.ts): a hub in install mode is commissioned with a key of
// its own, stored sealed; later links use that key; a host stopped at any step of commissioning finds
// its way on the next connect; a hub that refuses our key is an error in the log, never a fall-back to
// the default key. Real simulated firmware over the real USB and TCP transports, in real time.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceManager } from '../core/devices/device-manager.ts';
import { ensureSite } from '../core/host/first-run.ts';
import { HubKeyRing } from '../core/secrets/hub-keys.ts';
import { fileMasterKey, givenMasterKey, MASTER_KEY_FILE } from '../core/secrets/master-key.ts';
import { SecretBox } from '../core/secrets/secret-box.ts';
import { siteKeyFingerprint } from '../core/secrets/site-keys.ts';
import type { GatehouseService } from '../core/service/service.ts';
import { openDatabase, type SiteDatabase } from '../core/store/db.ts';
import { hubKeyRows } from '../core/store/repos/hub-keys.ts';
import { SCBK_KEY, type HubFirmware } from '../drivers/hub-sim/firmware/firmware.ts';
import { makeFirmware, OTHER_KEY, tcpBench, usbBench } from '../drivers/hub-sim/firmware/testing.ts';
import { parseAddress, toHex } from '../drivers/iq/host/convert.ts';
import { siteKeyFingerprint as wireFingerprint } from '../drivers/iq/site-key.ts';
import type { IqHubClient } from '../drivers/iq/host/hub-client.ts';
import { connectTcpHub } from '../drivers/transport/tcp-hub-transport.ts';
import { openUsbHub } from '../drivers/transport/usb-hub-transport.ts';
import { connectHub, createHubs, HubKeyError } from './hubs.ts';
import { until } from '../test/until.ts';

const MAC = '02-00-5E-10-00-07';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function site(): SiteDatabase {
  const db = openDatabase(':memory:');
  ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
  cleanups.push(() => db.close());
  return db;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gh-hub-keys-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function installModeHub(): HubFirmware {
  return makeFirmware({ t0: Date.now(), factoryKey: null, mac: parseAddress(MAC)! });
}

/** A simulated hub on a fake USB bus, and a fresh link to it per call (as a replug would give). */
function usbHub(firmware: HubFirmware) {
  const bench = usbBench(firmware);
  return {
    bench,
    async link() {
      await new Promise((resolve) => setImmediate(resolve));
      const [device] = await bench.bus.getDevices();
      return openUsbHub(device!, { events: bench.bus, readTimeoutMs: 250 });
    },
  };
}

function harness(db = site(), box = new SecretBox(new Uint8Array(randomBytes(32)))) {
  const lines: string[] = [];
  const keys = new HubKeyRing(db, box);
  const connect = async (link: Parameters<typeof connectHub>[0], address = 'usb:sim') => {
    const client = await connectHub(link, address, { log: (l) => void lines.push(l), pollIntervalMs: 200, keys });
    cleanups.push(() => client.close());
    return client;
  };
  return { db, box, keys, lines, connect };
}

async function refused(p: Promise<IqHubClient>): Promise<Error> {
  const e = await p.then(
    (c) => {
      void c.close();
      return null;
    },
    (err: unknown) => err as Error,
  );
  expect(e).not.toBeNull();
  return e!;
}

describe('per-hub keys (connectHub)', () => {
  it('commissions a hub in install mode with a key of its own, sealed in the database, and uses that key from then on', async () => {
    const firmware = installModeHub();
    const hub = usbHub(firmware);
    const t = harness();
    const client = await t.connect(await hub.link());
    expect((await client.identify()).mac).toBe(MAC);
    const [row] = hubKeyRows(t.db.read, MAC);
    expect(row).toMatchObject({ mac: MAC, state: 'active', confirmed_at: expect.any(String) });
    const key = t.keys.keys(MAC)[0]!.key;
    expect(firmware.scbk).toEqual(key);
    expect(Buffer.from(row!.sealed_key).includes(Buffer.from(key))).toBe(false);
    expect(t.lines).toEqual([
      `[info] hub usb:sim (MAC ${MAC}) is in install mode: giving it its own secure-channel key`,
      `[info] hub usb:sim (MAC ${MAC}): its own key is set and stored (sealed); the default key no longer opens it`,
    ]);
    await client.close();

    // A new link (replug): the stored key, no KEYSET.
    hub.bench.usb.replug();
    t.lines.length = 0;
    const again = await t.connect(await hub.link());
    expect((await again.identify()).mac).toBe(MAC);
    expect(firmware.scbk).toEqual(key);
    expect(t.keys.keys(MAC)).toEqual([{ state: 'active', key }]);
    expect(t.lines).toEqual([`[info] hub usb:sim (MAC ${MAC}): secure channel up with its own key`]);
  });

  it('stopped after the pending key was stored but before KEYSET: the hub is still in install mode, so it starts over', async () => {
    const firmware = installModeHub();
    const hub = usbHub(firmware);
    const t = harness();
    const never = t.keys.createPending(MAC);
    await t.connect(await hub.link());
    const keys = t.keys.keys(MAC);
    expect(keys.map((k) => k.state)).toEqual(['active']);
    expect(keys[0]!.key).not.toEqual(never);
    expect(firmware.scbk).toEqual(keys[0]!.key);
  });

  it('stopped after the hub took the key but before it was marked active: the pending key opens the hub and becomes active', async () => {
    const firmware = installModeHub();
    const hub = usbHub(firmware);
    const t = harness();
    const key = t.keys.createPending(MAC);
    firmware.hub.setKey(SCBK_KEY, key); // what KEYSET did before the host died
    hub.bench.usb.reboot();
    await t.connect(await hub.link());
    expect(t.keys.keys(MAC)).toEqual([{ state: 'active', key }]);
    expect(t.lines).toEqual([`[info] hub usb:sim (MAC ${MAC}): it holds the key Gatehouse gave it before it was stopped; that key is now its active key`]);
  });

  it('a link lost right after the hub stored the key (its ACK never arrives): the next connect finds the key pending and confirms it', async () => {
    const firmware = installModeHub();
    const bench = await tcpBench(firmware);
    cleanups.push(() => bench.server.close());
    const setKey = firmware.hub.setKey.bind(firmware.hub);
    let cut = true;
    firmware.hub.setKey = (name, bytes) => {
      setKey(name, bytes);
      if (cut) bench.server.dropConnections();
      cut = false;
    };
    const t = harness();
    const link = () => connectTcpHub({ host: bench.server.host, port: bench.server.port });
    await refused(t.connect(await link(), 'tcp:hub'));
    const [pending] = t.keys.keys(MAC);
    expect(pending!.state).toBe('pending');
    expect(firmware.scbk).toEqual(pending!.key);
    await t.connect(await link(), 'tcp:hub');
    expect(t.keys.keys(MAC)).toEqual([{ state: 'active', key: pending!.key }]);
  });

  it('a hub reset to install mode by hand is commissioned anew: the old key stays until the new one is proven', async () => {
    const firmware = installModeHub();
    const hub = usbHub(firmware);
    const t = harness();
    const first = await t.connect(await hub.link());
    await first.close();
    const old = t.keys.keys(MAC)[0]!.key;
    firmware.resetToInstallMode();
    hub.bench.usb.reboot();
    t.lines.length = 0;
    await t.connect(await hub.link());
    const now = t.keys.keys(MAC);
    expect(now.map((k) => k.state)).toEqual(['active']);
    expect(now[0]!.key).not.toEqual(old);
    expect(firmware.scbk).toEqual(now[0]!.key);
    expect(t.lines[0]).toBe(`[warn] hub usb:sim (MAC ${MAC}) is in install mode again although Gatehouse holds a key for it (it was reset by hand?): giving it a new key`);
  });

  it('re-commissioning stopped after KEYSET: the active key no longer opens the hub, the pending one does and replaces it', async () => {
    const firmware = installModeHub();
    const hub = usbHub(firmware);
    const t = harness();
    await (await t.connect(await hub.link())).close();
    const old = t.keys.keys(MAC)[0]!.key;
    // Reset by hand, commissioned again by a host that died right after the hub stored the new key.
    const next = t.keys.createPending(MAC);
    firmware.hub.setKey(SCBK_KEY, next);
    hub.bench.usb.reboot();
    t.lines.length = 0;
    await t.connect(await hub.link());
    expect(t.keys.keys(MAC)).toEqual([{ state: 'active', key: next }]);
    expect(next).not.toEqual(old);
    expect(t.lines).toEqual([`[info] hub usb:sim (MAC ${MAC}): it holds the key Gatehouse gave it before it was stopped; that key is now its active key`]);
  });

  it('a hub that refuses our key is an error that says what to do, and is never spoken to with the default key', async () => {
    const firmware = installModeHub();
    const hub = usbHub(firmware);
    const t = harness();
    await (await t.connect(await hub.link())).close();
    firmware.hub.setKey(SCBK_KEY, OTHER_KEY); // keyed by someone else since
    hub.bench.usb.reboot();
    const e = await refused(t.connect(await hub.link()));
    expect(e).toBeInstanceOf(HubKeyError);
    expect(e.message).toBe(`hub ${MAC} refuses our key; reset it to install mode to re-commission`);
    expect(firmware.scbk).toEqual(OTHER_KEY);
    expect(t.keys.keys(MAC).map((k) => k.state)).toEqual(['active']);
  });

  it('a hub with a key but none stored here: an error naming the way out', async () => {
    const firmware = makeFirmware({ t0: Date.now(), factoryKey: OTHER_KEY, mac: parseAddress(MAC)! });
    const hub = usbHub(firmware);
    const e = await refused(harness().connect(await hub.link()));
    expect(e).toBeInstanceOf(HubKeyError);
    expect(e.message).toMatch(new RegExp(`^hub ${MAC} holds a secure-channel key Gatehouse does not have .*reset it to install mode to re-commission$`));
  });

  it('keys sealed under another master key are reported as such, and the hub is left alone', async () => {
    const firmware = installModeHub();
    const hub = usbHub(firmware);
    const db = site();
    await (await harness(db).connect(await hub.link())).close();
    const key = firmware.scbk;
    hub.bench.usb.replug();
    const e = await refused(harness(db, new SecretBox(new Uint8Array(randomBytes(32)))).connect(await hub.link()));
    expect(e).toBeInstanceOf(HubKeyError);
    expect(e.message).toMatch(new RegExp(`^hub ${MAC}: the active key of hub ${MAC} cannot be opened: .*sealed under another master key`));
    expect(firmware.scbk).toEqual(key);
  });
});

describe('createHubs and the master key', () => {
  const manager = () => {
    const attached: unknown[] = [];
    const notes = new Map<string, { ok: boolean; detail: string }>();
    const fake = { attach: (c: unknown) => void attached.push(c), reportTransport: (t: { id: string; ok: boolean; detail: string }) => void notes.set(t.id, t) };
    return { attached, notes, manager: fake as unknown as DeviceManager };
  };
  const serviceOn = (db: SiteDatabase) => ({ db }) as unknown as GatehouseService;

    it('headless: creates <data>/master.key on first use and commissions a LAN hub with it', async () => {
    const dir = tempDir();
    const firmware = installModeHub();
    const bench = await tcpBench(firmware);
    cleanups.push(() => bench.server.close());
    const lines: string[] = [];
    const hubs = createHubs({ dataDir: dir, log: (l) => void lines.push(l), usb: false, tcp: [`${bench.server.host}:${bench.server.port}`], pollIntervalMs: 200 });
    const db = site();
    const m = manager();
    const stop = hubs.attach(m.manager, serviceOn(db));
    cleanups.push(stop);
    await until('the hub attached', () => m.attached.length === 1);
    expect(m.notes.get(`tcp:${bench.server.host}:${bench.server.port}`)).toEqual({ id: `tcp:${bench.server.host}:${bench.server.port}`, ok: true, detail: 'Connected.' });
    expect(existsSync(join(dir, MASTER_KEY_FILE))).toBe(true);
    const box = new SecretBox(await fileMasterKey(dir).load());
    expect(firmware.scbk).toEqual(new HubKeyRing(db, box).keys(MAC)[0]!.key);
    expect(lines.filter((l) => /\[(warn|error)\]/.test(l))).toEqual([]);
  });

  it('a master key it cannot trust: one clear error, and no hub is connected', async () => {
    const dir = tempDir();
    await fileMasterKey(dir).load();
    chmodSync(join(dir, MASTER_KEY_FILE), 0o644);
    const firmware = installModeHub();
    const bench = await tcpBench(firmware);
    cleanups.push(() => bench.server.close());
    const lines: string[] = [];
    const hubs = createHubs({ dataDir: dir, log: (l) => void lines.push(l), usb: false, tcp: [`${bench.server.host}:${bench.server.port}`] });
    const m = manager();
    cleanups.push(hubs.attach(m.manager, serviceOn(site())));
    const line = await until('the error', () => lines.find((l) => l.startsWith('[error]')));
    if (process.platform !== 'win32') {
      expect(line).toMatch(/^\[error\] hubs: the master key the hub keys are sealed under is not available: .*master\.key may be read or changed by others \(mode 0644\).*chmod 600.*No hub is connected until this is fixed\.$/);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(m.attached).toEqual([]);
    expect(m.notes.get('keys')).toMatchObject({ ok: false });
    expect(firmware.scbk).toBeNull();
  });

  it('a USB hub still plugged in whose link could not be made is tried again, without a replug', async () => {
    const dir = tempDir();
    const firmware = installModeHub();
    const bench = usbBench(firmware);
    // Another program holds the device at first (as a stray libusb tool would), then lets go.
    for (let i = 0; i < 3; i++) bench.usb.device.failNext('open', new Error('LIBUSB_ERROR_BUSY: Resource busy'));
    const lines: string[] = [];
    const hubs = createHubs({ dataDir: dir, log: (l) => void lines.push(l), usb: { load: () => Promise.resolve(bench.bus) }, pollIntervalMs: 200 });
    const m = manager();
    cleanups.push(hubs.attach(m.manager, serviceOn(site())));
    await until('the hub attached on a later try', () => m.attached.length === 1);
    // Each failed try is logged, then tried again after 1 s, 2 s, … while the hub stays plugged in.
    expect(lines.filter((l) => l.includes('Resource busy')).length).toBeGreaterThanOrEqual(1);
    expect(firmware.scbk).not.toBeNull();
  });

  it('takes a given master key (the desktop app) and writes no key file', async () => {
    const dir = tempDir();
    const firmware = installModeHub();
    const bench = await tcpBench(firmware);
    cleanups.push(() => bench.server.close());
    const master = new Uint8Array(randomBytes(32));
    const hubs = createHubs({ dataDir: dir, log: () => {}, usb: false, tcp: [`${bench.server.host}:${bench.server.port}`], masterKey: givenMasterKey(master, 'test') });
    const db = site();
    const m = manager();
    cleanups.push(hubs.attach(m.manager, serviceOn(db)));
    await until('the hub attached', () => m.attached.length === 1);
    expect(existsSync(join(dir, MASTER_KEY_FILE))).toBe(false);
    expect(new HubKeyRing(db, new SecretBox(master)).keys(MAC)[0]!.key).toEqual(firmware.scbk);
  });
});

describe("the site's card key on a hub connected with its own key", () => {
  it('has the same fingerprint in the core and in the IQ driver, so what a hub reports compares with the database', () => {
    for (let i = 0; i < 50; i++) {
      const key = new Uint8Array(randomBytes(16));
      expect(toHex(wireFingerprint(key))).toBe(siteKeyFingerprint(key));
    }
  });

  it('may be given once the hub is commissioned, and on every later link opened with its key', async () => {
    const firmware = installModeHub();
    const hub = usbHub(firmware);
    const t = harness();
    const siteKey = new Uint8Array(randomBytes(16));
    const give = (c: IqHubClient) => c.setSiteKey({ generation: 1, site_id: 'a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607', key: siteKey });
    const first = await t.connect(await hub.link());
    expect(await give(first)).toBe(siteKeyFingerprint(siteKey));
    await first.close();
    hub.bench.usb.replug();
    const again = await t.connect(await hub.link());
    expect(await give(again)).toBe(siteKeyFingerprint(siteKey));
    expect(firmware.siteKeyFingerprint).toBe(siteKeyFingerprint(siteKey));
  });
});
