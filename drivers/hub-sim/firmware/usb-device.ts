// The firmware behind a fake USB device (drivers/transport/fake-webusb.ts) that looks like the real
// hub to openUsbHub: VID:PID 1209:000C, configuration 1, one vendor-specific interface with a bulk IN
// and a bulk OUT endpoint. OUT packets are a byte stream into the firmware's OSDP receiver, replies go
// back as IN packets; frame boundaries come from OSDP, never from packets. Each plug-in is a new
// enumeration and so a new OSDP session, as on hardware; a reboot drops off the bus and comes back.
import type { Clock } from '../../osdp/clock.ts';
import type { Peripheral } from '../../osdp/peripheral.ts';
import { FakeUsbDevice, type FakeErrorStyle } from '../../transport/fake-webusb.ts';
import { IQ_HUB_USB_IDS } from '../../transport/usb-diagnostics.ts';
import { FaultyPipe, type FaultConfig } from './faults.ts';
import type { HubFirmware } from './firmware.ts';

export interface UsbHubDeviceOptions {
  /** wMaxPacketSize: 64 (full speed, default) or 512 (high speed). */
  packetSize?: number;
  errorStyle?: FakeErrorStyle;
  /** Faults on host → hub packets and on hub → host replies. */
  faults?: { toHub?: FaultConfig; toHost?: FaultConfig };
  seed?: number;
  clock?: Clock;
}

export class UsbHubDevice {
  readonly device: FakeUsbDevice;
  readonly toHub: FaultyPipe;
  readonly toHost: FaultyPipe;
  readonly #firmware: HubFirmware;
  #session: { pd: Peripheral; listeners: Set<(chunk: Uint8Array) => void> } | null = null;

  constructor(firmware: HubFirmware, o: UsbHubDeviceOptions = {}) {
    this.#firmware = firmware;
    this.device = new FakeUsbDevice({
      vendorId: IQ_HUB_USB_IDS.vendorId,
      productId: IQ_HUB_USB_IDS.productId,
      serialNumber: firmware.serial,
      productName: 'Gatehouse IQ (simulated)',
      packetSize: o.packetSize ?? 64,
      errorStyle: o.errorStyle ?? 'node-usb-3',
    });
    const seed = o.seed ?? 1;
    this.toHub = new FaultyPipe((chunk) => this.#session?.listeners.forEach((cb) => cb(chunk)), { config: o.faults?.toHub, seed, clock: o.clock });
    this.toHost = new FaultyPipe((chunk) => this.device.sendToHost(chunk), { config: o.faults?.toHost, seed: seed + 1, clock: o.clock });
    this.device.onHostWrite((packet) => this.toHub.push(packet));
    this.#startSession();
  }

  /** Sets both directions' faults at once. */
  setFaults(config: FaultConfig): void {
    this.toHub.config = config;
    this.toHost.config = config;
  }

  unplug(): void {
    this.#endSession();
    this.device.unplug();
  }

  replug(): void {
    this.#endSession();
    this.device.replug();
    this.#startSession();
  }

  /** Power cycle: off the bus, the firmware boots from flash, enumerates again. */
  reboot(): void {
    this.unplug();
    this.#firmware.reboot();
    this.replug();
  }

  #startSession(): void {
    const listeners = new Set<(chunk: Uint8Array) => void>();
    const link = {
      // On the next turn of the event loop, as a real bus completes a transfer: answering at once
      // would chain a whole table push or event drain into one run that starves timers and servers.
      write: (bytes: Uint8Array) => {
        setImmediate(() => {
          if (this.#session?.listeners === listeners) this.toHost.push(bytes);
        });
        return Promise.resolve();
      },
      onData: (cb: (chunk: Uint8Array) => void) => {
        listeners.add(cb);
        return () => listeners.delete(cb);
      },
    };
    this.#session = { pd: this.#firmware.attach(link), listeners };
  }

  #endSession(): void {
    if (this.#session) this.#firmware.detach(this.#session.pd);
    this.#session = null;
    this.toHub.clear();
    this.toHost.clear();
  }
}
