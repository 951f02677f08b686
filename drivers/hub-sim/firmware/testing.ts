// Test benches for the firmware on the wire: a simulated hub behind the real USB transport (openUsbHub
// on a fake bus) or a TCP listener, and the real host client (IqHubClient) on top. Real time, short
// OSDP timeouts, so a fault costs tens of milliseconds.
import { IqHubClient, type IqEventBatch } from '../../iq/host/hub-client.ts';
import { connectTcpHub } from '../../transport/tcp-hub-transport.ts';
import { FakeUsbBus } from '../../transport/fake-webusb.ts';
import { openUsbHub } from '../../transport/usb-hub-transport.ts';
import { MemoryFlash } from '../flash.ts';
import { HubFirmware, type FirmwareOptions } from './firmware.ts';
import { startTcpHub, type TcpHubServer } from './tcp-server.ts';
import { UsbHubDevice } from './usb-device.ts';

export const KEY = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
export const OTHER_KEY = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);

/** A wall clock that starts at `t0` and runs in real time. */
export function wallClock(t0: number): () => number {
  const start = Date.now();
  return () => t0 + (Date.now() - start);
}

export const FAST_OSDP = { replyTimeoutMs: 60, maxRetries: 8, reconnectMinMs: 30, reconnectMaxMs: 200 } as const;

export function makeFirmware(o: Partial<FirmwareOptions> & { t0: number }): HubFirmware {
  return new HubFirmware({ flash: new MemoryFlash(), now: wallClock(o.t0), factoryKey: KEY, ...o });
}

export interface Bench {
  firmware: HubFirmware;
  connect(key?: Uint8Array): Promise<IqHubClient>;
}

export function usbBench(firmware: HubFirmware, seed = 1): Bench & { usb: UsbHubDevice; bus: FakeUsbBus } {
  const usb = new UsbHubDevice(firmware, { seed });
  const bus = new FakeUsbBus([usb.device]);
  return {
    firmware,
    usb,
    bus,
    async connect(key = KEY) {
      // FakeUsbBus announces plug events on a later tick and carries the live device object, so a
      // 'disconnect' from before a replug would match a transport opened right after it.
      await new Promise((resolve) => setImmediate(resolve));
      const [device] = await bus.getDevices();
      const stream = await openUsbHub(device!, { events: bus, readTimeoutMs: 250 });
      return IqHubClient.connect({ link: stream, address: 'usb:sim', secureChannel: { scbk: key }, osdp: FAST_OSDP, pollIntervalMs: 200 });
    },
  };
}

export async function tcpBench(firmware: HubFirmware, seed = 1): Promise<Bench & { server: TcpHubServer }> {
  const server = await startTcpHub(firmware, { seed });
  return {
    firmware,
    server,
    async connect(key = KEY) {
      const stream = await connectTcpHub({ host: server.host, port: server.port });
      return IqHubClient.connect({ link: stream, address: `tcp:${server.host}:${server.port}`, secureChannel: { scbk: key }, osdp: FAST_OSDP, pollIntervalMs: 200 });
    },
  };
}

/** What the core keeps of ingested events: one row per event_id, and how many came again. */
export class EventStore {
  readonly rows = new Map<string, IqEventBatch['entries'][number] | IqEventBatch['incidents'][number]>();
  duplicates = 0;

  ingest(batch: IqEventBatch): void {
    for (const e of [...batch.entries, ...batch.incidents]) {
      if (this.rows.has(e.event_id)) this.duplicates++;
      else this.rows.set(e.event_id, e);
    }
  }
}

/** The core's loop: fetch after the hub's acked id, store, then acknowledge; until the hub has nothing more. */
export async function drain(client: IqHubClient, store: EventStore, batch = 16): Promise<number> {
  let rounds = 0;
  for (;;) {
    const b = await client.fetchEvents(batch);
    if (b.last_id === null) return rounds;
    store.ingest(b);
    await client.ackEvents(b.last_id);
    rounds++;
  }
}
