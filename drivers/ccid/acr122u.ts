// The ACR122U's PC/SC pseudo-APDUs (class FF) over a CcidReader: Get UID, load key, authenticate
// with key A or B, read and update binary, LED and buzzer, firmware version; the card type from the
// ATR the reader synthesises (PC/SC part 3 for ISO 14443-3 cards, ATS historical bytes for -4 cards).
// Status words become ApduError with a message an operator can act on.
import { CcidError, hexBytes } from './messages.ts';
import type { CcidReader } from './reader.ts';

export type CardType =
  | 'mifare-classic-1k'
  | 'mifare-classic-4k'
  | 'mifare-mini'
  /** Ultralight, Ultralight C, NTAG 21x: the PC/SC name "Ultralight"; Gatehouse reads only the UID. */
  | 'mifare-ultralight'
  | 'mifare-desfire'
  | 'iso14443-4'
  | 'unknown';

export interface CardInfo {
  readonly type: CardType;
  readonly atr: Uint8Array;
  /** PC/SC part 3 card name bytes C0C1 (ISO 14443-3 cards), e.g. 0x0001 for MIFARE 1K. */
  readonly cardName?: number;
  readonly historicalBytes?: Uint8Array;
}

export type KeyType = 'A' | 'B';

const PCSC_RID = [0xa0, 0x00, 0x00, 0x03, 0x06];

/** Reads the reader-made ATR; throws CcidError('bad_field') when it is not one (bad TS/TCK/length). */
export function parseAtr(atr: Uint8Array): CardInfo {
  if (atr.length < 5 || atr[0] !== 0x3b) throw new CcidError('bad_field', `not a contactless ATR: ${hexBytes(atr)}`);
  const t0 = atr[1]!;
  const k = t0 & 0x0f;
  // TD1 = 0x80 (TD2 follows, T=0), TD2 = 0x01 (T=1), then k historical bytes, then TCK.
  if ((t0 & 0xf0) !== 0x80 || atr[2] !== 0x80 || atr[3] !== 0x01 || atr.length !== 4 + k + 1) {
    throw new CcidError('bad_field', `unexpected ATR structure: ${hexBytes(atr)}`);
  }
  let tck = 0;
  for (let i = 1; i < atr.length; i++) tck ^= atr[i]!;
  if (tck !== 0) throw new CcidError('bad_field', `ATR checksum (TCK) is wrong: ${hexBytes(atr)}`);
  const hist = atr.slice(4, 4 + k);
  const part3 = k === 15 && hist[0] === 0x80 && hist[1] === 0x4f && hist[2] === 0x0c && PCSC_RID.every((b, i) => hist[3 + i] === b);
  if (part3) {
    const cardName = (hist[9]! << 8) | hist[10]!;
    const type: CardType =
      cardName === 0x0001 ? 'mifare-classic-1k' : cardName === 0x0002 ? 'mifare-classic-4k' : cardName === 0x0003 ? 'mifare-ultralight' : cardName === 0x0026 ? 'mifare-mini' : 'unknown';
    return { type, atr: atr.slice(), cardName, historicalBytes: hist };
  }
  // ISO 14443-4: the historical bytes are the card's ATS. DESFire (EV1+): 75 77 81 02 80 after the length/TA byte.
  const desfire = hist.length >= 5 && hist.some((_, i) => hist[i] === 0x75 && hist[i + 1] === 0x77 && hist[i + 2] === 0x81 && hist[i + 3] === 0x02 && hist[i + 4] === 0x80);
  const bare = hist.length === 1 && hist[0] === 0x80; // DESFire (EV0) in the ACR122L manual: 3B 81 80 01 80 80
  return { type: desfire || bare ? 'mifare-desfire' : 'iso14443-4', atr: atr.slice(), historicalBytes: hist };
}

export type ApduErrorCode = 'failed' | 'not_supported' | 'wrong_length' | 'wrong_le' | 'end_of_data' | 'class_not_supported' | 'malformed' | 'other';

export class ApduError extends Error {
  override readonly name = 'ApduError';
  constructor(
    readonly code: ApduErrorCode,
    /** SW1SW2, e.g. 0x6300; -1 when the reply was too short to hold one. */
    readonly sw: number,
    message: string,
  ) {
    super(message);
  }
}

/** What a status word means for the command `what`. */
export function describeStatusWord(sw: number, what: string): ApduError {
  const s = `SW ${sw.toString(16).padStart(4, '0').toUpperCase()}`;
  if (sw === 0x6300) return new ApduError('failed', sw, `${what} failed (${s}): wrong key, no access rights, or the card was moved away`);
  if (sw === 0x6a81) return new ApduError('not_supported', sw, `${what} is not supported by this card or reader (${s})`);
  if (sw === 0x6700) return new ApduError('wrong_length', sw, `${what}: wrong length (${s})`);
  if (sw === 0x6282) return new ApduError('end_of_data', sw, `${what}: end of data reached before Le bytes (${s})`);
  if ((sw & 0xff00) === 0x6c00) return new ApduError('wrong_le', sw, `${what}: wrong Le, the card has ${sw & 0xff} bytes (${s})`);
  if (sw === 0x6e00) return new ApduError('class_not_supported', sw, `${what}: class not supported (${s})`);
  return new ApduError('other', sw, `${what} failed with ${s}`);
}

export interface LedPattern {
  /** Final LED state and masks: which LEDs to set at the end, and to what. */
  readonly finalRed?: boolean;
  readonly finalGreen?: boolean;
  readonly blinkRed?: boolean;
  readonly blinkGreen?: boolean;
  /** T1, T2 in ms (rounded to 100 ms units, at most 25.5 s). */
  readonly t1Ms?: number;
  readonly t2Ms?: number;
  readonly repeat?: number;
  readonly buzzer?: 'off' | 't1' | 't2' | 'both';
}

export class Acr122u {
  readonly reader: CcidReader;

  constructor(reader: CcidReader) {
    this.reader = reader;
  }

  /** Whether a card is on the reader (GetSlotStatus; slow without a card on the ACR122U). */
  async cardPresent(): Promise<boolean> {
    const r = await this.reader.transact({ type: 'GetSlotStatus' });
    return r.status.icc !== 'absent';
  }

  /** Powers the card on and reads its type from the ATR. Without a card: CcidError command_failed, slotError 0xFE. */
  async powerOn(): Promise<CardInfo> {
    const r = await this.reader.transact({ type: 'IccPowerOn', power: 'auto' });
    if (r.type !== 'DataBlock') throw new CcidError('wrong_reply_type', 'IccPowerOn answered without an ATR');
    return parseAtr(r.data);
  }

  /** Powers the card on and reads its type and UID: what the encoder needs to know about the card on the tray. */
  async identify(): Promise<CardInfo & { uid: Uint8Array }> {
    const info = await this.powerOn();
    return { ...info, uid: await this.getUid() };
  }

  async powerOff(): Promise<void> {
    await this.reader.transact({ type: 'IccPowerOff' });
  }

  /** UID as the card sends it (byte 0 first). */
  async getUid(): Promise<Uint8Array> {
    return this.#apdu([0xff, 0xca, 0x00, 0x00, 0x00], 'Get UID');
  }

  /** The ATS of an ISO 14443-4 card (DESFire). */
  async getAts(): Promise<Uint8Array> {
    return this.#apdu([0xff, 0xca, 0x01, 0x00, 0x00], 'Get ATS');
  }

  /** Loads a 6-byte MIFARE key into the reader's volatile slot 0 or 1. */
  async loadKey(slot: 0 | 1, key: Uint8Array): Promise<void> {
    if (key.length !== 6) throw new RangeError('a MIFARE key is 6 bytes');
    await this.#apdu([0xff, 0x82, 0x00, slot, 0x06, ...key], `Load key into slot ${slot}`);
  }

  /** Authenticates the sector of `block` with the key in `slot` as key A or B. */
  async authenticate(block: number, keyType: KeyType, slot: 0 | 1): Promise<void> {
    checkBlock(block);
    await this.#apdu([0xff, 0x86, 0x00, 0x00, 0x05, 0x01, 0x00, block, keyType === 'A' ? 0x60 : 0x61, slot], `Authenticate block ${block} with key ${keyType}`);
  }

  /** Reads `length` bytes (16 for a Classic block; 4 or 16 for Ultralight pages) from `block`. */
  async readBinary(block: number, length = 16): Promise<Uint8Array> {
    checkBlock(block);
    const data = await this.#apdu([0xff, 0xb0, 0x00, block, length & 0xff], `Read block ${block}`);
    if (data.length !== length) throw new ApduError('malformed', 0x9000, `Read block ${block}: ${data.length} bytes arrived, ${length} were asked for`);
    return data;
  }

  /** Writes one Classic block (16 bytes) or one Ultralight page (4 bytes). */
  async updateBinary(block: number, data: Uint8Array): Promise<void> {
    checkBlock(block);
    if (data.length === 0 || data.length > 255) throw new RangeError('1 to 255 bytes');
    await this.#apdu([0xff, 0xd6, 0x00, block, data.length, ...data], `Write block ${block}`);
  }

  /** Bi-colour LED and buzzer; returns the LED state after it (bit 0 red, bit 1 green). */
  async led(p: LedPattern): Promise<{ red: boolean; green: boolean }> {
    const units = (ms = 0): number => Math.min(255, Math.max(0, Math.round(ms / 100)));
    const p2 =
      (p.finalRed ? 0x01 : 0) |
      (p.finalGreen ? 0x02 : 0) |
      (p.finalRed !== undefined ? 0x04 : 0) |
      (p.finalGreen !== undefined ? 0x08 : 0) |
      (p.blinkRed ? 0x10 | 0x40 : 0) |
      (p.blinkGreen ? 0x20 | 0x80 : 0);
    const buzzer = { off: 0, t1: 1, t2: 2, both: 3 }[p.buzzer ?? 'off'];
    const reply = await this.#raw([0xff, 0x00, 0x40, p2, 0x04, units(p.t1Ms), units(p.t2Ms), Math.min(255, Math.max(0, p.repeat ?? 1)), buzzer]);
    if (reply.length !== 2 || reply[0] !== 0x90) throw describeStatusWord(sw(reply), 'LED/buzzer');
    return { red: (reply[1]! & 1) !== 0, green: (reply[1]! & 2) !== 0 };
  }

  /** The reader's firmware string, e.g. "ACR122U207" (answered as ASCII without a status word). */
  async firmwareVersion(): Promise<string> {
    let reply = await this.#raw([0xff, 0x00, 0x48, 0x00, 0x00]);
    if (reply.length >= 2 && reply[reply.length - 2] === 0x90 && reply[reply.length - 1] === 0x00) reply = reply.subarray(0, -2);
    if (reply.length === 2 && reply[0] !== 0x41) throw describeStatusWord(sw(reply), 'Get firmware version');
    const text = String.fromCharCode(...reply);
    if (!/^[\x20-\x7e]+$/.test(text)) throw new ApduError('malformed', -1, `Get firmware version: not text (${hexBytes(reply)})`);
    return text;
  }

  async #raw(apdu: number[]): Promise<Uint8Array> {
    const r = await this.reader.transact({ type: 'XfrBlock', bwi: 0, levelParameter: 0, data: Uint8Array.from(apdu) });
    if (r.type !== 'DataBlock') throw new CcidError('wrong_reply_type', 'XfrBlock answered without data');
    return r.data;
  }

  async #apdu(apdu: number[], what: string): Promise<Uint8Array> {
    const reply = await this.#raw(apdu);
    if (reply.length < 2) throw new ApduError('malformed', -1, `${what}: reply of ${reply.length} bytes has no status word`);
    const word = sw(reply);
    if (word !== 0x9000) throw describeStatusWord(word, what);
    return reply.slice(0, -2);
  }
}

function sw(reply: Uint8Array): number {
  if (reply.length < 2) return -1;
  return (reply[reply.length - 2]! << 8) | reply[reply.length - 1]!;
}

function checkBlock(block: number): void {
  if (!Number.isInteger(block) || block < 0 || block > 255) throw new RangeError(`block ${block} is not 0-255`);
}
