// The composition root for IQ hubs: it turns driver connections (USB, TCP, the simulated demo hubs)
// into HubConnections for the host's DeviceManager. The core never sees a driver and drivers never see
// the core; this file is where the two meet.
//
// SECURE CHANNEL — TEMPORARY: every link here handshakes with the hub's install-mode default key
// (SCBK-D, OSDP's well-known key), and the simulated hubs are left in install mode to accept it. That is
// no protection at all: anyone on the link can speak for Gatehouse. It stays so only until per-hub keys
// land (KEYSET at first contact, the key stored encrypted by the core and given back here per hub).
import { join } from 'node:path';
import type { DeviceManager } from '../core/devices/device-manager.ts';
import type { GatehouseService } from '../core/service/service.ts';
import { DEMO_IQS } from '../core/host/demo.ts';
import { stmt } from '../core/store/db.ts';
import { findIqByMac } from '../core/store/repos/iqs.ts';
import { IqHubClient, type IqHubClientOptions } from '../drivers/iq/host/hub-client.ts';
import { formatAddress, parseAddress } from '../drivers/iq/host/convert.ts';
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

/** TEMPORARY (see the head of this file): SCBK-D until per-hub keys are stored by the core. */
const INSTALL_MODE_CHANNEL: IqHubClientOptions['secureChannel'] = { installMode: true };

const TCP_RETRY_MIN_MS = 1000;
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
  /** Host-side OSDP poll interval (ms); default the client's 1 s. */
  pollIntervalMs?: number;
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
  let realUsb: Promise<UsbModule | null> | null = null;
  const usbOption = o.usb ?? true;

  const realUsbBus = (): Promise<UsbModule | null> => {
    if (usbOption === false) return Promise.resolve(null);
    const load = usbOption === true ? loadUsbModule : usbOption.load;
    realUsb ??= usbAvailability({ load }).then(async (a) => {
      if (!a.ok) {
        o.log(`[warn] ${a.message}`);
        return null;
      }
      o.log(`[info] USB: looking for IQ hubs (${a.hubs} plugged in now)`);
      return load();
    });
    return realUsb;
  };

  return {
    get simulated() {
      return simulated;
    },
    attach(manager, service) {
      const stops: Array<() => Promise<void>> = [];
      let stopped = false;
      const clientOptions = { log: o.log, pollIntervalMs: o.pollIntervalMs };
      if (o.simulated) {
        // The firmware is hardware: it lives as long as the process, across restores.
        simulated ??= startSimulatedHubs(o.dataDir);
        stops.push(watchUsbHubs(simulated.bus, manager, { ...clientOptions, address: simAddress, beforeAttach: (c) => pairDemoLocks(c, service, o.log) }));
      }
      for (const t of tcpTargets) stops.push(keepTcpHub(t, manager, clientOptions));
      void realUsbBus().then((bus) => {
        if (bus && !stopped) stops.push(watchUsbHubs(bus, manager, { ...clientOptions, address: usbAddress }));
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

// ── USB (real, or the simulated hubs' fake bus) ───────────────────────────────────────────────────

interface LinkOptions {
  log: (line: string) => void;
  pollIntervalMs?: number;
}

function clientFor(link: ByteStream, address: string, o: LinkOptions): Promise<IqHubClient> {
  return IqHubClient.connect({
    link,
    address,
    secureChannel: INSTALL_MODE_CHANNEL,
    pollIntervalMs: o.pollIntervalMs,
    log: (level, message) => o.log(`[${level}] hub ${address}: ${message}`),
  });
}

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
  const open = async (device: UsbDevice) => {
    const address = o.address(device);
    let stream: ByteStream | null = null;
    try {
      stream = await openUsbHub(device, { events: bus });
      if (stopped) return void (await stream.close());
      opening.add(stream);
      const client = await clientFor(stream, address, o);
      await o.beforeAttach?.(client);
      opening.delete(stream);
      if (stopped) return void (await client.close());
      manager.attach(client);
    } catch (e) {
      if (stream) opening.delete(stream);
      await stream?.close().catch(() => {});
      if (!stopped) o.log(`[warn] hub ${address}: ${(e as Error).message}`);
    }
  };
  // An unplugged hub's stream closes by itself and its session ends with it; a replug is a new attach.
  const watch = watchHubs(bus, { attach: (d) => void open(d), detach: () => {}, error: (e) => o.log(`[warn] USB: ${(e as Error).message}`) });
  return async () => {
    stopped = true;
    watch.stop();
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
      client = await clientFor(stream, address, o);
      if (stopped) return void (await client.close());
      delay = TCP_RETRY_MIN_MS;
      lastError = '';
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
      if (!stopped && message !== lastError) o.log(`[warn] hub ${address}: ${message} (retrying)`);
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

function startSimulatedHubs(dataDir: string): SimulatedHubs & { close(): void } {
  const hubs: SimulatedHub[] = DEMO_IQS.map((iq) => {
    const firmware = new HubFirmware({
      flash: new FileFlash(join(dataDir, 'simulated-hubs', iq.mac.toLowerCase())),
      mac: parseAddress(iq.mac)!,
      serial: iq.serial,
      firmwareVersion: `${iq.firmware}-sim`,
      // TEMPORARY (see the head of this file): no factory key, so the hub stays in install mode and takes SCBK-D.
      factoryKey: null,
    });
    return { mac: iq.mac, firmware, usb: new UsbHubDevice(firmware) };
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
