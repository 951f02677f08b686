// The part of WebUSB (https://wicg.github.io/webusb/) that the hub transports use, as our own types.
// The transports depend on these and never on the `usb` package's types, so a simulator can stand
// in for a device (fake-webusb.ts, drivers/hub-sim) and the package can be swapped (usb@2's WebUSB
// layer has the same shape). `usb-module.test.ts` compiles a check that usb@3 still satisfies them.
//
// Where usb@3 (node-usb-rs, on nusb) departs from the WebUSB spec, the departure is noted on the member:
// the transports have to cope with both behaviours.

export type UsbDirection = 'in' | 'out';
export type UsbEndpointType = 'bulk' | 'interrupt' | 'isochronous';
export type UsbTransferStatus = 'ok' | 'stall' | 'babble';

export interface UsbEndpoint {
  /** 1–15, without the direction bit. */
  readonly endpointNumber: number;
  readonly direction: UsbDirection;
  readonly type: UsbEndpointType;
  /** wMaxPacketSize: 64 at full speed, 512 at high speed for bulk. */
  readonly packetSize: number;
}

export interface UsbAlternateInterface {
  readonly alternateSetting: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass: number;
  readonly interfaceProtocol: number;
  readonly endpoints: readonly UsbEndpoint[];
}

export interface UsbInterface {
  readonly interfaceNumber: number;
  /** The alternate setting in use (usb@3: always the first one). */
  readonly alternate: UsbAlternateInterface;
  readonly claimed: boolean;
}

export interface UsbConfiguration {
  readonly configurationValue: number;
  readonly interfaces: readonly UsbInterface[];
}

export interface UsbInTransferResult {
  readonly status: UsbTransferStatus;
  /** May be a view on a larger buffer: honour byteOffset/byteLength. */
  readonly data?: DataView | undefined;
}

export interface UsbOutTransferResult {
  readonly status: UsbTransferStatus;
  readonly bytesWritten: number;
}

export interface UsbDevice {
  readonly vendorId: number;
  readonly productId: number;
  readonly serialNumber?: string | null | undefined;
  readonly productName?: string | null | undefined;
  readonly opened: boolean;
  /**
   * The active configuration; null while the device is unconfigured. usb@3: a getter that opens the
   * device behind the scenes and throws when that fails, so read it inside try.
   */
  readonly configuration: UsbConfiguration | null | undefined;

  // usb@3 extensions that identify one plug-in of one device; used to match disconnect events, which
  // carry a different object than the one getDevices returned.
  readonly handle?: string;
  readonly bus?: string;
  readonly address?: number;

  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(configurationValue: number): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  /**
   * `timeout` (ms) is a usb@3 extension, default 1000 there; on expiry usb@3 rejects with
   * `transferIn error: Cancelled`. The WebUSB spec has no timeout: the transfer waits.
   * usb@3 reports a stall by rejecting (`transferIn error: Stall`), the spec by `status: 'stall'`.
   */
  transferIn(endpointNumber: number, length: number, timeout?: number): Promise<UsbInTransferResult>;
  /** ArrayBuffer-backed: WebUSB's BufferSource excludes SharedArrayBuffer views. */
  transferOut(endpointNumber: number, data: Uint8Array<ArrayBuffer>, timeout?: number): Promise<UsbOutTransferResult>;
  clearHalt(direction: UsbDirection, endpointNumber: number): Promise<void>;
  reset(): Promise<void>;
  /** Linux only in usb@3 (absent from WebUSB). Rejects when no driver is bound ("no kernel driver attached"). */
  detachKernelDriver?(interfaceNumber: number): Promise<void>;
  attachKernelDriver?(interfaceNumber: number): Promise<void>;
}

export interface UsbConnectionEvent {
  readonly device: UsbDevice;
}

export type UsbConnectionListener = (event: UsbConnectionEvent) => void;

/**
 * The `usb` export of usb@3 (a WebUSB object that allows all devices), or a fake bus. usb@3 starts its
 * native hotplug watcher when the first listener is added and stops it when the last is removed.
 */
export interface UsbModule {
  getDevices(): Promise<UsbDevice[]>;
  findDeviceByIds(vendorId: number, productId: number): Promise<UsbDevice | undefined>;
  addEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
  removeEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
}

/** A device's USB identity, e.g. the IQ hub's 1209:000C. */
export interface UsbIds {
  readonly vendorId: number;
  readonly productId: number;
}

export function formatUsbIds(ids: UsbIds): string {
  return `${hex4(ids.vendorId)}:${hex4(ids.productId)}`;
}

export function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/**
 * Whether two objects stand for the same plug-in of a device. usb@3 hands out a new object on every
 * getDevices() and its 'disconnect' event carries yet another, so identity alone is not enough.
 */
export function sameUsbDevice(a: UsbDevice, b: UsbDevice): boolean {
  if (a === b) return true;
  if (a.handle !== undefined && b.handle !== undefined) return a.handle === b.handle;
  if (a.bus !== undefined && a.address !== undefined) return a.bus === b.bus && a.address === b.address;
  return false;
}
