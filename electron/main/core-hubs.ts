// Hubs in the desktop app's core process: the same composition as `gatehouse serve` (bin/hubs.ts) — real
// USB (with the plain "no USB here" message when it cannot be used), LAN hubs, per-hub keys — with the
// master key the main process unwrapped from safeStorage (master-key.ts). The desktop has no demo mode,
// so no simulated hubs. No Electron here: core-process.ts calls it, and tests run it in plain Node.
import { createHubs, type Hubs, type HubsOptions } from '../../bin/hubs.ts';
import { DeviceManager } from '../../core/devices/device-manager.ts';
import { serviceDeviceHost } from '../../core/devices/device-host.ts';
import type { HubSessionStatus } from '../../core/devices/hub-session.ts';
import { givenMasterKey } from '../../core/secrets/master-key.ts';
import type { GatehouseService } from '../../core/service/service.ts';
import { stmt } from '../../core/store/db.ts';

export type CoreLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface CoreHubsOptions {
  service: GatehouseService;
  dataDir: string;
  /** The installation's master key, as main unwrapped it. */
  masterKey: Uint8Array;
  log: CoreLog;
  /** LAN hubs, "host[:port]" (GATEHOUSE_HUB_TCP, comma-separated). */
  tcp?: readonly string[];
  /** Default: the real `usb` package; tests pass a fake bus or false. */
  usb?: HubsOptions['usb'];
  pollIntervalMs?: number;
}

export interface CoreHubs {
  readonly manager: DeviceManager;
  readonly hubs: Hubs;
  /** Ends every session (they record their IQs offline) and closes the links. */
  stop(): Promise<void>;
}

/** Parses GATEHOUSE_HUB_TCP ("10.0.4.7, 10.0.4.8:7374"); empty entries are ignored. */
export function hubTcpTargets(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function startCoreHubs(o: CoreHubsOptions): CoreHubs {
  // No hub is connected yet, whatever the database says: an IQ is online once its hub's session says so.
  const reports = serviceDeviceHost(o.service);
  for (const { id } of stmt(o.service.db.read, 'SELECT id FROM iqs WHERE online = 1').all() as Array<{ id: string }>) reports.reportIq(id, { online: false });
  const manager = new DeviceManager(o.service, undefined, statusLogger(o.log));
  const hubs = createHubs({
    dataDir: o.dataDir,
    log: (line) => {
      const m = /^\[(info|warn|error)\] (.*)$/s.exec(line);
      o.log((m?.[1] as 'info' | 'warn' | 'error' | undefined) ?? 'info', m?.[2] ?? line);
    },
    usb: o.usb,
    tcp: o.tcp,
    simulated: false,
    pollIntervalMs: o.pollIntervalMs,
    masterKey: givenMasterKey(o.masterKey, 'the master key from the desktop app'),
  });
  const detach = hubs.attach(manager, o.service);
  let stopping: Promise<void> | null = null;
  return {
    manager,
    hubs,
    stop() {
      stopping ??= Promise.allSettled([manager.close(), detach()]).then(() => hubs.close());
      return stopping;
    },
  };
}

/** As the headless host logs them: a hub nobody claims, and a hub in step for the first time since it connected. */
function statusLogger(log: CoreLog): (s: HubSessionStatus) => void {
  const announced = new Map<string, HubSessionStatus['state']>();
  return (s) => {
    if (s.state === 'closed') {
      announced.delete(s.address);
      return;
    }
    if ((s.state !== 'ready' && s.state !== 'unclaimed') || announced.get(s.address) === s.state) return;
    announced.set(s.address, s.state);
    if (s.state === 'unclaimed') log('info', `hub ${s.address} (MAC ${s.mac}) is connected but no IQ has its MAC: register it to use it`);
    else log('info', `hub ${s.address} (MAC ${s.mac}) is in step: table version ${s.table?.version ?? '–'}`);
  };
}
