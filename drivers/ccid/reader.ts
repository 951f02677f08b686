// A CCID reader over WebUSB-shaped transfers (drivers/transport/webusb-types.ts): bulk OUT for
// commands, bulk IN for replies, interrupt IN for NotifySlotChange. One command at a time (CCID allows
// one per slot and the ACR122U has bMaxCCIDBusySlots 1). Every reply is checked against the command:
// bSeq (a stale reply from a command that timed out is dropped, at most 10 in a row, as libccid does),
// bSlot, reply type, exact length; time-extension replies make the wait longer; a command that got no
// reply is sent again with a new bSeq (the pseudo-APDUs this driver sends are all idempotent).
import { classifyUsbError, ENCODER_ROLE, noPermissionMessage, noUsbMessage } from '../transport/usb-diagnostics.ts';
import { errorText } from '../transport/usb-module.ts';
import { UsbOpenError } from '../transport/usb-open-error.ts';
import { formatUsbIds, type UsbDevice, type UsbEndpoint, type UsbIds, type UsbModule } from '../transport/webusb-types.ts';
import {
  ACR122U_MAX_MESSAGE_LENGTH,
  CcidError,
  decodeInterrupt,
  decodeReply,
  describeSlotError,
  encodeCommand,
  replyTypeFor,
  type CcidCommand,
  type CcidReply,
} from './messages.ts';

export const SMART_CARD_CLASS = 0x0b;
export const ACR122U_IDS: UsbIds = Object.freeze({ vendorId: 0x072f, productId: 0x2200 });

/** Commands without slot and seq: the reader fills those in. */
export type CcidRequest = CcidCommand extends infer C ? (C extends CcidCommand ? Omit<C, 'slot' | 'seq'> : never) : never;

export interface CcidReaderOptions {
  /** Wait for a reply, default 1000 ms. */
  readonly timeoutMs?: number;
  /** Wait for a GetSlotStatus reply, default 3000 ms: the ACR122U takes up to 1 s without a card. */
  readonly slotStatusTimeoutMs?: number;
  /** Resend a command that got no reply this many times, default 2. */
  readonly retries?: number;
  /** Time extensions accepted for one command, default 20. */
  readonly maxTimeExtensions?: number;
  /** dwMaxCCIDMessageLength, default the ACR122U's 271. */
  readonly maxMessageLength?: number;
  /** How long one interrupt-IN poll waits before it is resubmitted, default 1000 ms. */
  readonly interruptPollMs?: number;
}

export interface CcidEndpoints {
  readonly interfaceNumber: number;
  readonly bulkIn: UsbEndpoint;
  readonly bulkOut: UsbEndpoint;
  readonly interruptIn: UsbEndpoint | undefined;
}

/** What to tell the admin when the reader is claimed by someone else (on Linux usually pcscd). */
export function readerBusyMessage(label: string, detail: string, linux = process.platform === 'linux'): string {
  return (
    `The card encoder ${label} is in use by another program (${detail}). ` +
    (linux
      ? `It is most likely held by pcscd, the PC/SC smart-card daemon. Free it with\n` +
        `  sudo systemctl stop pcscd.socket pcscd.service\n` +
        `(and \`sudo systemctl mask pcscd.socket\` to keep pcscd from taking it again), then unplug and replug the encoder. ` +
        `If pcscd is not installed, the kernel's NFC driver may hold it: \`sudo modprobe -r pn533_usb\`, or blacklist pn533_usb, pn533 and nfc.`
      : `Close other programs that use smart-card readers (PC/SC applications) and try again.`)
  );
}

/** Opens the first reader with these ids (default the ACR122U, 072F:2200). */
export async function openFirstCcidReader(usb: Pick<UsbModule, 'getDevices'>, options: CcidReaderOptions & { ids?: UsbIds } = {}): Promise<CcidReader> {
  const ids = options.ids ?? ACR122U_IDS;
  let devices: UsbDevice[];
  try {
    devices = await usb.getDevices();
  } catch (err) {
    if (classifyUsbError(err) === 'no_permission') {
      throw new UsbOpenError('no_permission', noPermissionMessage(err, ids, undefined, 'USB devices cannot be listed', ENCODER_ROLE), { cause: err });
    }
    throw new UsbOpenError('no_usb_subsystem', noUsbMessage(err, ids, undefined, ENCODER_ROLE), { cause: err });
  }
  const device = devices.find((d) => d.vendorId === ids.vendorId && d.productId === ids.productId);
  if (!device) throw new UsbOpenError('not_found', `No card encoder (USB ${formatUsbIds(ids)}) is plugged in.`);
  return openCcidReader(device, options);
}

/** Opens the device, detaches pn533_usb (Linux), claims the CCID interface and clears halted endpoints. */
export async function openCcidReader(device: UsbDevice, options: CcidReaderOptions = {}): Promise<CcidReader> {
  const label = `(USB ${formatUsbIds(device)})`;
  const ids = { vendorId: device.vendorId, productId: device.productId };
  const fail = (step: string, err: unknown): UsbOpenError => {
    if (err instanceof UsbOpenError) return err;
    const kind = classifyUsbError(err);
    if (kind === 'no_permission') return new UsbOpenError('no_permission', noPermissionMessage(err, ids, undefined, `The card encoder ${label} could not be opened (${step})`, ENCODER_ROLE), { cause: err });
    if (kind === 'disconnected') return new UsbOpenError('disconnected', `The card encoder ${label} was unplugged while it was being opened.`, { cause: err });
    if (kind === 'busy') return new UsbOpenError('busy', readerBusyMessage(label, `${step}: ${errorText(err)}`), { cause: err });
    return new UsbOpenError('failed', `The card encoder ${label} could not be opened (${step}: ${errorText(err)}).`, { cause: err });
  };
  const openedHere = !device.opened;
  let claimed: number | undefined;
  let step = 'open';
  try {
    if (openedHere) await device.open();
    step = 'read configuration';
    let config = device.configuration;
    if (!config) {
      step = 'select configuration';
      await device.selectConfiguration(1);
      config = device.configuration;
    }
    const endpoints = findCcidEndpoints(config?.interfaces ?? []);
    if (!endpoints) throw new UsbOpenError('no_interface', `The USB device ${label} has no smart-card (CCID, class 0x0B) interface with bulk IN and OUT endpoints.`);
    const n = endpoints.interfaceNumber;
    if (device.detachKernelDriver) {
      step = 'detach kernel driver (pn533_usb)';
      try {
        await device.detachKernelDriver(n);
      } catch (err) {
        const kind = classifyUsbError(err);
        if (kind === 'disconnected' || kind === 'no_permission') throw err;
        // "no kernel driver attached" is the usual answer; anything else shows up again at claim.
      }
    }
    step = 'claim interface';
    await device.claimInterface(n);
    claimed = n;
    step = 'clear halt';
    await device.clearHalt('out', endpoints.bulkOut.endpointNumber);
    await device.clearHalt('in', endpoints.bulkIn.endpointNumber);
    return new CcidReader(device, endpoints, options);
  } catch (err) {
    if (claimed !== undefined) await device.releaseInterface(claimed).catch(() => undefined);
    if (openedHere) await device.close().catch(() => undefined);
    throw fail(step, err);
  }
}

export function findCcidEndpoints(interfaces: NonNullable<UsbDevice['configuration']>['interfaces']): CcidEndpoints | undefined {
  for (const i of interfaces) {
    if (i.alternate.interfaceClass !== SMART_CARD_CLASS) continue;
    const eps = i.alternate.endpoints;
    const bulkIn = eps.find((e) => e.type === 'bulk' && e.direction === 'in');
    const bulkOut = eps.find((e) => e.type === 'bulk' && e.direction === 'out');
    const interruptIn = eps.find((e) => e.type === 'interrupt' && e.direction === 'in');
    if (bulkIn && bulkOut) return { interfaceNumber: i.interfaceNumber, bulkIn, bulkOut, interruptIn };
  }
  return undefined;
}

export type SlotEvent = { type: 'card-placed' } | { type: 'card-removed' } | { type: 'hardware-error'; code: number } | { type: 'error'; error: Error };

export class CcidReader {
  readonly device: UsbDevice;
  readonly endpoints: CcidEndpoints;
  readonly #o: Required<CcidReaderOptions>;
  #seq = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;
  #listeners = new Set<(e: SlotEvent) => void>();
  #polling = false;
  #bulkInFlight: Promise<Uint8Array> | null = null;
  /** Stale replies dropped so far (bSeq of an earlier command). */
  staleReplies = 0;

  constructor(device: UsbDevice, endpoints: CcidEndpoints, o: CcidReaderOptions = {}) {
    this.device = device;
    this.endpoints = endpoints;
    this.#o = {
      timeoutMs: o.timeoutMs ?? 1000,
      slotStatusTimeoutMs: o.slotStatusTimeoutMs ?? 3000,
      retries: o.retries ?? 2,
      maxTimeExtensions: o.maxTimeExtensions ?? 20,
      maxMessageLength: o.maxMessageLength ?? ACR122U_MAX_MESSAGE_LENGTH,
      interruptPollMs: o.interruptPollMs ?? 1000,
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a command and returns its checked reply; throws CcidError (command_failed carries bError). */
  transact(request: CcidRequest): Promise<CcidReply> {
    const run = this.#chain.then(() => this.#transact(request));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #transact(request: CcidRequest): Promise<CcidReply> {
    if (this.#closed) throw new CcidError('transfer_failed', 'the card encoder is closed');
    const timeout = request.type === 'GetSlotStatus' ? this.#o.slotStatusTimeoutMs : this.#o.timeoutMs;
    let lastTimeout: unknown;
    for (let attempt = 0; attempt <= this.#o.retries; attempt++) {
      const seq = this.#seq;
      this.#seq = (this.#seq + 1) & 0xff;
      const cmd = { ...request, slot: 0, seq } as CcidCommand;
      try {
        await this.device.transferOut(this.endpoints.bulkOut.endpointNumber, encodeCommand(cmd), timeout);
      } catch (err) {
        throw this.#transferError('send', err);
      }
      try {
        return await this.#awaitReply(cmd, timeout);
      } catch (err) {
        if (err instanceof CcidError && err.code === 'timeout') {
          lastTimeout = err;
          continue;
        }
        throw err;
      }
    }
    throw new CcidError('timeout', `the card encoder did not answer ${request.type} (${this.#o.retries + 1} attempts of ${timeout} ms)`, { cause: lastTimeout });
  }

  async #awaitReply(cmd: CcidCommand, timeout: number): Promise<CcidReply> {
    const expected = replyTypeFor(cmd.type);
    let stale = 0;
    let extensions = 0;
    let wait = timeout;
    const packet = this.endpoints.bulkIn.packetSize;
    const length = Math.ceil(this.#o.maxMessageLength / packet) * packet;
    for (;;) {
      let bytes: Uint8Array;
      try {
        bytes = await this.#readBulk(length, wait);
      } catch (err) {
        if (err instanceof CcidError) throw err;
        if (classifyUsbError(err) === 'timeout') throw new CcidError('timeout', `no reply to ${cmd.type} within ${wait} ms`, { cause: err });
        throw this.#transferError('receive', err);
      }
      const reply = decodeReply(bytes, this.#o.maxMessageLength);
      if (reply.seq !== cmd.seq) {
        this.staleReplies++;
        if (++stale > 10) throw new CcidError('wrong_sequence', `too many replies with a wrong bSeq (last ${reply.seq}, expected ${cmd.seq})`);
        continue;
      }
      if (reply.slot !== cmd.slot) throw new CcidError('wrong_slot', `reply for slot ${reply.slot}, command was for slot ${cmd.slot}`);
      if (reply.type !== expected) throw new CcidError('wrong_reply_type', `${cmd.type} was answered with RDR_to_PC_${reply.type}, not RDR_to_PC_${expected}`);
      if (reply.status.command === 'time-extension') {
        if (++extensions > this.#o.maxTimeExtensions) throw new CcidError('too_many_time_extensions', `the reader asked for more time ${extensions} times`);
        wait = timeout * Math.max(1, reply.error);
        continue;
      }
      if (reply.status.command === 'failed') {
        throw new CcidError('command_failed', `${cmd.type} failed: ${describeSlotError(reply.error)}`, { slotError: reply.error, status: reply.status });
      }
      return reply;
    }
  }

  /**
   * One bulk-IN read. usb@3 cancels the transfer itself after `wait`; WebUSB has no transfer timeout,
   * so a timer gives up waiting but leaves the transfer pending, and the next read takes it over
   * instead of queueing a second one behind it (which would swallow the next reply).
   */
  async #readBulk(length: number, wait: number): Promise<Uint8Array> {
    let pending = this.#bulkInFlight;
    if (!pending) {
      pending = this.device.transferIn(this.endpoints.bulkIn.endpointNumber, length, wait).then((r) => {
        if (r.status !== 'ok') throw new CcidError('transfer_failed', `bulk IN transfer ended with ${r.status}`);
        return r.data ? new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength) : new Uint8Array(0);
      });
      const mine = pending;
      this.#bulkInFlight = mine;
      mine.then(
        () => this.#clearInFlight(mine),
        () => this.#clearInFlight(mine),
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<never>((_, reject) => {
      // A little after usb@3's own timeout, so that one wins where it exists.
      timer = setTimeout(() => reject(new CcidError('timeout', `no reply within ${wait} ms`)), wait + 50);
    });
    try {
      return await Promise.race([pending, gaveUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  #clearInFlight(p: Promise<Uint8Array>): void {
    if (this.#bulkInFlight === p) this.#bulkInFlight = null;
  }

  #transferError(what: string, err: unknown): CcidError {
    const kind = classifyUsbError(err);
    const text = kind === 'disconnected' ? 'the card encoder was unplugged' : `USB ${what} failed: ${errorText(err)}`;
    return new CcidError(kind === 'timeout' ? 'timeout' : 'transfer_failed', text, { cause: err });
  }

  /** Card placed/removed as the reader reports them on the interrupt pipe. Returns an unsubscribe function. */
  onSlotChange(listener: (e: SlotEvent) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#polling && this.endpoints.interruptIn) void this.#poll(this.endpoints.interruptIn);
    return () => this.#listeners.delete(listener);
  }

  async #poll(ep: UsbEndpoint): Promise<void> {
    this.#polling = true;
    try {
      while (!this.#closed && this.#listeners.size > 0) {
        let bytes: Uint8Array;
        try {
          const r = await this.device.transferIn(ep.endpointNumber, Math.max(8, ep.packetSize), this.#o.interruptPollMs);
          if (r.status === 'stall') {
            await this.device.clearHalt('in', ep.endpointNumber);
            continue;
          }
          if (!r.data || r.data.byteLength === 0) continue;
          bytes = new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
        } catch (err) {
          if (this.#closed) return;
          const kind = classifyUsbError(err);
          if (kind === 'timeout') continue;
          this.#emit({ type: 'error', error: this.#transferError('interrupt read', err) });
          return;
        }
        try {
          const m = decodeInterrupt(bytes, 1);
          if (m.type === 'HardwareError') this.#emit({ type: 'hardware-error', code: m.code });
          else if (m.slots[0]?.changed) this.#emit({ type: m.slots[0].present ? 'card-placed' : 'card-removed' });
        } catch (err) {
          this.#emit({ type: 'error', error: err as Error });
        }
      }
    } finally {
      this.#polling = false;
    }
  }

  #emit(e: SlotEvent): void {
    for (const l of [...this.#listeners]) l(e);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#chain;
    await this.device.releaseInterface(this.endpoints.interfaceNumber).catch(() => undefined);
    if (this.device.attachKernelDriver) await this.device.attachKernelDriver(this.endpoints.interfaceNumber).catch(() => undefined);
    await this.device.close().catch(() => undefined);
  }
}
