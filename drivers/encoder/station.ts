// The card encoders on this computer's USB (or on the demo's fake bus) as the core's EncoderSource
// port sees them: each ACR122U is opened as it is found or plugged in and leaves when it is pulled
// out. One that is plugged in but cannot be opened (pcscd holds it, no permission yet) is tried again
// with backoff, and the reason is what problem() answers while no encoder works.
import { ACR122U_IDS, type CcidReaderOptions } from '../ccid/reader.ts';
import { invokeListener } from '../transport/byte-stream.ts';
import { classifyUsbError, ENCODER_ROLE, noPermissionMessage, noUsbMessage } from '../transport/usb-diagnostics.ts';
import { watchHubs, type HubWatch } from '../transport/usb-discovery.ts';
import { errorText } from '../transport/usb-module.ts';
import type { UsbDevice, UsbModule } from '../transport/webusb-types.ts';
import { openCardEncoder, type CardEncoder } from './card-encoder.ts';

const ENCODER_RETRY_MIN_MS = 1000;
const ENCODER_RETRY_MAX_MS = 60_000;

/**
 * The encoder's id while it is plugged in: "usb:<bus>-<address>" (a replug is a new encoder), or for a
 * simulator "sim:<serial number>", which the demo tray uses to name the encoder its cards lie on.
 */
export function encoderIdOf(device: UsbDevice, simulated: boolean): string {
  const port = device.bus !== undefined && device.address !== undefined ? `${device.bus}-${device.address}` : undefined;
  if (simulated) return `sim:${device.serialNumber ?? port ?? 'encoder'}`;
  return `usb:${port ?? device.serialNumber ?? 'encoder'}`;
}

export interface EncoderStationOptions {
  /** Every encoder on this bus is a simulator (the demo's fake bus). */
  readonly simulated?: boolean;
  readonly reader?: CcidReaderOptions;
  readonly stepRetries?: number;
  /** Backoff for an encoder that is plugged in but could not be opened: 1 s doubling to 60 s by default. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  readonly log?: (line: string) => void;
  /** Default process.platform: the advice about udev and pcscd is for Linux. */
  readonly platform?: NodeJS.Platform;
}

export interface EncoderStation {
  list(): readonly CardEncoder[];
  onAttach(listener: (device: CardEncoder) => void): () => void;
  problem(): string | null;
  /** Settles once the encoders plugged in at start have been opened (or have failed to). Never rejects. */
  readonly ready: Promise<void>;
  /** Stops watching and releases every encoder (each reports `detached`). */
  close(): Promise<void>;
}

/** Watches `usb` (usb@3's `usb`, a promise of it as loadUsbModule gives, or a FakeUsbBus) for encoders. */
export function watchEncoders(usb: UsbModule | Promise<UsbModule>, options: EncoderStationOptions = {}): EncoderStation {
  const simulated = options.simulated ?? false;
  const linux = (options.platform ?? process.platform) === 'linux';
  const minDelay = options.retryMinMs ?? ENCODER_RETRY_MIN_MS;
  const maxDelay = options.retryMaxMs ?? ENCODER_RETRY_MAX_MS;
  const log = options.log ?? (() => {});
  const encoders = new Map<UsbDevice, CardEncoder>();
  const listeners = new Set<(device: CardEncoder) => void>();
  const plugged = new Set<UsbDevice>();
  const openFailures = new Map<UsbDevice, string>();
  const delays = new Map<UsbDevice, number>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const opening = new Set<Promise<void>>();
  let usbProblem: string | null = null;
  let watch: HubWatch | null = null;
  let stopped = false;

  const retryLater = (device: UsbDevice): void => {
    if (stopped || !plugged.has(device)) return;
    const delay = delays.get(device) ?? minDelay;
    delays.set(device, Math.min(delay * 2, maxDelay));
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped && plugged.has(device) && !encoders.has(device)) open(device);
    }, delay);
    t.unref?.();
    timers.add(t);
  };

  const attempt = async (device: UsbDevice): Promise<void> => {
    const id = encoderIdOf(device, simulated);
    let encoder: CardEncoder;
    try {
      encoder = await openCardEncoder(device, { id, simulated, ...(options.reader ? { reader: options.reader } : {}), ...(options.stepRetries !== undefined ? { stepRetries: options.stepRetries } : {}) });
    } catch (err) {
      if (stopped || !plugged.has(device)) return;
      const message = errorText(err);
      // A reader that stays busy would otherwise log the same line at every retry.
      if (openFailures.get(device) !== message) log(`[warn] card encoder ${id}: ${message}`);
      openFailures.set(device, message);
      retryLater(device);
      return;
    }
    if (stopped || !plugged.has(device)) return void (await encoder.close());
    openFailures.delete(device);
    delays.delete(device);
    encoders.set(device, encoder);
    encoder.onChange((c) => {
      if (c.type !== 'detached' || encoders.get(device) !== encoder) return;
      encoders.delete(device);
      // Still plugged in: the reader failed on its own (its interrupt pipe died); open it again.
      retryLater(device);
    });
    for (const l of [...listeners]) invokeListener(l, encoder);
  };

  const open = (device: UsbDevice): void => {
    const p = attempt(device).finally(() => opening.delete(p));
    opening.add(p);
  };

  const ready = (async (): Promise<void> => {
    let bus: UsbModule;
    try {
      bus = await usb;
    } catch (err) {
      usbProblem = `Gatehouse's USB support is not installed on this computer, so card encoders cannot be used. Reinstall Gatehouse. (Details: ${errorText(err)})`;
      return;
    }
    if (stopped) return;
    watch = watchHubs(
      bus,
      {
        attach: (device) => {
          plugged.add(device);
          delays.delete(device);
          open(device);
        },
        detach: (device) => {
          plugged.delete(device);
          delays.delete(device);
          openFailures.delete(device);
          void encoders.get(device)?.close();
        },
        error: (err) => {
          usbProblem =
            classifyUsbError(err) === 'no_permission'
              ? noPermissionMessage(err, ACR122U_IDS, linux, 'USB devices cannot be listed, so no card encoder can be found', ENCODER_ROLE)
              : noUsbMessage(err, ACR122U_IDS, linux, ENCODER_ROLE);
          log(`[warn] card encoders: ${usbProblem}`);
        },
      },
      { ids: ACR122U_IDS },
    );
    await watch.ready;
    await Promise.allSettled([...opening]);
  })();

  return {
    list: () => [...encoders.values()],
    onAttach(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    problem() {
      if (encoders.size > 0) return null;
      return usbProblem ?? openFailures.values().next().value ?? null;
    },
    ready,
    async close() {
      stopped = true;
      watch?.stop();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.allSettled([...opening]);
      await Promise.allSettled([...encoders.values()].map((e) => e.close()));
      encoders.clear();
    },
  };
}
