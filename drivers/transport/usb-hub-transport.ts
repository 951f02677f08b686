// An IQ hub's USB link as a byte stream: one vendor-specific interface (class 0xFF) with a bulk IN
// and a bulk OUT endpoint, carrying the hub protocol's bytes with no meaning in transfer boundaries
// (docs/transports.md). Works on any UsbDevice (webusb-types.ts): usb@3 in the app, fake-webusb.ts
// and the hub simulator in tests.
import { copyBytes, StreamSignals, TransportClosedError, type ByteStream, type CloseReason } from './byte-stream.ts';
import { classifyUsbError, IQ_HUB_USB_IDS, noPermissionMessage, noUsbMessage } from './usb-diagnostics.ts';
import { errorText } from './usb-module.ts';
import { UsbOpenError } from './usb-open-error.ts';
import {
  formatUsbIds,
  sameUsbDevice,
  type UsbConnectionListener,
  type UsbDevice,
  type UsbDirection,
  type UsbEndpoint,
  type UsbIds,
  type UsbInTransferResult,
  type UsbInterface,
  type UsbModule,
  type UsbOutTransferResult,
} from './webusb-types.ts';

export const VENDOR_SPECIFIC_CLASS = 0xff;

export interface UsbHubTransportOptions {
  /** Default 1: the hub has one configuration. */
  readonly configurationValue?: number;
  /** Default 0xFF (vendor-specific). */
  readonly interfaceClass?: number;
  /**
   * Packets per IN transfer, default 1. One packet per transfer means a transfer completes with every
   * packet, so the hub needs no zero-length packets, and a usb@3 timeout can never cancel a transfer
   * that already holds bytes (usb@3 drops those).
   */
  readonly readPackets?: number;
  /** How long one IN transfer waits where the stack has timeouts (usb@3); expiry just starts the next one. Default 1000 ms. */
  readonly readTimeoutMs?: number;
  /** A hub that accepts no bytes for this long is wedged: the write fails and the stream closes. Default 5000 ms. */
  readonly writeTimeoutMs?: number;
  /** Largest OUT transfer; longer writes are split. Rounded down to whole packets. Default 4096. */
  readonly maxTransferBytes?: number;
  /**
   * How long to keep retrying an open refused for lack of permission, default 1000 ms: right after a
   * hotplug the device node can exist before udev has applied the rule that grants access.
   */
  readonly permissionGraceMs?: number;
  /** Where to hear 'disconnect' for this device (usb@3's `usb`); transfer errors detect an unplug as well. */
  readonly events?: Pick<UsbModule, 'addEventListener' | 'removeEventListener'>;
}

export interface UsbHubEndpoints {
  readonly interfaceNumber: number;
  readonly in: UsbEndpoint;
  readonly out: UsbEndpoint;
}

/** Opens the first hub with these ids (default 1209:000C). */
export async function openFirstUsbHub(
  usb: Pick<UsbModule, 'getDevices'> & Partial<UsbModule>,
  options: UsbHubTransportOptions & { ids?: UsbIds } = {},
): Promise<UsbHubTransport> {
  const ids = options.ids ?? IQ_HUB_USB_IDS;
  let devices: UsbDevice[];
  try {
    devices = await usb.getDevices();
  } catch (err) {
    if (classifyUsbError(err) === 'no_permission') {
      throw new UsbOpenError('no_permission', noPermissionMessage(err, ids, undefined, 'USB devices cannot be listed'), { cause: err });
    }
    throw new UsbOpenError('no_usb_subsystem', noUsbMessage(err, ids), { cause: err });
  }
  const device = devices.find((d) => d.vendorId === ids.vendorId && d.productId === ids.productId);
  if (!device) throw new UsbOpenError('not_found', `No IQ hub (USB ${formatUsbIds(ids)}) is plugged in.`);
  const events = options.events ?? (usb.addEventListener && usb.removeEventListener ? (usb as UsbModule) : undefined);
  return openUsbHub(device, { ...options, ...(events ? { events } : {}) });
}

/**
 * Opens the device, selects the configuration, detaches a kernel driver from the hub interface if one
 * is bound, claims it and starts reading. Failures are UsbOpenError with a message for the admin.
 */
export async function openUsbHub(device: UsbDevice, options: UsbHubTransportOptions = {}): Promise<UsbHubTransport> {
  const ids = { vendorId: device.vendorId, productId: device.productId };
  const label = describeDevice(device);
  const configurationValue = options.configurationValue ?? 1;
  const interfaceClass = options.interfaceClass ?? VENDOR_SPECIFIC_CLASS;
  const fail = (step: string, err: unknown): UsbOpenError => {
    const kind = classifyUsbError(err);
    if (kind === 'no_permission') {
      return new UsbOpenError('no_permission', noPermissionMessage(err, ids, undefined, `The IQ hub ${label} could not be opened (${step})`), { cause: err });
    }
    if (kind === 'disconnected') return new UsbOpenError('disconnected', `The IQ hub ${label} was unplugged while it was being opened.`, { cause: err });
    if (kind === 'busy') {
      return new UsbOpenError(
        'busy',
        `The IQ hub ${label} is in use by another program or a kernel driver (${step}: ${errorText(err)}). Close other programs that use the hub and try again.`,
        { cause: err },
      );
    }
    return new UsbOpenError('failed', `The IQ hub ${label} could not be opened (${step}: ${errorText(err)}).`, { cause: err });
  };

  const openedHere = !device.opened;
  let detached: number | undefined;
  let claimed: number | undefined;
  const undo = async (): Promise<void> => {
    if (claimed !== undefined) await quietly(device.releaseInterface(claimed));
    if (detached !== undefined && device.attachKernelDriver) await quietly(device.attachKernelDriver(detached));
    if (openedHere) await quietly(device.close());
  };

  try {
    if (openedHere) await step('open', () => openWithGrace(device, options.permissionGraceMs ?? 1000));
    let config = await step('read configuration', () => readConfiguration(device));
    // Setting the configuration that is already active makes Linux reset the device's endpoints and
    // fails while any interface has a driver; only set it when it differs.
    if (config?.configurationValue !== configurationValue) {
      await step('select configuration', () => device.selectConfiguration(configurationValue));
      config = await step('read configuration', () => readConfiguration(device));
    }
    const interfaces = config?.interfaces ?? [];
    const endpoints = findHubEndpoints(interfaces, interfaceClass);
    if (!endpoints) {
      const found = interfaces.map((i) => `interface ${i.interfaceNumber} class 0x${i.alternate.interfaceClass.toString(16)}`).join(', ');
      throw new UsbOpenError(
        'no_interface',
        `The USB device ${label} has no interface of class 0x${interfaceClass.toString(16)} with a bulk IN and a bulk OUT endpoint (found: ${found || 'none'}). Is it an IQ hub with current firmware?`,
      );
    }
    const n = endpoints.interfaceNumber;
    let detachError: unknown;
    const detach = device.detachKernelDriver?.bind(device);
    if (detach) {
      // usb@3 cannot ask whether a driver is bound: detaching is the question, "no kernel driver" the answer.
      try {
        await detach(n);
        detached = n;
      } catch (err) {
        const kind = classifyUsbError(err);
        if (kind === 'disconnected' || kind === 'no_permission') throw new OpenStepError('detach kernel driver', err);
        if (!/no kernel driver|not attached|LIBUSB_ERROR_NOT_FOUND|ENODATA/i.test(errorText(err))) detachError = err;
      }
    }
    await step('claim interface', async () => {
      try {
        await device.claimInterface(n);
      } catch (err) {
        // A claim that fails after a failed detach is explained by the detach; say both.
        if (detachError === undefined || classifyUsbError(err) === 'disconnected') throw err;
        throw new Error(`${errorText(err)}; detaching the kernel driver failed before: ${errorText(detachError)}`, { cause: err });
      }
    });
    claimed = n;
    return new UsbHubTransport(device, endpoints, { ...options, detachedKernelDriver: detached !== undefined, label });
  } catch (err) {
    await undo();
    if (err instanceof UsbOpenError) throw err;
    if (err instanceof OpenStepError) throw fail(err.step, err.cause);
    throw fail('open', err);
  }
}

class OpenStepError extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${errorText(cause)}`);
  }
}

export class UsbHubTransport implements ByteStream {
  readonly device: UsbDevice;
  readonly endpoints: UsbHubEndpoints;
  readonly #signals = new StreamSignals();
  readonly #label: string;
  readonly #readLength: number;
  readonly #readTimeoutMs: number;
  readonly #writeTimeoutMs: number;
  readonly #maxTransfer: number;
  readonly #detachedKernelDriver: boolean;
  readonly #events: UsbHubTransportOptions['events'];
  readonly #onDisconnect: UsbConnectionListener;
  #writeChain: Promise<void> = Promise.resolve();
  // In-flight writes to fail at once when the stream ends: usb@3's close() does not cancel a transfer.
  readonly #onEnding = new Set<() => void>();
  // Set as soon as the stream starts to end (close() called or the link failed): from then on writes
  // are refused and loop errors are expected. onClose fires once the interface is released.
  #ending: CloseReason | undefined;
  #ended: Promise<void> | undefined;

  /** Use openUsbHub. */
  constructor(
    device: UsbDevice,
    endpoints: UsbHubEndpoints,
    options: UsbHubTransportOptions & { detachedKernelDriver: boolean; label: string },
  ) {
    this.device = device;
    this.endpoints = endpoints;
    this.#label = options.label;
    this.#readLength = endpoints.in.packetSize * Math.max(1, Math.floor(options.readPackets ?? 1));
    this.#readTimeoutMs = options.readTimeoutMs ?? 1000;
    this.#writeTimeoutMs = options.writeTimeoutMs ?? 5000;
    const packet = endpoints.out.packetSize;
    this.#maxTransfer = Math.max(packet, Math.floor((options.maxTransferBytes ?? 4096) / packet) * packet);
    this.#detachedKernelDriver = options.detachedKernelDriver;
    this.#events = options.events;
    this.#onDisconnect = (ev) => {
      if (sameUsbDevice(ev.device, this.device)) this.#fail('unplugged', 'the hub was unplugged', undefined);
    };
    this.#events?.addEventListener('disconnect', this.#onDisconnect);
    void this.#readLoop();
  }

  describe(): string {
    return this.#label;
  }

  get closed(): boolean {
    return this.#ending !== undefined;
  }

  onData(cb: (chunk: Uint8Array) => void): () => void {
    return this.#signals.onData(cb);
  }

  onClose(cb: (reason: CloseReason) => void): () => void {
    return this.#signals.onClose(cb);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#ending) return Promise.reject(this.#closedError());
    // Copied now: the caller may reuse its buffer as soon as write() returns, and writes queue.
    const copy = bytes.slice();
    const done = this.#writeChain.then(() => this.#writeAll(copy));
    this.#writeChain = done.catch(() => {});
    return done;
  }

  close(): Promise<void> {
    this.#end({ kind: 'local', message: 'closed by Gatehouse' });
    return this.#ended!;
  }

  async #writeAll(bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    for (let off = 0; off < bytes.length; off += this.#maxTransfer) {
      if (this.#ending) throw this.#closedError();
      await this.#transferOut(bytes.subarray(off, off + this.#maxTransfer));
    }
  }

  async #transferOut(chunk: Uint8Array<ArrayBuffer>): Promise<void> {
    const ep = this.endpoints.out.endpointNumber;
    let written = 0;
    let stalls = 0;
    while (written < chunk.length) {
      let result: UsbOutTransferResult;
      try {
        result = await this.#withTimeout(this.device.transferOut(ep, chunk.subarray(written), this.#writeTimeoutMs), 'write');
      } catch (err) {
        if (this.#ending) throw this.#closedError();
        if (classifyUsbError(err) !== 'stall') {
          this.#failWith(err, 'writing');
          throw this.#closedError();
        }
        result = { status: 'stall', bytesWritten: 0 };
      }
      if (this.#ending) throw this.#closedError();
      written += result.bytesWritten;
      if (result.status === 'stall') {
        // One stall is the hub refusing a packet it could not take (it clears after CLEAR_FEATURE); a
        // second in a row means it is wedged, and the protocol layer's reconnect is the cure.
        if (++stalls > 1) {
          this.#fail('error', 'the hub stalled its OUT endpoint again after it was cleared', undefined);
          throw this.#closedError();
        }
        await this.#clearHalt('out');
        continue;
      }
      if (result.status !== 'ok' || result.bytesWritten <= 0) {
        this.#fail('error', `a write to the hub ended with status ${result.status} after ${result.bytesWritten} bytes`, undefined);
        throw this.#closedError();
      }
      stalls = 0;
    }
  }

  async #readLoop(): Promise<void> {
    const ep = this.endpoints.in.endpointNumber;
    let stalledLast = false;
    try {
      while (!this.#ending) {
        let result: UsbInTransferResult;
        try {
          result = await this.device.transferIn(ep, this.#readLength, this.#readTimeoutMs);
        } catch (err) {
          if (this.#ending) return;
          const kind = classifyUsbError(err);
          if (kind === 'timeout') {
            stalledLast = false;
            continue;
          }
          if (kind !== 'stall') {
            this.#failWith(err, 'reading');
            return;
          }
          result = { status: 'stall' };
        }
        if (this.#ending) return;
        if (result.status === 'stall') {
          if (stalledLast) {
            this.#fail('error', 'the hub stalled its IN endpoint again after it was cleared', undefined);
            return;
          }
          stalledLast = true;
          if (!(await this.#clearHalt('in'))) return;
          continue;
        }
        stalledLast = false;
        if (result.status !== 'ok') {
          // Babble: the hub sent more than a whole number of packets allow; bytes are lost, so the stream is unusable.
          this.#fail('error', `the hub sent a malformed transfer (status ${result.status})`, undefined);
          return;
        }
        if (result.data && result.data.byteLength > 0) this.#signals.emitData(copyBytes(result.data));
      }
    } catch (err) {
      // Nothing above should throw, but a read loop that dies silently would leave a dead link looking alive.
      if (!this.#ending) this.#failWith(err, 'reading');
    }
  }

  async #clearHalt(direction: UsbDirection): Promise<boolean> {
    const ep = direction === 'in' ? this.endpoints.in : this.endpoints.out;
    try {
      await this.device.clearHalt(direction, ep.endpointNumber);
      return true;
    } catch (err) {
      if (!this.#ending) this.#failWith(err, `clearing a stall on endpoint ${direction} ${ep.endpointNumber}`);
      if (direction === 'out') throw this.#closedError();
      return false;
    }
  }

  #withTimeout<T>(transfer: Promise<T>, what: string): Promise<T> {
    // WebUSB transfers have no timeout of their own; usb@3's do (we pass the same value), and this
    // guard then only fires if the stack misbehaves.
    return new Promise<T>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#onEnding.delete(onEnding);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the hub accepted no data for ${this.#writeTimeoutMs} ms (${what}): timed out`));
      }, this.#writeTimeoutMs + 250);
      const onEnding = (): void => {
        done();
        reject(this.#closedError());
      };
      this.#onEnding.add(onEnding);
      transfer.then(
        (v) => {
          done();
          resolve(v);
        },
        (err: unknown) => {
          done();
          reject(err);
        },
      );
    });
  }

  #failWith(err: unknown, during: string): void {
    const kind = classifyUsbError(err);
    if (kind === 'disconnected') this.#fail('unplugged', `the hub was unplugged (while ${during})`, err);
    else if (kind === 'timeout') this.#fail('error', `the hub stopped taking data (while ${during}): ${errorText(err)}`, err);
    else this.#fail('error', `USB error while ${during}: ${errorText(err)}`, err);
  }

  #fail(kind: CloseReason['kind'], message: string, cause: unknown): void {
    this.#end(cause === undefined ? { kind, message } : { kind, message, cause });
  }

  #end(reason: CloseReason): void {
    if (this.#ending) return;
    this.#ending = reason;
    for (const abort of [...this.#onEnding]) abort();
    this.#ended = this.#release().then(() => {
      this.#signals.close(reason);
    });
  }

  async #release(): Promise<void> {
    this.#events?.removeEventListener('disconnect', this.#onDisconnect);
    const gone = this.#ending?.kind === 'unplugged';
    const n = this.endpoints.interfaceNumber;
    if (!gone) {
      await quietly(this.device.releaseInterface(n));
      // Give back what we took: a driver we detached serves the device when Gatehouse is done with it.
      if (this.#detachedKernelDriver && this.device.attachKernelDriver) await quietly(this.device.attachKernelDriver(n));
    }
    await quietly(this.device.close());
  }

  #closedError(): TransportClosedError {
    return new TransportClosedError(this.#label, this.#ending ?? { kind: 'error', message: 'closed' });
  }
}

export function findHubEndpoints(interfaces: readonly UsbInterface[], interfaceClass = VENDOR_SPECIFIC_CLASS): UsbHubEndpoints | undefined {
  for (const iface of interfaces) {
    if (iface.alternate.interfaceClass !== interfaceClass) continue;
    const bulkIn = iface.alternate.endpoints.find((e) => e.type === 'bulk' && e.direction === 'in');
    const bulkOut = iface.alternate.endpoints.find((e) => e.type === 'bulk' && e.direction === 'out');
    if (bulkIn && bulkOut) return { interfaceNumber: iface.interfaceNumber, in: bulkIn, out: bulkOut };
  }
  return undefined;
}

/** `usb 1209:000c serial HUB-0042 "IQ hub" (bus 1 address 5)`; never throws (usb@3's string getters can). */
export function describeDevice(device: UsbDevice): string {
  const parts = [`usb ${formatUsbIds(device)}`];
  const serial = safely(() => device.serialNumber);
  if (serial) parts.push(`serial ${serial}`);
  const product = safely(() => device.productName);
  if (product) parts.push(`"${product}"`);
  if (device.bus !== undefined && device.address !== undefined) parts.push(`(bus ${device.bus} address ${device.address})`);
  return parts.join(' ');
}

async function openWithGrace(device: UsbDevice, graceMs: number): Promise<void> {
  const until = Date.now() + graceMs;
  for (;;) {
    try {
      await device.open();
      return;
    } catch (err) {
      if (classifyUsbError(err) !== 'no_permission' || Date.now() >= until) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function readConfiguration(device: UsbDevice): Promise<UsbDevice['configuration']> {
  return device.configuration;
}

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new OpenStepError(name, err);
  }
}

async function quietly(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    // Cleaning up after a device that is gone or already closed: the error says nothing new.
  }
}

function safely<T>(get: () => T): T | undefined {
  try {
    return get();
  } catch {
    return undefined;
  }
}
