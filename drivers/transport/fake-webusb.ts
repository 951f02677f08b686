// A USB device at the transfer level, for tests and simulators on machines without USB (the
// development and CI machines have no USB in their kernel). It is not a mock of a transport: it
// implements the WebUSB device interface (webusb-types.ts) with a device's rules — configuration,
// interface claims, kernel drivers, bulk packets of wMaxPacketSize, short packets ending a transfer,
// halted endpoints until CLEAR_FEATURE, transfers failing on unplug — so the real transport code runs
// against it unchanged.
//
// Host side: the WebUSB methods. Device side (what firmware would do): onHostWrite, sendToHost,
// stall, holdHostWrites, unplug, replug. FakeUsbBus stands in for usb@3's `usb` object.
//
// Two error dialects, because the transports must survive both: 'webusb' (the spec: stall is a
// status, unplug rejects with NotFoundError, no transfer timeouts) and 'node-usb-3' (usb@3 on nusb:
// stall and unplug reject with "transferIn error: Stall|Disconnected", transfers time out after
// `timeout` ms, default 1000, with "Cancelled", and bytes of a partly filled IN transfer are lost).
import {
  hex4,
  type UsbConfiguration,
  type UsbConnectionEvent,
  type UsbConnectionListener,
  type UsbDevice,
  type UsbDirection,
  type UsbEndpoint,
  type UsbInTransferResult,
  type UsbInterface,
  type UsbModule,
  type UsbOutTransferResult,
} from './webusb-types.ts';

export type FakeErrorStyle = 'webusb' | 'node-usb-3';

export interface FakeInterfaceSpec {
  readonly interfaceNumber: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass?: number;
  readonly interfaceProtocol?: number;
  readonly endpoints: readonly UsbEndpoint[];
  /** A kernel driver binds to this interface whenever the device is configured (e.g. cdc_acm, pn533_usb). */
  readonly kernelDriver?: boolean;
}

export interface FakeUsbDeviceOptions {
  readonly vendorId?: number;
  readonly productId?: number;
  readonly serialNumber?: string | null;
  readonly productName?: string | null;
  /** wMaxPacketSize of the default interface's bulk endpoints: 64 (full speed) or 512 (high speed). */
  readonly packetSize?: number;
  /** Default: the IQ hub's link, interface 0, class 0xFF, bulk IN 1 and bulk OUT 2. */
  readonly interfaces?: readonly FakeInterfaceSpec[];
  readonly configurationValue?: number;
  /** Linux configures a device when it is plugged in; false leaves it unconfigured (configuration null). */
  readonly configuredAtPlug?: boolean;
  readonly errorStyle?: FakeErrorStyle;
  /** usb@3 on Linux has detach/attachKernelDriver; WebUSB and other platforms do not. */
  readonly kernelDriverApi?: boolean;
  readonly bus?: string;
  readonly address?: number;
}

export interface SendOptions {
  /**
   * When the bytes fill whole packets, well-behaved firmware ends the transfer with a zero-length
   * packet so a host reading more than one packet is not left waiting. Default true.
   */
  readonly zlp?: boolean;
}

type HostOp =
  | 'open'
  | 'close'
  | 'selectConfiguration'
  | 'claimInterface'
  | 'releaseInterface'
  | 'transferIn'
  | 'transferOut'
  | 'clearHalt'
  | 'reset'
  | 'detachKernelDriver'
  | 'attachKernelDriver';

interface PendingIn {
  readonly endpointNumber: number;
  readonly length: number;
  readonly parts: Uint8Array[];
  filled: number;
  readonly resolve: (r: UsbInTransferResult) => void;
  readonly reject: (e: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface PendingOut {
  readonly endpointNumber: number;
  readonly data: Uint8Array;
  readonly resolve: (r: UsbOutTransferResult) => void;
  readonly reject: (e: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** usb@3's default transfer timeout (DEFAULT_TIMEOUT in its tsc/index.ts). */
const NODE_USB_3_DEFAULT_TIMEOUT_MS = 1000;

let nextAddress = 2;

export function hubInterface(packetSize = 64, interfaceNumber = 0, endpointIn = 1, endpointOut = 2): FakeInterfaceSpec {
  return {
    interfaceNumber,
    interfaceClass: 0xff,
    endpoints: [
      { endpointNumber: endpointIn, direction: 'in', type: 'bulk', packetSize },
      { endpointNumber: endpointOut, direction: 'out', type: 'bulk', packetSize },
    ],
  };
}

export class FakeUsbDevice implements UsbDevice {
  readonly vendorId: number;
  readonly productId: number;
  readonly serialNumber: string | null;
  readonly productName: string | null;
  readonly errorStyle: FakeErrorStyle;
  readonly bus: string;
  detachKernelDriver?: (interfaceNumber: number) => Promise<void>;
  attachKernelDriver?: (interfaceNumber: number) => Promise<void>;

  /** Host-side calls other than transfers, in order, e.g. `claimInterface(0)`: for asserting an open sequence. */
  readonly log: string[] = [];
  /** Length of every OUT transfer the host submitted and the device accepted. */
  readonly outTransferSizes: number[] = [];
  /** Length the host asked for in every IN transfer it submitted. */
  readonly inTransferRequests: number[] = [];

  readonly #interfaces: readonly FakeInterfaceSpec[];
  readonly #configurationValue: number;
  readonly #configuredAtPlug: boolean;
  #address: number;
  #plugged = true;
  #generation = 1;
  #openedGeneration: number | undefined;
  #activeConfig: number | null = null;
  #claimed = new Set<number>();
  #kernelBound = new Set<number>();
  #halted = new Set<string>();
  #inPackets = new Map<number, Uint8Array[]>();
  #pendingIn: PendingIn[] = [];
  #pendingOut: PendingOut[] = [];
  #holdOut = false;
  #hostWriteListeners = new Set<(bytes: Uint8Array, endpointNumber: number) => void>();
  #failures = new Map<HostOp, unknown[]>();
  #fakeBus: FakeUsbBus | undefined;

  constructor(options: FakeUsbDeviceOptions = {}) {
    this.vendorId = options.vendorId ?? 0x1209;
    this.productId = options.productId ?? 0x000c;
    this.serialNumber = options.serialNumber === undefined ? 'FAKE-0001' : options.serialNumber;
    this.productName = options.productName === undefined ? 'Fake IQ hub' : options.productName;
    this.errorStyle = options.errorStyle ?? 'webusb';
    this.bus = options.bus ?? '1';
    this.#address = options.address ?? nextAddress++;
    this.#interfaces = options.interfaces ?? [hubInterface(options.packetSize ?? 64)];
    this.#configurationValue = options.configurationValue ?? 1;
    this.#configuredAtPlug = options.configuredAtPlug ?? true;
    if (options.kernelDriverApi ?? true) {
      this.detachKernelDriver = (n) => this.#detach(n);
      this.attachKernelDriver = (n) => this.#attach(n);
    }
    this.#resetForPlug();
  }

  // ---- identity -------------------------------------------------------------------------------

  get address(): number {
    return this.#address;
  }

  /** Like usb@3's handle: the same for one plug-in, different after a replug. */
  get handle(): string {
    return `fake:${this.bus}-${this.#address}`;
  }

  get plugged(): boolean {
    return this.#plugged;
  }

  get opened(): boolean {
    return this.#plugged && this.#openedGeneration === this.#generation;
  }

  get configuration(): UsbConfiguration | null {
    if (this.#activeConfig === null) return null;
    return {
      configurationValue: this.#activeConfig,
      interfaces: this.#interfaces.map(
        (spec): UsbInterface => ({
          interfaceNumber: spec.interfaceNumber,
          claimed: this.#claimed.has(spec.interfaceNumber),
          alternate: {
            alternateSetting: 0,
            interfaceClass: spec.interfaceClass,
            interfaceSubclass: spec.interfaceSubclass ?? 0,
            interfaceProtocol: spec.interfaceProtocol ?? 0,
            endpoints: spec.endpoints,
          },
        }),
      ),
    };
  }

  toString(): string {
    return `FakeUsbDevice ${hex4(this.vendorId)}:${hex4(this.productId)} ${this.handle}`;
  }

  // ---- host side (WebUSB) ---------------------------------------------------------------------

  async open(): Promise<void> {
    this.#enter('open', { needOpen: false });
    this.log.push('open');
    this.#openedGeneration = this.#generation;
  }

  async close(): Promise<void> {
    if (!this.#plugged) {
      // usb@3 only drops its handle; a WebUSB device that is gone refuses.
      if (this.errorStyle === 'webusb') throw this.#disconnectedError('close');
      return;
    }
    this.#takeFailure('close');
    this.log.push('close');
    if (!this.opened) return;
    this.#openedGeneration = undefined;
    this.#claimed.clear();
    this.#abortPending((dir) => this.#abortError(dir));
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    this.#enter('selectConfiguration');
    if (configurationValue !== this.#configurationValue) {
      throw this.#error('selectConfiguration', 'invalid configuration', 'NotFoundError');
    }
    if (this.#claimed.size > 0) throw this.#error('selectConfiguration', 'interface is busy', 'InvalidStateError');
    this.log.push(`selectConfiguration(${configurationValue})`);
    if (this.#activeConfig !== configurationValue) {
      this.#activeConfig = configurationValue;
      this.#bindKernelDrivers();
    }
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    this.#enter('claimInterface');
    this.#interfaceSpec('claimInterface', interfaceNumber);
    if (this.#kernelBound.has(interfaceNumber)) {
      throw this.#error('claimInterface', 'Device or resource busy (os error 16)', 'NetworkError');
    }
    this.log.push(`claimInterface(${interfaceNumber})`);
    this.#claimed.add(interfaceNumber);
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.#enter('releaseInterface');
    if (!this.#claimed.has(interfaceNumber)) throw this.#error('releaseInterface', 'not claimed', 'InvalidStateError');
    this.log.push(`releaseInterface(${interfaceNumber})`);
    this.#claimed.delete(interfaceNumber);
    this.#abortPending((dir) => this.#abortError(dir), interfaceNumber);
  }

  transferIn(endpointNumber: number, length: number, timeout?: number): Promise<UsbInTransferResult> {
    return new Promise<UsbInTransferResult>((resolve, reject) => {
      this.#enter('transferIn');
      this.#endpoint('transferIn', 'in', endpointNumber);
      this.inTransferRequests.push(length);
      if (this.#halted.has(`in:${endpointNumber}`)) {
        if (this.errorStyle === 'webusb') resolve({ status: 'stall' });
        else reject(new Error('transferIn error: Stall'));
        return;
      }
      const pending: PendingIn = { endpointNumber, length, parts: [], filled: 0, resolve, reject, timer: undefined };
      this.#pendingIn.push(pending);
      this.#armTimeout(pending, timeout, 'transferIn', () => this.#pendingIn);
      this.#pumpIn();
    });
  }

  transferOut(endpointNumber: number, data: Uint8Array<ArrayBuffer>, timeout?: number): Promise<UsbOutTransferResult> {
    return new Promise<UsbOutTransferResult>((resolve, reject) => {
      this.#enter('transferOut');
      this.#endpoint('transferOut', 'out', endpointNumber);
      if (this.#halted.has(`out:${endpointNumber}`)) {
        if (this.errorStyle === 'webusb') resolve({ status: 'stall', bytesWritten: 0 });
        else reject(new Error('transferOut error: Stall'));
        return;
      }
      // WebUSB copies the buffer when the transfer is submitted; the caller may reuse it at once.
      const pending: PendingOut = { endpointNumber, data: data.slice(), resolve, reject, timer: undefined };
      this.#pendingOut.push(pending);
      this.#armTimeout(pending, timeout, 'transferOut', () => this.#pendingOut);
      this.#pumpOut();
    });
  }

  async clearHalt(direction: UsbDirection, endpointNumber: number): Promise<void> {
    this.#enter('clearHalt');
    this.#endpoint('clearHalt', direction, endpointNumber);
    this.log.push(`clearHalt(${direction},${endpointNumber})`);
    this.#halted.delete(`${direction}:${endpointNumber}`);
  }

  async reset(): Promise<void> {
    this.#enter('reset');
    this.log.push('reset');
    this.#halted.clear();
    this.#abortPending((dir) => this.#abortError(dir));
  }

  // ---- device side (firmware) -----------------------------------------------------------------

  /** Every OUT packet the host sends (at most wMaxPacketSize bytes each), in order. */
  onHostWrite(cb: (bytes: Uint8Array, endpointNumber: number) => void): () => void {
    this.#hostWriteListeners.add(cb);
    return () => this.#hostWriteListeners.delete(cb);
  }

  /** Queues bytes on the default (first) bulk IN endpoint, cut into packets. Returns false when unplugged (bytes dropped). */
  sendToHost(bytes: Uint8Array, options: SendOptions & { endpointNumber?: number } = {}): boolean {
    if (!this.#plugged) return false;
    const ep = options.endpointNumber ?? this.#defaultEndpoint('in').endpointNumber;
    const size = this.#packetSize('in', ep);
    const queue = this.#inPackets.get(ep) ?? [];
    this.#inPackets.set(ep, queue);
    for (let off = 0; off < bytes.length; off += size) queue.push(bytes.slice(off, off + size));
    if (bytes.length > 0 && bytes.length % size === 0 && (options.zlp ?? true)) queue.push(new Uint8Array(0));
    this.#pumpIn();
    return true;
  }

  /** Halts an endpoint (default: the first of that direction) until the host clears it. A pending IN transfer stalls at once. */
  stall(direction: UsbDirection, endpointNumber = this.#defaultEndpoint(direction).endpointNumber): void {
    this.#halted.add(`${direction}:${endpointNumber}`);
    if (direction === 'in') {
      for (const p of this.#pendingIn.filter((p) => p.endpointNumber === endpointNumber)) {
        this.#settleIn(p, (x) => (this.errorStyle === 'webusb' ? x.resolve({ status: 'stall' }) : x.reject(new Error('transferIn error: Stall'))));
      }
    } else {
      for (const p of this.#pendingOut.filter((p) => p.endpointNumber === endpointNumber)) {
        this.#settleOut(p, (x) =>
          this.errorStyle === 'webusb' ? x.resolve({ status: 'stall', bytesWritten: 0 }) : x.reject(new Error('transferOut error: Stall')),
        );
      }
    }
  }

  isHalted(direction: UsbDirection, endpointNumber = this.#defaultEndpoint(direction).endpointNumber): boolean {
    return this.#halted.has(`${direction}:${endpointNumber}`);
  }

  /** NAKs every OUT transfer until released: the host's transferOut waits (and times out where it has a timeout). */
  holdHostWrites(hold = true): void {
    this.#holdOut = hold;
    this.#pumpOut();
  }

  /** The next call of `op` fails with `error` (once per call of failNext). */
  failNext(op: HostOp, error: unknown): void {
    const list = this.#failures.get(op) ?? [];
    list.push(error);
    this.#failures.set(op, list);
  }

  /** Binds (or unbinds) a kernel driver to an interface, as the OS would. */
  setKernelDriver(interfaceNumber: number, bound: boolean): void {
    if (bound) this.#kernelBound.add(interfaceNumber);
    else this.#kernelBound.delete(interfaceNumber);
  }

  hasKernelDriver(interfaceNumber: number): boolean {
    return this.#kernelBound.has(interfaceNumber);
  }

  get pendingTransfers(): { in: number; out: number } {
    return { in: this.#pendingIn.length, out: this.#pendingOut.length };
  }

  /** Pulled out: every pending and later transfer on this plug-in fails as it does on real hardware; the bus says 'disconnect'. */
  unplug(): void {
    if (!this.#plugged) return;
    this.#plugged = false;
    this.#abortPending((dir) => this.#disconnectedError(dir === 'in' ? 'transferIn' : 'transferOut'));
    this.#claimed.clear();
    this.#inPackets.clear();
    this.#fakeBus?._announce('disconnect', this);
  }

  /** Plugged back in: a new address and handle, unconfigured state reset; handles opened before stay dead. */
  replug(): void {
    if (this.#plugged) this.unplug();
    this.#plugged = true;
    this.#generation += 1;
    this.#address = nextAddress++;
    this.#resetForPlug();
    this.#fakeBus?._announce('connect', this);
  }

  /** @internal FakeUsbBus wiring. */
  _attachToBus(bus: FakeUsbBus | undefined): void {
    this.#fakeBus = bus;
  }

  // ---- internals ------------------------------------------------------------------------------

  #resetForPlug(): void {
    this.#openedGeneration = undefined;
    this.#claimed.clear();
    this.#halted.clear();
    this.#inPackets.clear();
    this.#kernelBound.clear();
    this.#activeConfig = this.#configuredAtPlug ? this.#configurationValue : null;
    if (this.#activeConfig !== null) this.#bindKernelDrivers();
  }

  #bindKernelDrivers(): void {
    for (const spec of this.#interfaces) if (spec.kernelDriver) this.#kernelBound.add(spec.interfaceNumber);
  }

  async #detach(interfaceNumber: number): Promise<void> {
    this.#enter('detachKernelDriver');
    this.#interfaceSpec('detachKernelDriver', interfaceNumber);
    if (!this.#kernelBound.has(interfaceNumber)) throw new Error('detachKernelDriver error: no kernel driver attached');
    this.log.push(`detachKernelDriver(${interfaceNumber})`);
    this.#kernelBound.delete(interfaceNumber);
  }

  async #attach(interfaceNumber: number): Promise<void> {
    this.#enter('attachKernelDriver');
    this.#interfaceSpec('attachKernelDriver', interfaceNumber);
    if (this.#claimed.has(interfaceNumber)) throw new Error('attachKernelDriver error: interface is busy');
    this.log.push(`attachKernelDriver(${interfaceNumber})`);
    this.#kernelBound.add(interfaceNumber);
  }

  /** Checks common to every host call; throws (inside the caller's promise) like the real stack. */
  #enter(op: HostOp, { needOpen = true } = {}): void {
    if (!this.#plugged) throw this.#disconnectedError(op);
    this.#takeFailure(op);
    if (needOpen && !this.opened) throw this.#error(op, 'invalid state (device not opened)', 'InvalidStateError');
  }

  #takeFailure(op: HostOp): void {
    const list = this.#failures.get(op);
    if (list && list.length > 0) throw list.shift();
  }

  #interfaceSpec(op: HostOp, interfaceNumber: number): FakeInterfaceSpec {
    if (this.#activeConfig === null) throw this.#error(op, 'device is not configured', 'InvalidStateError');
    const spec = this.#interfaces.find((i) => i.interfaceNumber === interfaceNumber);
    if (!spec) throw this.#error(op, 'interface not found', 'NotFoundError');
    return spec;
  }

  #endpoint(op: HostOp, direction: UsbDirection, endpointNumber: number): UsbEndpoint {
    for (const spec of this.#interfaces) {
      const ep = spec.endpoints.find((e) => e.endpointNumber === endpointNumber && e.direction === direction);
      if (ep) {
        if (!this.#claimed.has(spec.interfaceNumber)) throw this.#error(op, 'endpoint not found (interface not claimed)', 'InvalidStateError');
        return ep;
      }
    }
    throw this.#error(op, 'endpoint not found', 'NotFoundError');
  }

  #defaultEndpoint(direction: UsbDirection): UsbEndpoint {
    for (const spec of this.#interfaces) {
      const ep = spec.endpoints.find((e) => e.direction === direction && e.type !== 'isochronous');
      if (ep) return ep;
    }
    throw new Error(`fake device has no ${direction} endpoint`);
  }

  #packetSize(direction: UsbDirection, endpointNumber: number): number {
    for (const spec of this.#interfaces) {
      const ep = spec.endpoints.find((e) => e.endpointNumber === endpointNumber && e.direction === direction);
      if (ep) return ep.packetSize;
    }
    throw new Error(`fake device has no ${direction} endpoint ${endpointNumber}`);
  }

  #armTimeout<P extends PendingIn | PendingOut>(pending: P, timeout: number | undefined, op: 'transferIn' | 'transferOut', list: () => P[]): void {
    if (this.errorStyle !== 'node-usb-3') return;
    const ms = timeout ?? NODE_USB_3_DEFAULT_TIMEOUT_MS;
    pending.timer = setTimeout(() => {
      const all = list();
      const i = all.indexOf(pending);
      if (i < 0) return;
      all.splice(i, 1);
      // usb@3 cancels the URB and reports the cancellation; what a partly filled IN transfer held is gone.
      pending.reject(new Error(`${op} error: Cancelled`));
    }, ms);
  }

  #pumpIn(): void {
    for (const p of [...this.#pendingIn]) {
      if (!this.#pendingIn.includes(p)) continue;
      const size = this.#packetSize('in', p.endpointNumber);
      const queue = this.#inPackets.get(p.endpointNumber);
      while (queue && queue.length > 0) {
        const packet = queue.shift()!;
        const room = p.length - p.filled;
        if (packet.length > room) {
          // The device sent more than the host asked for: babble, as a host controller reports it.
          p.parts.push(packet.subarray(0, room));
          p.filled += room;
          this.#settleIn(p, (x) => x.resolve({ status: 'babble', data: viewOf(x.parts) }));
          break;
        }
        p.parts.push(packet);
        p.filled += packet.length;
        if (packet.length < size || p.filled === p.length) {
          this.#settleIn(p, (x) => x.resolve({ status: 'ok', data: viewOf(x.parts) }));
          break;
        }
      }
    }
  }

  #pumpOut(): void {
    if (this.#holdOut) return;
    while (this.#pendingOut.length > 0) {
      const p = this.#pendingOut[0]!;
      const size = this.#packetSize('out', p.endpointNumber);
      this.#settleOut(p, (x) => {
        this.outTransferSizes.push(x.data.length);
        for (let off = 0; off < x.data.length; off += size) {
          const packet = x.data.slice(off, off + size);
          for (const cb of [...this.#hostWriteListeners]) cb(packet, x.endpointNumber);
        }
        x.resolve({ status: 'ok', bytesWritten: x.data.length });
      });
    }
  }

  #settleIn(p: PendingIn, settle: (p: PendingIn) => void): void {
    const i = this.#pendingIn.indexOf(p);
    if (i >= 0) this.#pendingIn.splice(i, 1);
    if (p.timer) clearTimeout(p.timer);
    settle(p);
  }

  #settleOut(p: PendingOut, settle: (p: PendingOut) => void): void {
    const i = this.#pendingOut.indexOf(p);
    if (i >= 0) this.#pendingOut.splice(i, 1);
    if (p.timer) clearTimeout(p.timer);
    settle(p);
  }

  #abortPending(error: (direction: UsbDirection) => unknown, interfaceNumber?: number): void {
    const owned = (ep: number, dir: UsbDirection): boolean =>
      interfaceNumber === undefined ||
      this.#interfaces.some((s) => s.interfaceNumber === interfaceNumber && s.endpoints.some((e) => e.endpointNumber === ep && e.direction === dir));
    for (const p of this.#pendingIn.filter((p) => owned(p.endpointNumber, 'in'))) this.#settleIn(p, (x) => x.reject(error('in')));
    for (const p of this.#pendingOut.filter((p) => owned(p.endpointNumber, 'out'))) this.#settleOut(p, (x) => x.reject(error('out')));
  }

  #disconnectedError(op: HostOp): Error {
    if (this.errorStyle === 'webusb') return new DOMException('The device was disconnected.', 'NotFoundError');
    // usb@3 formats nusb's TransferError with {:?} for transfers and with Display elsewhere.
    return new Error(op === 'transferIn' || op === 'transferOut' ? `${op} error: Disconnected` : `${op} error: device disconnected`);
  }

  #abortError(direction: UsbDirection): Error {
    if (this.errorStyle === 'webusb') return new DOMException('The transfer was cancelled.', 'AbortError');
    return new Error(`${direction === 'in' ? 'transferIn' : 'transferOut'} error: Cancelled`);
  }

  #error(op: HostOp, message: string, domName: string): Error {
    if (this.errorStyle === 'webusb') return new DOMException(`Failed to execute '${op}' on 'USBDevice': ${message}.`, domName);
    return new Error(`${op} error: ${message}`);
  }
}

function viewOf(parts: readonly Uint8Array[]): DataView {
  const total = parts.reduce((n, p) => n + p.length, 0);
  // Deliberately not at offset 0 of its buffer: the host side must honour byteOffset, as it must for
  // stacks that lend slices of a larger buffer.
  const backing = new Uint8Array(total + 7);
  let off = 3;
  for (const p of parts) {
    backing.set(p, off);
    off += p.length;
  }
  return new DataView(backing.buffer, 3, total);
}

/** A fake of usb@3's `usb` object: a bus that devices are plugged into and pulled out of. */
export class FakeUsbBus implements UsbModule {
  #devices: FakeUsbDevice[] = [];
  #listeners = { connect: new Set<UsbConnectionListener>(), disconnect: new Set<UsbConnectionListener>() };
  #enumerationError: unknown;

  /** Devices present before anyone looks (no 'connect' event). */
  constructor(devices: readonly FakeUsbDevice[] = []) {
    for (const d of devices) this.#add(d);
  }

  /** Plugs a device in: it appears in getDevices and a 'connect' event follows. */
  plug(device: FakeUsbDevice): void {
    this.#add(device);
    if (!device.plugged) device.replug();
    else this._announce('connect', device);
  }

  /** Every enumeration fails with `error` until called again with undefined (e.g. no /sys/bus/usb). */
  failEnumeration(error: unknown): void {
    this.#enumerationError = error;
  }

  get listenerCount(): number {
    return this.#listeners.connect.size + this.#listeners.disconnect.size;
  }

  async getDevices(): Promise<FakeUsbDevice[]> {
    if (this.#enumerationError !== undefined) throw this.#enumerationError;
    return this.#devices.filter((d) => d.plugged);
  }

  async findDeviceByIds(vendorId: number, productId: number): Promise<FakeUsbDevice | undefined> {
    return (await this.getDevices()).find((d) => d.vendorId === vendorId && d.productId === productId);
  }

  addEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void {
    this.#listeners[type].add(listener);
  }

  removeEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void {
    this.#listeners[type].delete(listener);
  }

  /** @internal Hotplug events arrive on a later turn of the event loop, as they do from usb@3's watcher thread. */
  _announce(type: 'connect' | 'disconnect', device: FakeUsbDevice): void {
    const event: UsbConnectionEvent = { device };
    setImmediate(() => {
      for (const l of [...this.#listeners[type]]) l(event);
    });
  }

  #add(device: FakeUsbDevice): void {
    if (!this.#devices.includes(device)) this.#devices.push(device);
    device._attachToBus(this);
  }
}
