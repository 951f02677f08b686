// The demo's desk (`serve --demo`): one simulated ACR122U on the fake USB bus and a tray of cards
// beside it, as the core's EncoderTray port sees it. The station opens the simulator like a real
// reader; the tray only moves cards on and off it. The pre-encoded cards are written with the real
// credential code (drivers/mifare/credential.ts), so they read as genuine through the real driver.
import { randomBytes } from 'node:crypto';
import { TRANSPORT_KEY } from '../mifare/access-bits.ts';
import { FIRST_BLOCK, issueWrites } from '../mifare/credential.ts';
import type { EncoderCardType } from '../encoder/card-encoder.ts';
import { encoderIdOf } from '../encoder/station.ts';
import type { FakeUsbBus } from '../transport/fake-webusb.ts';
import { Acr122uSimulator } from './acr122u.ts';
import { DesfireCard, MifareClassicCard, UltralightCard, type CardKind, type VirtualCard } from './cards.ts';

/** The port's TrayCard (core/encoders/ports.ts). */
export interface TrayCard {
  id: string;
  label: string;
  uid: string;
  card_type: EncoderCardType;
  on_encoder: string | null;
}

export interface EncodedDemoCard {
  /** 4 bytes, upper- or lower-case hex: a MIFARE Classic 1K NUID. */
  uid: string;
  tagNumber: string;
  issueCounter: number;
  label: string;
}

export interface DemoTrayOptions {
  bus: FakeUsbBus;
  siteKey: Uint8Array;
  siteId: string;
  encoded: readonly EncodedDemoCard[];
  /** Blank MIFARE Classic 1K cards, default 3. */
  blank?: number;
}

/** The simulator's serial number: the station names it "sim:demo-encoder-1". */
export const DEMO_ENCODER_SERIAL = 'demo-encoder-1';

const CARD_TYPES: Record<CardKind, EncoderCardType> = {
  classic1k: 'mifare_classic_1k',
  classic4k: 'mifare_classic_4k',
  ultralight: 'mifare_ultralight',
  desfire: 'mifare_desfire',
};

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

interface Slot {
  readonly id: string;
  readonly label: string;
  readonly card: VirtualCard;
}

export class DemoTray {
  readonly #simulator: Acr122uSimulator;
  readonly #slots: readonly Slot[];

  constructor(simulator: Acr122uSimulator, slots: readonly Slot[]) {
    this.#simulator = simulator;
    this.#slots = slots;
  }

  /** The id the station gives the simulated encoder. */
  get encoderId(): string {
    return encoderIdOf(this.#simulator.device, true);
  }

  cards(): TrayCard[] {
    const onIt = this.#simulator.card;
    return this.#slots.map((s) => ({
      id: s.id,
      label: s.label,
      uid: toHex(s.card.uid),
      card_type: CARD_TYPES[s.card.kind],
      on_encoder: s.card === onIt ? this.encoderId : null,
    }));
  }

  place(cardId: string, encoderId: string): void {
    this.#checkEncoder(encoderId);
    const slot = this.#slots.find((s) => s.id === cardId);
    if (!slot) throw new Error(`There is no card "${cardId}" in the tray.`);
    // The same card object every time: what was written to it stays written.
    if (this.#simulator.card !== slot.card) this.#simulator.place(slot.card);
  }

  remove(encoderId: string): void {
    this.#checkEncoder(encoderId);
    this.#simulator.remove();
  }

  #checkEncoder(encoderId: string): void {
    if (encoderId !== this.encoderId) throw new Error(`There is no simulated encoder "${encoderId}" (the demo's is "${this.encoderId}").`);
  }
}

/** Plugs one simulated ACR122U into `bus` and lays out the tray's cards beside it. */
export function createDemoTray(o: DemoTrayOptions): { simulator: Acr122uSimulator; tray: DemoTray } {
  const taken = new Set<string>();
  const claim = (uid: Uint8Array): Uint8Array => {
    const hex = toHex(uid);
    if (taken.has(hex)) throw new RangeError(`two demo cards have the UID ${hex}`);
    taken.add(hex);
    return uid;
  };
  const encoded = o.encoded.map((e, i): Slot => {
    const uid = Uint8Array.from(Buffer.from(e.uid, 'hex'));
    if (uid.length !== 4 || toHex(uid) !== e.uid.toUpperCase()) throw new RangeError(`an encoded demo card needs a 4-byte UID in hex, not ${JSON.stringify(e.uid)}`);
    claim(uid);
    const card = new MifareClassicCard('classic1k', { uid });
    writeCredential(card, issueWrites(o.siteKey, uid, { siteId: o.siteId, tagNumber: e.tagNumber, issueCounter: e.issueCounter }));
    return { id: `encoded-${i + 1}`, label: e.label, card };
  });
  // A fresh random NUID that is neither a random-ID marker (08) nor a cascade tag (88), as issued cards have.
  const nuid = (): Uint8Array => {
    for (;;) {
      const uid = new Uint8Array(randomBytes(4));
      if (uid[0] !== 0x08 && uid[0] !== 0x88 && !taken.has(toHex(uid))) return claim(uid);
    }
  };
  const nxpUid7 = (): Uint8Array => {
    for (;;) {
      const uid = Uint8Array.from([0x04, ...randomBytes(6)]);
      if (!taken.has(toHex(uid))) return claim(uid);
    }
  };
  const blanks = Array.from({ length: o.blank ?? 3 }, (_, i): Slot => ({ id: `blank-${i + 1}`, label: `Blank card ${i + 1}`, card: new MifareClassicCard('classic1k', { uid: nuid() }) }));
  const others: Slot[] = [
    {
      id: 'hotel',
      label: 'Hotel key card (another system)',
      card: new MifareClassicCard('classic1k', { uid: nuid(), keyA: foreignKey(), keyB: foreignKey() }),
    },
    { id: 'transit', label: 'Transit ticket', card: new UltralightCard(nxpUid7()) },
    { id: 'desfire', label: 'Campus card (DESFire)', card: new DesfireCard(nxpUid7()) },
  ];
  const simulator = new Acr122uSimulator({ serialNumber: DEMO_ENCODER_SERIAL });
  o.bus.plug(simulator.device);
  return { simulator, tray: new DemoTray(simulator, [...blanks, ...encoded, ...others]) };
}

/** Issues a credential on a card as the encoder would: transport key A, data blocks, trailer last. */
function writeCredential(card: MifareClassicCard, writes: ReturnType<typeof issueWrites>): void {
  if (!card.authenticate(FIRST_BLOCK, 'A', TRANSPORT_KEY).ok) throw new Error('a new demo card refused the transport key');
  for (const w of [...writes.data, writes.trailer]) {
    const r = card.write(w.block, w.data);
    if (!r.ok) throw new Error(`a demo card refused block ${w.block}: ${r.reason}`);
  }
  card.reset();
}

function foreignKey(): Uint8Array {
  for (;;) {
    const key = new Uint8Array(randomBytes(6));
    if (key.some((b) => b !== 0xff)) return key;
  }
}
