// Hubs and card encoders in the desktop app's core process: the same composition as `gatehouse serve`
// (bin/hubs.ts, bin/encoders.ts) — real USB (with the plain "no USB here" message when it cannot be
// used), LAN hubs, per-hub keys, the site's card key — with the master key the main process unwrapped
// from safeStorage (master-key.ts). The desktop has no demo mode, so nothing simulated. No Electron
// here: core-process.ts calls it, and tests run it in plain Node.
import { createEncoders, type Encoders } from '../../bin/encoders.ts';
import { createHubs, type Hubs, type HubsOptions } from '../../bin/hubs.ts';
import type { DeviceManager } from '../../core/devices/device-manager.ts';
import { startDeviceManager } from '../../core/devices/start.ts';
import { givenMasterKey } from '../../core/secrets/master-key.ts';
import { SecretBox } from '../../core/secrets/secret-box.ts';
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
  readonly encoders: Encoders;
  /** Ends every session (they record their IQs offline) and closes the links and the encoders. */
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
  // The site's card key is sealed under the same master key as the hub keys.
  o.service.secrets = new SecretBox(o.masterKey);
  const manager = startDeviceManager(o.service, o.log);
  const log = (line: string) => {
    const m = /^\[(info|warn|error)\] (.*)$/s.exec(line);
    o.log((m?.[1] as 'info' | 'warn' | 'error' | undefined) ?? 'info', m?.[2] ?? line);
  };
  const hubs = createHubs({
    dataDir: o.dataDir,
    log,
    usb: o.usb,
    tcp: o.tcp,
    simulated: false,
    pollIntervalMs: o.pollIntervalMs,
    masterKey: givenMasterKey(o.masterKey, 'the master key from the desktop app'),
  });
  const detach = hubs.attach(manager, o.service);
  const encoders = createEncoders({ log, usb: o.usb ?? true });
  const detachEncoders = encoders.attach(o.service);
  let stopping: Promise<void> | null = null;
  return {
    manager,
    hubs,
    encoders,
    stop() {
      stopping ??= Promise.allSettled([manager.close(), detach(), detachEncoders()]).then(() => Promise.allSettled([hubs.close(), encoders.close()]).then(() => undefined));
      return stopping;
    },
  };
}
