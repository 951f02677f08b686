// An ACR122U desk encoder at the USB transfer level: a FakeUsbDevice (drivers/transport/fake-webusb.ts)
// with the reader's descriptors — 072F:2200, one interface of class 0x0B (smart card, CCID) with an
// interrupt IN, a bulk OUT and a bulk IN endpoint, the kernel's pn533_usb bound to it on Linux — and
// firmware that speaks CCID on the bulk pipes and NotifySlotChange on the interrupt pipe, with the
// PC/SC pseudo-APDUs of the ACR122U inside XfrBlock. The driver under test runs against it unchanged.
//
// Reader quirks kept on purpose: bError is 0x81 in successful replies; GetSlotStatus without a card
// answers only after `slowStatusMs` (up to 1 s on the real reader); card failures answer SW 63 00.
// Faults for tests and demos: remove the card after N block operations, a bad CRC from the card on the
// next N card exchanges, a stale reply (the previous one again) before the next, time extensions,
// silence (no reply), unplug.
import { FakeUsbDevice, type FakeErrorStyle } from '../transport/fake-webusb.ts';
import {
  ACR122U_MAX_MESSAGE_LENGTH,
  CCID_HEADER_SIZE,
  CcidError,
  declaredLength,
  decodeCommand,
  encodeInterrupt,
  encodeReply,
  type CcidCommand,
  type CcidReply,
  type IccStatus,
  type SlotState,
} from '../ccid/messages.ts';
import { MifareClassicCard, UltralightCard, type KeyType, type VirtualCard } from './cards.ts';

export const ACR122U_USB_IDS = { vendorId: 0x072f, productId: 0x2200 } as const;
export const ACR122U_ENDPOINTS = { interruptIn: 1, bulkOut: 2, bulkIn: 2 } as const;
/** Successful replies carry this in bError (observed on real readers). */
export const ACR122U_SUCCESS_BERROR = 0x81;
/** What Get Firmware Version answers (the real reader: ASCII "ACR122U" + version, e.g. ACR122U207, without SW1SW2). */
export const SIMULATED_FIRMWARE = 'ACR122U207';

export interface LedEvent {
  readonly p2: number;
  readonly t1: number;
  readonly t2: number;
  readonly repeat: number;
  readonly buzzer: number;
}

export interface Acr122uFaults {
  /** After this many more successful block reads/writes, the card leaves the field (50 02 on the interrupt pipe). */
  removeCardAfterBlocks?: number;
  /** The next N exchanges with the card arrive with a bad CRC (the reader answers 63 00). */
  badCardCrc?: number;
  /** Before the next reply, send the previous reply again (a stale bSeq). */
  staleReply?: boolean;
  /** Before the next reply, ask N times for a time extension (bStatus 0x80, bError = BWT multiplier 1). */
  timeExtensions?: number;
  /** Swallow the next N commands without answering. */
  dropReplies?: number;
}

export interface Acr122uOptions {
  serialNumber?: string | null;
  errorStyle?: FakeErrorStyle;
  /** How long GetSlotStatus takes without a card; 1000 ms on the real reader. */
  slowStatusMs?: number;
  /** Delay before every other reply (0: the next turn of the event loop). */
  replyDelayMs?: number;
  /** Whether pn533_usb is bound at plug-in (Linux); default true. */
  kernelDriver?: boolean;
}

interface Powered {
  readonly card: VirtualCard;
  icc: IccStatus;
}

export class Acr122uSimulator {
  readonly device: FakeUsbDevice;
  readonly faults: Acr122uFaults = {};
  /** Every LED/buzzer command the host sent, in order. */
  readonly ledEvents: LedEvent[] = [];
  /** Every command the reader decoded, in order (for asserting what the driver sent). */
  readonly commands: CcidCommand[] = [];
  /** Current LED state: bit 0 red, bit 1 green. */
  ledState = 0;
  readonly #options: Required<Omit<Acr122uOptions, 'serialNumber' | 'errorStyle'>>;
  #slot: Powered | null = null;
  #keys: (Uint8Array | null)[] = [null, null];
  #rx: number[] = [];
  #lastReply: Uint8Array | null = null;
  #queue: Promise<void> = Promise.resolve();
  #generation = 0;

  constructor(o: Acr122uOptions = {}) {
    this.#options = { slowStatusMs: o.slowStatusMs ?? 1000, replyDelayMs: o.replyDelayMs ?? 0, kernelDriver: o.kernelDriver ?? true };
    this.device = new FakeUsbDevice({
      vendorId: ACR122U_USB_IDS.vendorId,
      productId: ACR122U_USB_IDS.productId,
      serialNumber: o.serialNumber === undefined ? null : o.serialNumber,
      productName: 'ACR122U PICC Interface',
      errorStyle: o.errorStyle ?? 'node-usb-3',
      interfaces: [
        {
          interfaceNumber: 0,
          interfaceClass: 0x0b,
          kernelDriver: this.#options.kernelDriver,
          endpoints: [
            { endpointNumber: ACR122U_ENDPOINTS.interruptIn, direction: 'in', type: 'interrupt', packetSize: 16 },
            { endpointNumber: ACR122U_ENDPOINTS.bulkOut, direction: 'out', type: 'bulk', packetSize: 64 },
            { endpointNumber: ACR122U_ENDPOINTS.bulkIn, direction: 'in', type: 'bulk', packetSize: 64 },
          ],
        },
      ],
    });
    this.device.onHostWrite((packet, ep) => {
      if (ep === ACR122U_ENDPOINTS.bulkOut) this.#receive(packet);
    });
  }

  // ---- tray API -----------------------------------------------------------------------------------

  /** The card on the reader, if any. */
  get card(): VirtualCard | null {
    return this.#slot?.card ?? null;
  }

  /** Puts a card on the reader: 50 03 on the interrupt pipe. A card already there is taken off first. */
  place(card: VirtualCard): void {
    if (this.#slot) this.remove();
    card.reset();
    this.#slot = { card, icc: 'inactive' };
    this.#notify(true);
  }

  /** Takes the card off: 50 02 on the interrupt pipe. */
  remove(): VirtualCard | null {
    const s = this.#slot;
    if (!s) return null;
    s.card.reset();
    this.#slot = null;
    this.#notify(false);
    return s.card;
  }

  unplug(): void {
    this.#generation++;
    this.#rx = [];
    this.device.unplug();
  }

  replug(): void {
    this.#generation++;
    this.#rx = [];
    this.#keys = [null, null];
    this.#lastReply = null;
    if (this.#slot) this.#slot.icc = 'inactive';
    this.device.replug();
  }

  // ---- CCID -----------------------------------------------------------------------------------------

  #notify(present: boolean): void {
    this.device.sendToHost(encodeInterrupt({ type: 'NotifySlotChange', slots: [{ slot: 0, present, changed: true }] }), {
      endpointNumber: ACR122U_ENDPOINTS.interruptIn,
    });
  }

  /** Packets reassembled into messages by the header's dwLength. */
  #receive(packet: Uint8Array): void {
    this.#rx.push(...packet);
    while (this.#rx.length >= CCID_HEADER_SIZE) {
      const header = Uint8Array.from(this.#rx.slice(0, CCID_HEADER_SIZE));
      const length = declaredLength(header)!;
      if (length > ACR122U_MAX_MESSAGE_LENGTH - CCID_HEADER_SIZE) {
        // A message the reader cannot hold: refuse it (error on byte 1, dwLength) and resynchronise.
        this.#rx = [];
        this.#enqueue(() => this.#failed(header[0]!, header[5]!, header[6]!, 0x01));
        return;
      }
      if (this.#rx.length < CCID_HEADER_SIZE + length) return;
      const bytes = Uint8Array.from(this.#rx.splice(0, CCID_HEADER_SIZE + length));
      this.#enqueue(() => this.#handle(bytes));
    }
  }

  #enqueue(job: () => Promise<CcidReply | null>): void {
    const generation = this.#generation;
    this.#queue = this.#queue.then(async () => {
      const reply = await job();
      if (reply === null || generation !== this.#generation) return;
      this.#send(reply);
    });
  }

  #send(reply: CcidReply): void {
    if (this.faults.staleReply && this.#lastReply) {
      this.faults.staleReply = false;
      this.device.sendToHost(this.#lastReply, { endpointNumber: ACR122U_ENDPOINTS.bulkIn });
    }
    for (; (this.faults.timeExtensions ?? 0) > 0; this.faults.timeExtensions = this.faults.timeExtensions! - 1) {
      // Same message type as the reply it announces, no data; bError 1 = one more BWT.
      const status: SlotState = { icc: reply.status.icc, command: 'time-extension' };
      const ext = encodeReply(
        reply.type === 'SlotStatus'
          ? { ...reply, status, error: 1 }
          : reply.type === 'DataBlock'
            ? { ...reply, status, error: 1, data: new Uint8Array(0) }
            : { ...reply, status, error: 1, data: new Uint8Array(0) },
      );
      this.device.sendToHost(ext, { endpointNumber: ACR122U_ENDPOINTS.bulkIn });
    }
    const bytes = encodeReply(reply);
    this.#lastReply = bytes;
    this.device.sendToHost(bytes, { endpointNumber: ACR122U_ENDPOINTS.bulkIn });
  }

  async #failed(type: number, slot: number, seq: number, error: number): Promise<CcidReply> {
    const status: SlotState = { icc: this.#icc(), command: 'failed' };
    if (type === 0x62 || type === 0x6f) return { type: 'DataBlock', slot, seq, status, error, chainParameter: 0, data: new Uint8Array(0) };
    if (type === 0x6b) return { type: 'Escape', slot, seq, status, error, data: new Uint8Array(0) };
    return { type: 'SlotStatus', slot, seq, status, error, clockStatus: 0 };
  }

  #icc(): IccStatus {
    return this.#slot ? this.#slot.icc : 'absent';
  }

  async #handle(bytes: Uint8Array): Promise<CcidReply | null> {
    let cmd: CcidCommand;
    try {
      cmd = decodeCommand(bytes, ACR122U_MAX_MESSAGE_LENGTH);
    } catch (e) {
      const code = e instanceof CcidError && e.code === 'unknown_type' ? 0x00 : 0x01;
      return this.#failed(bytes[0]!, bytes[5]!, bytes[6]!, code);
    }
    this.commands.push(cmd);
    if ((this.faults.dropReplies ?? 0) > 0) {
      this.faults.dropReplies = this.faults.dropReplies! - 1;
      return null;
    }
    if (cmd.slot !== 0) return this.#failed(bytes[0]!, cmd.slot, cmd.seq, 0x05);
    const slowNoCard = cmd.type === 'GetSlotStatus' && !this.#slot;
    await delay(slowNoCard ? this.#options.slowStatusMs : this.#options.replyDelayMs);
    const ok = (icc: IccStatus = this.#icc()): SlotState => ({ icc, command: 'ok' });
    const { slot, seq } = cmd;
    switch (cmd.type) {
      case 'GetSlotStatus':
        return { type: 'SlotStatus', slot, seq, status: ok(), error: ACR122U_SUCCESS_BERROR, clockStatus: 0 };
      case 'IccPowerOff':
        if (this.#slot) {
          this.#slot.icc = 'inactive';
          this.#slot.card.reset();
        }
        return { type: 'SlotStatus', slot, seq, status: ok(), error: ACR122U_SUCCESS_BERROR, clockStatus: 0 };
      case 'IccPowerOn':
        if (!this.#slot) return this.#failed(0x62, slot, seq, 0xfe);
        this.#slot.icc = 'active';
        this.#slot.card.reset();
        return { type: 'DataBlock', slot, seq, status: ok('active'), error: ACR122U_SUCCESS_BERROR, chainParameter: 0, data: atrFor(this.#slot.card) };
      case 'Escape':
        // The ACR122U takes the same pseudo-APDUs through Escape (PC/SC's SCardControl path).
        return { type: 'Escape', slot, seq, status: ok(), error: ACR122U_SUCCESS_BERROR, data: this.#apdu(cmd.data, true) };
      case 'XfrBlock': {
        const readerLevel = cmd.data[0] === 0xff && cmd.data[1] === 0x00;
        if (!readerLevel && (!this.#slot || this.#slot.icc !== 'active')) return this.#failed(0x6f, slot, seq, 0xfe);
        return { type: 'DataBlock', slot, seq, status: ok(), error: ACR122U_SUCCESS_BERROR, chainParameter: 0, data: this.#apdu(cmd.data, false) };
      }
    }
  }

  // ---- pseudo-APDUs -----------------------------------------------------------------------------------

  #apdu(apdu: Uint8Array, viaEscape: boolean): Uint8Array {
    if (apdu.length < 4) return SW_WRONG_LENGTH;
    const [cla, ins, p1, p2] = [apdu[0]!, apdu[1]!, apdu[2]!, apdu[3]!];
    if (cla !== 0xff) return SW_CLA_NOT_SUPPORTED;
    if (ins === 0x00) return this.#readerCommand(p1, p2, apdu.subarray(4));
    if (viaEscape && !this.#slot) return SW_FAIL;
    const card = this.#slot?.card;
    if (!card || this.#slot!.icc !== 'active') return SW_FAIL;
    switch (ins) {
      case 0xca:
        return this.#getData(card, p1, apdu);
      case 0x82:
        return this.#loadKey(p1, p2, apdu);
      case 0x86:
        return this.#authenticate(card, apdu);
      case 0x88:
        return this.#authenticateObsolete(card, apdu);
      case 0xb0:
        return this.#readBinary(card, p1, p2, apdu);
      case 0xd6:
        return this.#updateBinary(card, p1, p2, apdu);
      default:
        return SW_NOT_SUPPORTED;
    }
  }

  #readerCommand(p1: number, p2: number, rest: Uint8Array): Uint8Array {
    if (p1 === 0x40) {
      // FF 00 40 P2 04 T1 T2 N LB
      if (rest.length !== 5 || rest[0] !== 0x04) return SW_FAIL;
      const ev = { p2, t1: rest[1]!, t2: rest[2]!, repeat: rest[3]!, buzzer: rest[4]! };
      if (ev.buzzer > 3) return SW_FAIL;
      this.ledEvents.push(ev);
      // Final state: bits 0/1 of P2 (final red/green), applied where the mask bits 2/3 allow.
      let state = this.ledState;
      if (p2 & 0x04) state = (state & ~1) | (p2 & 1);
      if (p2 & 0x08) state = (state & ~2) | (p2 & 2);
      this.ledState = state;
      return Uint8Array.of(0x90, state);
    }
    if (p1 === 0x48 && p2 === 0x00) return new TextEncoder().encode(SIMULATED_FIRMWARE);
    if (p1 === 0x51 || p1 === 0x52) return Uint8Array.of(0x90, p2);
    return SW_NOT_SUPPORTED;
  }

  #getData(card: VirtualCard, p1: number, apdu: Uint8Array): Uint8Array {
    if (apdu.length !== 5) return SW_WRONG_LENGTH;
    const le = apdu[4]!;
    let value: Uint8Array;
    if (p1 === 0x00) value = card.uid;
    else if (p1 === 0x01) {
      if (card.historicalBytes.length === 0) return SW_NOT_SUPPORTED;
      value = Uint8Array.of(card.historicalBytes.length + 1, ...card.historicalBytes);
    } else return SW_NOT_SUPPORTED;
    if (le === 0) return concat(value, SW_OK);
    if (le < value.length) return Uint8Array.of(0x6c, value.length);
    if (le > value.length) return concat(value, Uint8Array.of(0x62, 0x82));
    return concat(value, SW_OK);
  }

  #loadKey(p1: number, p2: number, apdu: Uint8Array): Uint8Array {
    if (apdu.length !== 11 || apdu[4] !== 6) return SW_WRONG_LENGTH;
    if (p1 !== 0x00 || p2 > 1) return SW_FAIL;
    this.#keys[p2] = apdu.slice(5, 11);
    return SW_OK;
  }

  #authenticate(card: VirtualCard, apdu: Uint8Array): Uint8Array {
    if (apdu.length !== 10 || apdu[4] !== 5 || apdu[5] !== 0x01 || apdu[6] !== 0x00) return SW_WRONG_LENGTH;
    return this.#auth(card, apdu[7]!, apdu[8]!, apdu[9]!);
  }

  #authenticateObsolete(card: VirtualCard, apdu: Uint8Array): Uint8Array {
    if (apdu.length !== 6) return SW_WRONG_LENGTH;
    return this.#auth(card, apdu[3]!, apdu[4]!, apdu[5]!);
  }

  #auth(card: VirtualCard, block: number, keyTypeByte: number, slot: number): Uint8Array {
    if (!(card instanceof MifareClassicCard)) return SW_FAIL;
    const key = this.#keys[slot];
    if (keyTypeByte !== 0x60 && keyTypeByte !== 0x61) return SW_FAIL;
    if (!key) return SW_FAIL;
    if (this.#crcFault()) return SW_FAIL;
    const type: KeyType = keyTypeByte === 0x60 ? 'A' : 'B';
    return card.authenticate(block, type, key).ok ? SW_OK : SW_FAIL;
  }

  #readBinary(card: VirtualCard, p1: number, p2: number, apdu: Uint8Array): Uint8Array {
    if (apdu.length !== 5) return SW_WRONG_LENGTH;
    const le = apdu[4]!;
    if (p1 !== 0x00) return SW_FAIL;
    if (this.#crcFault()) return SW_FAIL;
    if (card instanceof MifareClassicCard) {
      if (le !== 0x10) return SW_FAIL;
      const r = card.read(p2);
      if (!r.ok) return SW_FAIL;
      this.#blockDone();
      return concat(r.value, SW_OK);
    }
    if (card instanceof UltralightCard) {
      if (le !== 0x04 && le !== 0x10) return SW_FAIL;
      const r = card.read(p2);
      if (!r.ok) return SW_FAIL;
      this.#blockDone();
      return concat(r.value.subarray(0, le), SW_OK);
    }
    return SW_NOT_SUPPORTED;
  }

  #updateBinary(card: VirtualCard, p1: number, p2: number, apdu: Uint8Array): Uint8Array {
    if (apdu.length < 5 || apdu.length !== 5 + apdu[4]!) return SW_WRONG_LENGTH;
    if (p1 !== 0x00) return SW_FAIL;
    const data = apdu.slice(5);
    if (this.#crcFault()) return SW_FAIL;
    let r: { ok: boolean };
    if (card instanceof MifareClassicCard) r = card.write(p2, data);
    else if (card instanceof UltralightCard) r = card.write(p2, data);
    else return SW_NOT_SUPPORTED;
    if (!r.ok) return SW_FAIL;
    this.#blockDone();
    return SW_OK;
  }

  /** A card exchange with a bad CRC: the card's state is unknown, the reader reports failure. */
  #crcFault(): boolean {
    if ((this.faults.badCardCrc ?? 0) <= 0) return false;
    this.faults.badCardCrc = this.faults.badCardCrc! - 1;
    this.#slot?.card.reset();
    return true;
  }

  #blockDone(): void {
    const n = this.faults.removeCardAfterBlocks;
    if (n === undefined) return;
    if (n <= 1) {
      this.faults.removeCardAfterBlocks = undefined;
      // The card leaves the field after this exchange: its answer still goes out first.
      setImmediate(() => this.remove());
    } else this.faults.removeCardAfterBlocks = n - 1;
  }
}

/**
 * The ATR the reader synthesises (PC/SC part 3): ISO 14443-3 cards
 * 3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 C0 C1 00 00 00 00 TCK; ISO 14443-4 cards
 * 3B 8N 80 01 <historical bytes> TCK. TCK is the XOR of T0 to the last historical byte.
 */
export function atrFor(card: VirtualCard): Uint8Array {
  let body: number[];
  if (card.historicalBytes.length > 0) {
    body = [0x3b, 0x80 | card.historicalBytes.length, 0x80, 0x01, ...card.historicalBytes];
  } else {
    const name = card.kind === 'classic1k' ? [0x00, 0x01] : card.kind === 'classic4k' ? [0x00, 0x02] : card.kind === 'ultralight' ? [0x00, 0x03] : [0xff, card.sak];
    body = [0x3b, 0x8f, 0x80, 0x01, 0x80, 0x4f, 0x0c, 0xa0, 0x00, 0x00, 0x03, 0x06, 0x03, ...name, 0x00, 0x00, 0x00, 0x00];
  }
  let tck = 0;
  for (const b of body.slice(1)) tck ^= b;
  return Uint8Array.from([...body, tck]);
}

const SW_OK = Uint8Array.of(0x90, 0x00);
const SW_FAIL = Uint8Array.of(0x63, 0x00);
const SW_NOT_SUPPORTED = Uint8Array.of(0x6a, 0x81);
const SW_WRONG_LENGTH = Uint8Array.of(0x67, 0x00);
const SW_CLA_NOT_SUPPORTED = Uint8Array.of(0x6e, 0x00);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
}
