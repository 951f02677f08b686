// One attached card encoder (an ACR122U over CCID) as the core's EncoderDevice port
// (core/encoders/ports.ts) sees it. The shapes are declared here again, not imported: drivers never
// import core, and the composition root checks that they fit.
//
// Writing a credential (docs/credentials.md): open sector 1 with the transport key A (a blank card, or
// one whose issue was interrupted: the trailer is written last, so such a card still has transport
// keys) or with this site's key B (a card this site issued); write blocks 4, 5, 6, then the trailer;
// read the sector back with the card's key A, as a lock does, and verify it. Every step that fails
// is put down to the card having left (the reader says so, or a slot change was seen), to the
// encoder being unplugged, or to the radio link; only the last is retried, a bounded number of times,
// and only for steps that are idempotent (authenticating, reading, writing a whole block).
import { Acr122u, ApduError, type CardType } from '../ccid/acr122u.ts';
import { CcidError } from '../ccid/messages.ts';
import { openCcidReader, type CcidReaderOptions, type SlotEvent } from '../ccid/reader.ts';
import { TRANSPORT_KEY } from '../mifare/access-bits.ts';
import { eraseWrites, FIRST_BLOCK, issueWrites, verifyCredential, type CredentialCheck, type SectorWrites } from '../mifare/credential.ts';
import { deriveCardKeys } from '../mifare/kdf.ts';
import { invokeListener } from '../transport/byte-stream.ts';
import { classifyUsbError } from '../transport/usb-diagnostics.ts';
import { errorText } from '../transport/usb-module.ts';
import { UsbOpenError } from '../transport/usb-open-error.ts';
import type { UsbDevice } from '../transport/webusb-types.ts';

// ---- the port's shapes (core/encoders/ports.ts) ------------------------------------------------------

export type EncoderCardType = 'mifare_classic_1k' | 'mifare_classic_4k' | 'mifare_ultralight' | 'mifare_desfire' | 'unknown';

export interface PresentedCard {
  uid: string;
  card_type: EncoderCardType;
}

export type CredentialVerdict =
  | 'genuine'
  | 'credential_missing'
  | 'credential_unsupported_version'
  | 'credential_wrong_site'
  | 'credential_forged'
  | 'not_supported';

export interface CardReading extends PresentedCard {
  credential: CredentialVerdict;
  tag_number: string | null;
  issue_counter: number | null;
}

export interface EncodeRequest {
  siteKey: Uint8Array;
  siteId: string;
  tagNumber: string;
  issueCounter: number;
  uid: string;
  onStep?: (step: 'authenticating' | 'writing' | 'verifying', blocksWritten: number) => void;
}

export type EncoderErrorCode = 'card_removed' | 'no_card' | 'not_supported' | 'foreign_card' | 'verify_failed' | 'detached' | 'failed';

export type EncoderChange = { type: 'card-placed'; card: PresentedCard } | { type: 'card-removed' } | { type: 'detached' };

export class EncoderError extends Error {
  override readonly name = 'EncoderError';
  constructor(
    readonly code: EncoderErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---- the encoder ------------------------------------------------------------------------------------

const ENCODER_NAME = 'ACR122U (USB 072F:2200)';
const NO_CARD_SLOT_ERROR = 0xfe;

export interface CardEncoderOptions {
  /** Stable while attached: encoderIdOf (station.ts). */
  readonly id: string;
  readonly firmware: string;
  readonly simulated: boolean;
  /** How often one idempotent step is tried again after the card refused it (a bad CRC), default 2. */
  readonly stepRetries?: number;
}

interface SectorKey {
  readonly type: 'A' | 'B';
  readonly key: Uint8Array;
}

const TRANSPORT_KEY_A: SectorKey = { type: 'A', key: TRANSPORT_KEY };

function cardTypeOf(type: CardType): EncoderCardType {
  switch (type) {
    case 'mifare-classic-1k':
      return 'mifare_classic_1k';
    case 'mifare-classic-4k':
      return 'mifare_classic_4k';
    case 'mifare-ultralight':
      return 'mifare_ultralight';
    case 'mifare-desfire':
      return 'mifare_desfire';
    default:
      return 'unknown';
  }
}

const CARD_NAMES: Record<EncoderCardType, string> = {
  mifare_classic_1k: 'a MIFARE Classic 1K card',
  mifare_classic_4k: 'a MIFARE Classic 4K card',
  mifare_ultralight: 'a MIFARE Ultralight (or NTAG) card',
  mifare_desfire: 'a MIFARE DESFire card',
  unknown: 'a card of a kind Gatehouse does not know',
};

const canCarryCredential = (t: EncoderCardType): boolean => t === 'mifare_classic_1k' || t === 'mifare_classic_4k';

const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('').toUpperCase();

function fromHex(uid: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2}){4,10}$/.test(uid)) throw new RangeError(`not a card UID: ${JSON.stringify(uid)}`);
  return Uint8Array.from(uid.match(/../g)!, (b) => parseInt(b, 16));
}

/** Opens the reader on `device` and learns its firmware and the card lying on it. Fails with UsbOpenError. */
export async function openCardEncoder(device: UsbDevice, options: Omit<CardEncoderOptions, 'firmware'> & { reader?: CcidReaderOptions }): Promise<CardEncoder> {
  const reader = await openCcidReader(device, options.reader);
  const acr = new Acr122u(reader);
  let encoder: CardEncoder | undefined;
  try {
    encoder = new CardEncoder(acr, { ...options, firmware: await acr.firmwareVersion() });
    await encoder.refresh();
    return encoder;
  } catch (err) {
    await (encoder ? encoder.close() : reader.close());
    if (unplugged(err) || (err instanceof EncoderError && err.code === 'detached')) throw new UsbOpenError('disconnected', `The card encoder ${ENCODER_NAME} was unplugged while it was being opened.`, { cause: err });
    throw new UsbOpenError('failed', `The card encoder ${ENCODER_NAME} does not answer as an ACR122U should (${errorText(err)}).`, { cause: err });
  }
}

export class CardEncoder {
  readonly id: string;
  readonly name = ENCODER_NAME;
  readonly firmware: string;
  readonly simulated: boolean;
  readonly #acr: Acr122u;
  readonly #retries: number;
  readonly #listeners = new Set<(change: EncoderChange) => void>();
  readonly #unsubscribeSlot: () => void;
  #card: PresentedCard | null = null;
  /** Counts card-removed events: a step that sees it change knows the card left in between. */
  #removals = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #detached = false;

  constructor(acr: Acr122u, o: CardEncoderOptions) {
    this.id = o.id;
    this.firmware = o.firmware;
    this.simulated = o.simulated;
    this.#acr = acr;
    this.#retries = o.stepRetries ?? 2;
    this.#unsubscribeSlot = acr.reader.onSlotChange((e) => this.#onSlot(e));
  }

  card(): PresentedCard | null {
    return this.#card;
  }

  onChange(listener: (change: EncoderChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  waitForCard(signal: AbortSignal): Promise<PresentedCard> {
    return new Promise<PresentedCard>((resolve, reject) => {
      if (this.#detached) return reject(detachedError());
      if (signal.aborted) return reject(new EncoderError('no_card', 'No card was put on the encoder.'));
      if (this.#card) return resolve(this.#card);
      const done = (): void => {
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        done();
        reject(new EncoderError('no_card', 'No card was put on the encoder.'));
      };
      const unsubscribe = this.onChange((c) => {
        if (c.type === 'card-placed') {
          done();
          resolve(c.card);
        } else if (c.type === 'detached') {
          done();
          reject(detachedError());
        }
      });
      signal.addEventListener('abort', onAbort);
    });
  }

  /** Asks the reader which card lies on it now (slot changes keep this up to date afterwards). */
  refresh(): Promise<PresentedCard | null> {
    return this.#serial(() => this.#identifyPlaced());
  }

  read(siteKey: Uint8Array, siteId: string): Promise<CardReading> {
    return this.#serial(async () => {
      const since = this.#removals;
      const card = await this.#select(null, since);
      if (!canCarryCredential(card.card_type)) return { ...card, credential: 'not_supported', tag_number: null, issue_counter: null };
      const uid = fromHex(card.uid);
      const data = await this.#readCredential(uid, { type: 'A', key: deriveCardKeys(siteKey, uid).keyA }, since);
      // No expectation is passed, so the check ends in one of the verdicts the port knows.
      const check = verifyCredential(siteKey, siteId, uid, data);
      return reading(card, check);
    });
  }

  encode(request: EncodeRequest): Promise<CardReading> {
    return this.#serial(async () => {
      const since = this.#removals;
      const step = request.onStep ?? (() => {});
      const card = await this.#selectToWrite(request.uid, since);
      const uid = fromHex(card.uid);
      const keys = deriveCardKeys(request.siteKey, uid);
      const writes = issueWrites(request.siteKey, uid, { siteId: request.siteId, tagNumber: request.tagNumber, issueCounter: request.issueCounter });
      step('authenticating', 0);
      const candidates = [TRANSPORT_KEY_A, { type: 'B', key: keys.keyB } as const];
      if (!(await this.#openSector(uid, candidates, since))) {
        throw new EncoderError(
          'foreign_card',
          `This card (UID ${card.uid}) is locked with keys of another site or system: neither the transport key nor this site's key opens its credential sector. Use a blank card, or erase it where it was issued.`,
        );
      }
      await this.#writeSector(uid, writes, candidates, since, (n) => step('writing', n));
      step('verifying', 4);
      const data = await this.#readCredential(uid, { type: 'A', key: keys.keyA }, since);
      const check = verifyCredential(request.siteKey, request.siteId, uid, data, { tagNumber: request.tagNumber });
      if (!check.ok || check.credential.issueCounter !== request.issueCounter) {
        const why = check.ok ? `issue ${check.credential.issueCounter} instead of ${request.issueCounter}` : check.message;
        throw new EncoderError('verify_failed', `The card did not read back what was written (${why}). Encode it again.`);
      }
      return reading(card, check);
    });
  }

  erase(siteKey: Uint8Array, uidHex: string): Promise<void> {
    return this.#serial(async () => {
      const since = this.#removals;
      const card = await this.#selectToWrite(uidHex, since);
      const uid = fromHex(card.uid);
      // Transport key A as well: a card whose issue was interrupted still has it, and its sector is cleaned the same way.
      const candidates = [{ type: 'B', key: deriveCardKeys(siteKey, uid).keyB } as const, TRANSPORT_KEY_A];
      if (!(await this.#openSector(uid, candidates, since))) {
        throw new EncoderError('foreign_card', `This card (UID ${card.uid}) was not issued by this site: its credential sector does not open with this site's key.`);
      }
      await this.#writeSector(uid, eraseWrites(), candidates, since, () => {});
      const data = await this.#readCredential(uid, TRANSPORT_KEY_A, since);
      if (data === null || data.some((b) => b !== 0)) {
        throw new EncoderError('verify_failed', 'The card did not read back as erased (transport keys, empty sector). Erase it again.');
      }
    });
  }

  feedback(outcome: 'success' | 'failure'): Promise<void> {
    // One beep with green, or two with red; the LEDs' own state (masks unset) is left as it was.
    const pattern =
      outcome === 'success'
        ? ({ blinkGreen: true, t1Ms: 300, t2Ms: 0, repeat: 1, buzzer: 't1' } as const)
        : ({ blinkRed: true, t1Ms: 200, t2Ms: 200, repeat: 2, buzzer: 't1' } as const);
    return this.#serial(() => this.#acr.led(pattern)).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Releases the reader (unplugged, or shutting down): pending and later calls fail with `detached`. */
  async close(): Promise<void> {
    if (this.#detached) return;
    this.#detached = true;
    this.#unsubscribeSlot();
    this.#card = null;
    this.#emit({ type: 'detached' });
    await this.#acr.reader.close();
  }

  // ---- internals ------------------------------------------------------------------------------------

  #serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      if (this.#detached) throw detachedError();
      try {
        return await job();
      } catch (err) {
        throw this.#asEncoderError(err);
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #emit(change: EncoderChange): void {
    for (const l of [...this.#listeners]) invokeListener(l, change);
  }

  #onSlot(e: SlotEvent): void {
    if (e.type === 'card-placed') {
      void this.refresh().catch(() => undefined);
    } else if (e.type === 'card-removed') {
      this.#removals++;
      if (this.#card) {
        this.#card = null;
        this.#emit({ type: 'card-removed' });
      }
    } else if (e.type === 'error' && e.error instanceof CcidError && e.error.code === 'transfer_failed') {
      // The interrupt pipe is dead (unplugged): no card change would ever be seen again.
      void this.close();
    }
  }

  /** The card on the reader now, reported as placed if it is new; null when there is none. */
  async #identifyPlaced(): Promise<PresentedCard | null> {
    const since = this.#removals;
    let card: PresentedCard | null;
    try {
      card = await this.#identify();
    } catch (err) {
      if (!isNoCard(err)) throw err;
      card = null;
    }
    if (since !== this.#removals) return this.#card;
    const changed = card?.uid !== this.#card?.uid;
    this.#card = card;
    if (changed) this.#emit(card ? { type: 'card-placed', card } : { type: 'card-removed' });
    return card;
  }

  async #identify(): Promise<PresentedCard> {
    const info = await this.#acr.identify();
    return { uid: toHex(info.uid), card_type: cardTypeOf(info.type) };
  }

  /** Selects the card again (power on, read the UID): a failed authentication leaves a real card halted. */
  async #select(expectedUid: string | null, since: number): Promise<PresentedCard> {
    this.#checkStillThere(since);
    let card: PresentedCard;
    try {
      card = await this.#identify();
    } catch (err) {
      if (!isNoCard(err)) throw err;
      if (expectedUid === null) throw new EncoderError('no_card', 'There is no card on the encoder.');
      throw removedError();
    }
    if (expectedUid !== null && card.uid !== expectedUid.toUpperCase()) {
      throw new EncoderError('card_removed', `Another card (UID ${card.uid}) lies on the encoder instead of the one being encoded (UID ${expectedUid.toUpperCase()}).`);
    }
    return card;
  }

  async #selectToWrite(uidHex: string, since: number): Promise<PresentedCard> {
    const card = await this.#select(uidHex, since);
    if (!canCarryCredential(card.card_type)) {
      throw new EncoderError('not_supported', `This is ${CARD_NAMES[card.card_type]}, which cannot carry a Gatehouse credential: use a MIFARE Classic 1K or 4K card.`);
    }
    return card;
  }

  #checkStillThere(since: number): void {
    if (since !== this.#removals) throw removedError();
  }

  /** The first key that opens the credential sector, trying the list again up to `stepRetries` times; null when none does. */
  async #openSector(uid: Uint8Array, candidates: readonly SectorKey[], since: number): Promise<SectorKey | null> {
    const expected = toHex(uid);
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      for (const c of candidates) {
        // A wrong key and a bad CRC both answer 63 00, so each key gets every attempt.
        await this.#select(expected, since);
        try {
          await this.#acr.loadKey(0, c.key);
          await this.#acr.authenticate(FIRST_BLOCK, c.type, 0);
          return c;
        } catch (err) {
          if (!isCardRefusal(err)) throw err;
        }
      }
    }
    return null;
  }

  /**
   * Writes the data blocks, then the trailer. A refused write is tried again after authenticating
   * anew: writing a whole block twice is harmless, and after a trailer write that did land the
   * sector opens with the new keys, which are among the candidates.
   */
  async #writeSector(uid: Uint8Array, writes: SectorWrites, candidates: readonly SectorKey[], since: number, written: (n: number) => void): Promise<void> {
    let n = 0;
    written(n);
    for (const w of [...writes.data, writes.trailer]) {
      await this.#retrying(since, `write to block ${w.block}`, () => this.#acr.updateBinary(w.block, w.data), () => this.#openSector(uid, candidates, since));
      written(++n);
    }
  }

  /** Blocks 4–6 read with `key`, or null when the sector does not open with it. */
  async #readCredential(uid: Uint8Array, key: SectorKey, since: number): Promise<Uint8Array | null> {
    if (!(await this.#openSector(uid, [key], since))) return null;
    const out = new Uint8Array(48);
    for (let i = 0; i < 3; i++) {
      const block = FIRST_BLOCK + i;
      const data = await this.#retrying(since, `read of block ${block}`, () => this.#acr.readBinary(block), () => this.#openSector(uid, [key], since));
      out.set(data, 16 * i);
    }
    return out;
  }

  /** `step` again after `reopen` (authenticating anew: the card dropped it) while the card refuses it, a bounded number of times. */
  async #retrying<T>(since: number, what: string, step: () => Promise<T>, reopen: () => Promise<unknown>): Promise<T> {
    let last: unknown;
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      if (attempt > 0 && !(await reopen())) break;
      this.#checkStillThere(since);
      try {
        return await step();
      } catch (err) {
        if (!isCardRefusal(err)) throw err;
        last = err;
      }
    }
    this.#checkStillThere(since);
    throw new EncoderError('failed', `The card refused the ${what} again and again. Hold it flat on the encoder and try again.`, { cause: last });
  }

  #asEncoderError(err: unknown): EncoderError {
    if (err instanceof EncoderError) return err;
    if (this.#detached) return detachedError(err);
    if (err instanceof CcidError && err.code === 'transfer_failed' && (unplugged(err) || this.#acr.reader.closed)) return detachedError(err);
    if (isNoCard(err)) return removedError(err);
    return new EncoderError('failed', `The encoder reported a problem (${errorText(err)}). Try again.`, { cause: err });
  }
}

function reading(card: PresentedCard, check: CredentialCheck): CardReading {
  if (check.ok) return { ...card, credential: 'genuine', tag_number: check.credential.tagNumber, issue_counter: check.credential.issueCounter };
  return { ...card, credential: check.reason as CredentialVerdict, tag_number: null, issue_counter: null };
}

/** The reader answered "no card" (or the card went mute): it is no longer in the field. */
function isNoCard(err: unknown): boolean {
  return err instanceof CcidError && err.code === 'command_failed' && err.slotError === NO_CARD_SLOT_ERROR;
}

/** SW 63 00: wrong key, no access, or a garbled exchange with the card; a retry tells them apart. */
function isCardRefusal(err: unknown): boolean {
  return err instanceof ApduError && err.code === 'failed';
}

function unplugged(err: unknown): boolean {
  for (let e = err; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    if (classifyUsbError(e) === 'disconnected') return true;
  }
  return false;
}

function removedError(cause?: unknown): EncoderError {
  return new EncoderError('card_removed', 'The card was taken off the encoder before it was done. Put it back and try again.', { cause });
}

function detachedError(cause?: unknown): EncoderError {
  return new EncoderError('detached', 'The card encoder was unplugged.', { cause });
}
