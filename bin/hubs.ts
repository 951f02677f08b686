// The composition root for IQ hubs: it turns driver connections (USB, TCP, the simulated demo hubs)
// into HubConnections for the host's DeviceManager. The core never sees a driver and drivers never see
// the core; this file is where the two meet.
//
// Secure channel (docs/iq-protocol.md, Keys): every hub has its own key (OSDP SCBK), stored sealed under
// the installation's master key (core/secrets). The hub names its MAC in the handshake (its cUID), so the
// host picks that hub's key before anything is proven. A hub in install mode is commissioned at first
// contact: a fresh key is committed as pending, then sent with KEYSET, then marked active once the hub
// has proven it holds it; a host killed anywhere in between finds the pending key on the next connect.
// A hub that has a key is never spoken to with the default key: if it refuses ours, that is an error in
// the log, and an installer resets the hub to install mode to commission it again.
import { join } from 'node:path';
import type { HubTransport } from '../core/contract/results.ts';
import type { DeviceManager } from '../core/devices/device-manager.ts';
import type { GatehouseService } from '../core/service/service.ts';
import { DEMO_IQS } from '../core/host/demo.ts';
import { HubKeyRing, type HubKey } from '../core/secrets/hub-keys.ts';
import { fileMasterKey, type MasterKeySource } from '../core/secrets/master-key.ts';
import { SecretBox, SecretError } from '../core/secrets/secret-box.ts';
import { stmt } from '../core/store/db.ts';
import { findIqByMac } from '../core/store/repos/iqs.ts';
import { IqHubClient, type HubLink } from '../drivers/iq/host/hub-client.ts';
import { IqHubError } from '../drivers/iq/host/errors.ts';
import { macFromClientUid } from '../drivers/iq/host/keys.ts';
import { formatAddress, parseAddress, toHex } from '../drivers/iq/host/convert.ts';
import type { KeyChooser } from '../drivers/osdp/control-panel.ts';
import { sameBytes, SCBK_D } from '../drivers/osdp/secure-channel.ts';
import { HubFirmware } from '../drivers/hub-sim/firmware/firmware.ts';
import { UsbHubDevice } from '../drivers/hub-sim/firmware/usb-device.ts';
import { FileFlash } from '../drivers/hub-sim/flash.ts';
import type { PresentResult } from '../drivers/hub-sim/hub.ts';
import type { ByteStream } from '../drivers/transport/byte-stream.ts';
import { FakeUsbBus } from '../drivers/transport/fake-webusb.ts';
import { connectTcpHub, DEFAULT_HUB_TCP_PORT } from '../drivers/transport/tcp-hub-transport.ts';
import { usbAvailability, watchHubs } from '../drivers/transport/usb-discovery.ts';
import { openUsbHub } from '../drivers/transport/usb-hub-transport.ts';
import { loadUsbModule } from '../drivers/transport/usb-module.ts';
import type { UsbDevice, UsbModule } from '../drivers/transport/webusb-types.ts';

const TCP_RETRY_MIN_MS = 1000;
const USB_RETRY_MIN_MS = 1000;
const USB_RETRY_MAX_MS = 60_000;
const TCP_RETRY_MAX_MS = 60_000;

export interface HubsOptions {
  /** The installation's data folder: simulated hubs keep their flash in `<dataDir>/simulated-hubs/<mac>/`. */
  dataDir: string;
  log: (line: string) => void;
  /** Look for hubs on USB. Default true; `load` replaces the `usb` package (tests). */
  usb?: boolean | { load: () => Promise<UsbModule> };
  /** LAN hubs, "host" or "host:port" (default port 7374); reconnected with backoff. */
  tcp?: readonly string[];
  /** One simulated hub per demo IQ, on a fake USB bus. */
  simulated?: boolean;
  /**
   * With `simulated`: one more simulated hub, fresh out of its box (install mode, no IQ has its MAC,
   * nothing paired), so a new user can commission a hub in the demo without owning one.
   */
  spare?: boolean;
  /** Host-side OSDP poll interval (ms); default the client's 1 s. */
  pollIntervalMs?: number;
  /**
   * The master key the hub keys are sealed under. Default `<dataDir>/master.key` (fileMasterKey, created
   * on first use); the desktop app passes the key its main process unwrapped with safeStorage.
   */
  masterKey?: MasterKeySource;
}

export interface SimulatedHub {
  mac: string;
  firmware: HubFirmware;
  usb: UsbHubDevice;
}

/** The demo's hubs, to act on as a person at a door would. */
export interface SimulatedHubs {
  readonly hubs: readonly SimulatedHub[];
  readonly bus: FakeUsbBus;
  /** The simulated hub a lock is paired with, or null. */
  hubOf(lockId: string): SimulatedHub | null;
  /** A tag (number, up to 10 digits) presented at a lock: decided by the hub that has the lock, filed in its event ring. */
  presentTag(lockId: string, tagNumber: string, opts?: { hold?: boolean }): PresentResult & { mac: string };
}

export interface Hubs {
  /** The host's hook (HostOptions.hubs): attaches every hub link to this manager until the returned stop. */
  attach(manager: DeviceManager, service: GatehouseService): () => Promise<void>;
  /** The simulated hubs once the first attach created them (null without `simulated`). */
  readonly simulated: SimulatedHubs | null;
  /** Powers the simulated hubs down (call after the host has closed). */
  close(): void;
}

export function createHubs(o: HubsOptions): Hubs {
  const tcpTargets = (o.tcp ?? []).map(parseTcpTarget);
  let simulated: (SimulatedHubs & { close(): void }) | null = null;
  // Asked once per process: the answer (and the udev advice in it) is logged once, not per restore.
  let realUsb: Promise<{ bus: UsbModule | null; note: HubTransport | null }> | null = null;
  const usbOption = o.usb ?? true;
  const masterKey = o.masterKey ?? fileMasterKey(o.dataDir);
  // Loaded once per process; a failure is logged and tried again at the next attach (after a restore).
  let box: Promise<SecretBox | null> | null = null;

  const realUsbBus = (): Promise<{ bus: UsbModule | null; note: HubTransport | null }> => {
    if (usbOption === false) return Promise.resolve({ bus: null, note: null });
    const load = usbOption === true ? loadUsbModule : usbOption.load;
    realUsb ??= usbAvailability({ load }).then(async (a) => {
      if (!a.ok) {
        o.log(`[warn] ${a.message}`);
        return { bus: null, note: { id: 'usb', ok: false, detail: a.message } };
      }
      o.log(`[info] USB: looking for IQ hubs (${a.hubs} plugged in now)`);
      return { bus: await load(), note: { id: 'usb', ok: true, detail: 'Looking for IQ hubs on USB; plug one in and it appears here.' } };
    });
    return realUsb;
  };
  const secretBox = (): Promise<SecretBox | null> => {
    box ??= masterKey.load().then(
      (key) => new SecretBox(key),
      (e: unknown) => {
        box = null;
        o.log(`[error] hubs: the master key the hub keys are sealed under is not available: ${(e as Error).message}. No hub is connected until this is fixed.`);
        return null;
      },
    );
    return box;
  };

  return {
    get simulated() {
      return simulated;
    },
    attach(manager, service) {
      const stops: Array<() => Promise<void>> = [];
      let stopped = false;
      // The firmware is hardware: it lives as long as the process, across restores.
      if (o.simulated) simulated ??= startSimulatedHubs(o.dataDir, o.spare ?? false);
      void secretBox().then((sealer) => {
        if (!sealer) manager.reportTransport({ id: 'keys', ok: false, detail: 'The master key the hub keys are sealed under is not available (see the log); no hub is connected until this is fixed.' });
        if (!sealer || stopped) return;
        const links: LinkOptions = { log: o.log, pollIntervalMs: o.pollIntervalMs, keys: new HubKeyRing(service.db, sealer) };
        if (simulated) {
          manager.reportTransport({ id: 'simulated', ok: true, detail: `${simulated.hubs.length} simulated hubs of the demo, on a simulated USB bus.` });
          stops.push(watchUsbHubs(simulated.bus, manager, { ...links, address: simAddress, beforeAttach: (c) => pairDemoLocks(c, service, o.log) }));
        }
        for (const t of tcpTargets) stops.push(keepTcpHub(t, manager, links));
        void realUsbBus().then(({ bus, note }) => {
          if (note) manager.reportTransport(note);
          if (bus && !stopped) stops.push(watchUsbHubs(bus, manager, { ...links, address: usbAddress }));
        });
      });
      return async () => {
        stopped = true;
        await Promise.allSettled(stops.map((s) => s()));
      };
    },
    close() {
      simulated?.close();
    },
  };
}

export function parseTcpTarget(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const port = m?.[3] === undefined ? DEFAULT_HUB_TCP_PORT : Number(m[3]);
  if (!m || port < 1 || port > 65_535) throw new Error(`--hub-tcp ${text}: expected host or host:port`);
  return { host: (m[1] ?? m[2])!, port };
}

// ── Keys ──────────────────────────────────────────────────────────────────────────────────────────

interface LinkOptions {
  log: (line: string) => void;
  pollIntervalMs?: number;
  /** The hub keys of the current database. */
  keys: HubKeyRing;
}

/** A hub that refuses our key, or whose key we cannot use: an installer has to act, so it is logged as an error. */
export class HubKeyError extends Error {
  override readonly name = 'HubKeyError';
}

/**
 * Connects to the hub on `link` with its own key and resolves once it is ready to attach: a hub in install
 * mode is given a key of its own first (commissioned), a pending key it proves to hold becomes active.
 */
export async function connectHub(link: HubLink, address: string, o: LinkOptions): Promise<IqHubClient> {
  // What the handshake told us (filled in by the chooser, which runs inside connect).
  const seen: { mac: string | null; clientUid: Uint8Array | null; keys: HubKey[]; used: { key: Uint8Array; installMode: boolean } | null; problem: Error | null } = {
    mac: null,
    clientUid: null,
    keys: [],
    used: null,
    problem: null,
  };
  // Install mode is accepted until the hub is commissioned or found provisioned; after that, a hub that
  // falls back to install mode ends this client, and the next connection commissions it anew.
  let installModeAccepted = true;
  const chooseKey: KeyChooser = {
    candidates: ({ clientUid, installMode }) => {
      seen.clientUid = clientUid;
      seen.mac = macFromClientUid(clientUid);
      if (installMode) return installModeAccepted ? [SCBK_D] : [];
      if (!seen.mac) return [];
      try {
        seen.keys = o.keys.keys(seen.mac);
      } catch (e) {
        seen.problem = e as Error;
        return [];
      }
      return seen.keys.map((k) => k.key);
    },
    accepted: (key, request) => {
      seen.used = { key, installMode: request.installMode };
    },
  };
  let client: IqHubClient;
  try {
    client = await IqHubClient.connect({
      link,
      address,
      secureChannel: { chooseKey },
      pollIntervalMs: o.pollIntervalMs,
      log: (level, message) => o.log(`[${level}] hub ${address}: ${message}`),
    });
  } catch (e) {
    throw refusal(e, seen);
  }
  try {
    const used = seen.used!;
    const { mac } = await client.identify();
    if (used.installMode) {
      if (seen.mac !== mac) {
        throw new HubKeyError(
          seen.mac
            ? `the hub named MAC ${seen.mac} in its handshake but ${mac} in its status: it is not commissioned`
            : `the hub (MAC ${mac}) does not name its MAC in its handshake (cUID ${toHex(seen.clientUid!)}), so Gatehouse could not find its key again: it is not commissioned (docs/iq-protocol.md, Keys)`,
        );
      }
      await commission(client, mac, o);
      installModeAccepted = false;
    } else {
      installModeAccepted = false;
      // The chooser only offers keys stored for the MAC the hub named; the status must agree.
      if (seen.mac !== mac) throw new HubKeyError(`the hub named MAC ${seen.mac} in its handshake but ${mac} in its status; it is not driven`);
      const was = seen.keys.find((k) => sameBytes(k.key, used.key))?.state;
      o.keys.confirm(mac, used.key);
      if (was === 'pending') o.log(`[info] hub ${address} (MAC ${mac}): it holds the key Gatehouse gave it before it was stopped; that key is now its active key`);
      else o.log(`[info] hub ${address} (MAC ${mac}): secure channel up with its own key`);
    }
  } catch (e) {
    await client.close().catch(() => {});
    throw e;
  }
  return client;
}

/** Gives a hub in install mode its own key: stored as pending (committed) before KEYSET, active once the hub proved it. */
async function commission(client: IqHubClient, mac: string, o: LinkOptions): Promise<void> {
  const where = `hub ${client.address} (MAC ${mac})`;
  if (o.keys.has(mac)) o.log(`[warn] ${where} is in install mode again although Gatehouse holds a key for it (it was reset by hand?): giving it a new key`);
  else o.log(`[info] ${where} is in install mode: giving it its own secure-channel key`);
  const key = o.keys.createPending(mac);
  await client.setKey(key);
  o.keys.confirm(mac, key);
  o.log(`[info] ${where}: its own key is set and stored (sealed); the default key no longer opens it`);
}

/** Why a connect failed, worded for the installer when it is about the key. */
function refusal(e: unknown, seen: { mac: string | null; clientUid: Uint8Array | null; keys: HubKey[]; problem: Error | null }): Error {
  const osdp = e instanceof IqHubError ? e.details.osdp : undefined;
  if (seen.problem) {
    const why = seen.problem instanceof SecretError ? seen.problem.message : `its stored keys could not be read: ${seen.problem.message}`;
    return new HubKeyError(`hub ${seen.mac}: ${why}`);
  }
  if (osdp !== 'key_mismatch') return e as Error;
  if (!seen.mac) {
    const uid = seen.clientUid ? ` (cUID ${toHex(seen.clientUid)})` : '';
    return new HubKeyError(`the hub does not name its MAC in its handshake${uid}, so Gatehouse cannot tell which key is its own; is it a Gatehouse IQ with current firmware?`);
  }
  if (seen.keys.length === 0) {
    return new HubKeyError(
      `hub ${seen.mac} holds a secure-channel key Gatehouse does not have (commissioned by another installation, or this database does not hold its key); reset it to install mode to re-commission`,
    );
  }
  return new HubKeyError(`hub ${seen.mac} refuses our key; reset it to install mode to re-commission`);
}

const logLevel = (e: unknown) => (e instanceof HubKeyError ? 'error' : 'warn');

// ── USB (real, or the simulated hubs' fake bus) ───────────────────────────────────────────────────

function usbAddress(device: UsbDevice): string {
  if (device.bus !== undefined && device.address !== undefined) return `usb:${device.bus}-${device.address}`;
  return `usb:${device.serialNumber ?? 'unknown'}`;
}

function simAddress(device: UsbDevice): string {
  return `sim:${device.serialNumber ?? 'hub'}`;
}

/** Every hub on the bus, now and as it is plugged in, opened and attached; returns how to stop. */
function watchUsbHubs(
  bus: UsbModule,
  manager: DeviceManager,
  o: LinkOptions & { address: (d: UsbDevice) => string; beforeAttach?: (c: IqHubClient) => Promise<void> },
): () => Promise<void> {
  let stopped = false;
  const opening = new Set<ByteStream>();
  // A hub still plugged in whose link ended (the client gave up on a hub gone quiet, a refused key, a
  // failed open) is opened again with backoff, as a LAN hub is; a replug starts afresh.
  const plugged = new Set<UsbDevice>();
  const delays = new Map<UsbDevice, number>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const retryLater = (device: UsbDevice) => {
    if (stopped || !plugged.has(device)) return;
    const delay = delays.get(device) ?? USB_RETRY_MIN_MS;
    delays.set(device, Math.min(delay * 2, USB_RETRY_MAX_MS));
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped && plugged.has(device)) void open(device);
    }, delay);
    t.unref?.();
    timers.add(t);
  };
  const open = async (device: UsbDevice) => {
    const address = o.address(device);
    let stream: ByteStream | null = null;
    try {
      stream = await openUsbHub(device, { events: bus });
      if (stopped) return void (await stream.close());
      opening.add(stream);
      const client = await connectHub(stream, address, o);
      await o.beforeAttach?.(client);
      opening.delete(stream);
      if (stopped) return void (await client.close());
      delays.delete(device);
      client.onClose(() => retryLater(device));
      manager.attach(client);
    } catch (e) {
      if (stream) opening.delete(stream);
      await stream?.close().catch(() => {});
      if (!stopped && plugged.has(device)) {
        o.log(`[${logLevel(e)}] hub ${address}: ${(e as Error).message}`);
        retryLater(device);
      }
    }
  };
  const watch = watchHubs(bus, {
    attach: (d) => {
      plugged.add(d);
      delays.delete(d);
      void open(d);
    },
    detach: (d) => {
      plugged.delete(d);
      delays.delete(d);
    },
    error: (e) => o.log(`[warn] USB: ${(e as Error).message}`),
  });
  return async () => {
    stopped = true;
    watch.stop();
    for (const t of timers) clearTimeout(t);
    await Promise.allSettled([...opening].map((s) => s.close()));
  };
}

// ── TCP ───────────────────────────────────────────────────────────────────────────────────────────

/** Keeps one LAN hub connected: reconnects with backoff (1 s doubling to 60 s) whenever the link ends. */
function keepTcpHub(target: { host: string; port: number }, manager: DeviceManager, o: LinkOptions): () => Promise<void> {
  const address = `tcp:${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  let stopped = false;
  let delay = TCP_RETRY_MIN_MS;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stream: ByteStream | null = null;
  let client: IqHubClient | null = null;
  let lastError = '';

  const retry = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, delay);
    timer.unref?.();
    delay = Math.min(delay * 2, TCP_RETRY_MAX_MS);
  };
  const connect = async () => {
    try {
      stream = await connectTcpHub({ host: target.host, port: target.port });
      if (stopped) return void (await stream.close());
      client = await connectHub(stream, address, o);
      if (stopped) return void (await client.close());
      delay = TCP_RETRY_MIN_MS;
      lastError = '';
      manager.reportTransport({ id: address, ok: true, detail: 'Connected.' });
      client.onClose(() => {
        client = null;
        stream = null;
        retry();
      });
      manager.attach(client);
    } catch (e) {
      await stream?.close().catch(() => {});
      stream = null;
      const message = (e as Error).message;
      // A hub that stays away would otherwise fill the log once a minute with the same line.
      if (!stopped && message !== lastError) o.log(`[${logLevel(e)}] hub ${address}: ${message} (retrying)`);
      if (!stopped) manager.reportTransport({ id: address, ok: false, detail: `${message} (trying again every ${Math.round(delay / 1000)} s or so)` });
      lastError = message;
      retry();
    }
  };
  void connect();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await client?.close().catch(() => {});
    await stream?.close().catch(() => {});
  };
}

// ── Simulated hubs ────────────────────────────────────────────────────────────────────────────────

/** The demo's spare hub: a MAC no demo IQ has (locally administered), so it starts unclaimed. */
export const SPARE_HUB = { mac: '02-00-5E-10-0D-01', serial: 'IQ2-0009001', firmware: '3.1.0' } as const;

function startSimulatedHubs(dataDir: string, spare: boolean): SimulatedHubs & { close(): void } {
  const boxes = [...DEMO_IQS.map((iq) => ({ mac: iq.mac, serial: iq.serial, firmware: iq.firmware, spare: false })), ...(spare ? [{ ...SPARE_HUB, spare: true }] : [])];
  const hubs: SimulatedHub[] = boxes.map((box) => {
    const firmware = new HubFirmware({
      flash: new FileFlash(join(dataDir, 'simulated-hubs', box.mac.toLowerCase())),
      mac: parseAddress(box.mac)!,
      serial: box.serial,
      firmwareVersion: `${box.firmware}-sim`,
      // Out of the box in install mode: the first connect commissions it (KEYSET), and its flash keeps the key.
      factoryKey: null,
      // The spare pairs only what an installer pairs, as a real hub would.
      ...(box.spare ? { hub: { autoPair: false } } : {}),
    });
    return { mac: box.mac, firmware, usb: new UsbHubDevice(firmware) };
  });
  const bus = new FakeUsbBus(hubs.map((h) => h.usb.device));
  const hubOf = (lockId: string) => hubs.find((h) => h.firmware.hub.lockIds().includes(lockId)) ?? null;
  return {
    hubs,
    bus,
    hubOf,
    presentTag(lockId, tagNumber, opts = {}) {
      const h = hubOf(lockId);
      if (!h) throw new Error(`no simulated hub has lock ${lockId} paired`);
      return { ...h.firmware.hub.presentTag(lockId, tagNumber, { hold: opts.hold }), mac: h.mac };
    },
    close() {
      for (const h of hubs) h.usb.unplug();
    },
  };
}

/**
 * An installer pairs a hub's locks by radio address (PAIR_LOCK); for the demo this stands in for them:
 * every lock the core puts on the hub's IQ and the hub does not list yet. Pairing is what lets the hub
 * name the core's lock ids in its events.
 */
async function pairDemoLocks(client: IqHubClient, service: GatehouseService, log: (line: string) => void): Promise<void> {
  const { mac } = await client.identify();
  const iq = findIqByMac(service.db.read, mac);
  if (!iq) return;
  const locks = stmt(service.db.read, 'SELECT id, mac FROM locks WHERE iq_id = ? AND mac IS NOT NULL ORDER BY pk').all(iq.id) as Array<{ id: string; mac: string }>;
  const paired = new Set((await client.listLocks()).map((l) => l.lock_id));
  let added = 0;
  for (const lock of locks) {
    if (paired.has(lock.id)) continue;
    try {
      await client.pairLock({ address: lock.mac, serial: '', lock_id: lock.id });
      added++;
    } catch (e) {
      log(`[warn] hub ${client.address}: pairing lock ${lock.id} (${lock.mac}) failed: ${(e as Error).message}`);
    }
  }
  if (added) log(`[info] hub ${client.address} (MAC ${formatAddress(parseAddress(mac)!)}): paired ${added} lock(s)`);
}
