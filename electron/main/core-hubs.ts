// Hubs in the desktop app's core process: the same composition as `gatehouse serve` (bin/hubs.ts) — real
// USB (with the plain "no USB here" message when it cannot be used), LAN hubs, per-hub keys — with the
// master key the main process unwrapped from safeStorage (master-key.ts). The desktop has no demo mode,
// so no simulated hubs. No Electron here: core-process.ts calls it, and tests run it in plain Node.
import { createHubs, type Hubs, type HubsOptions } from '../../bin/hubs.ts';
import type { DeviceManager } from '../../core/devices/device-manager.ts';
import { startDeviceManager } from '../../core/devices/start.ts';
import { givenMasterKey } from '../../core/secrets/master-key.ts';
import type { GatehouseService } from '../../core/service/service.ts';

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
  const manager = startDeviceManager(o.service, o.log);
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
