// Virtual contactless cards for the ACR122U simulator. They follow the card's own rules, not the
// reader's: MIFARE Classic authenticates one sector at a time with key A or B and enforces the access
// bits of that sector's trailer on every read, write and authentication; a failed command drops the
// authentication (the real card goes to HALT and must be selected again). Ultralight has no keys:
// pages, lock bits and a one-time-programmable page. DESFire is only recognised (UID, ATS).
//
// This model is deliberately independent of drivers/mifare (the encoder's own access-bit code), so the
// two check each other. Sources: NXP MF1S50 / MF1S70 datasheets, MF0ICU1 (Ultralight), summarised in
// shared/reference/hardware.md §2.5.

export type CardKind = 'classic1k' | 'classic4k' | 'ultralight' | 'desfire';
export type KeyType = 'A' | 'B';

export const DEFAULT_KEY = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
/** Transport configuration: data blocks 000, trailer 001 (key A writes everything, key B readable). */
export const TRANSPORT_ACCESS = Uint8Array.of(0xff, 0x07, 0x80, 0x69);

export interface VirtualCard {
  readonly kind: CardKind;
  /** As the card sends it in anticollision (byte 0 first); 4 bytes (Classic NUID) or 7 (Ultralight, DESFire). */
  readonly uid: Uint8Array;
  /** SEL_RES: 0x08 1K, 0x18 4K, 0x00 Ultralight, 0x20 DESFire. */
  readonly sak: number;
  /** ISO 14443-4 historical bytes (DESFire) for the ATR; empty for part-3 cards. */
  readonly historicalBytes: Uint8Array;
  /** The card left the RF field or was selected again: volatile state (authentication) is gone. */
  reset(): void;
}

/** Outcome of a card operation; 'nak' is what the card answers (4-bit NAK) or its silence. */
export type CardResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): CardResult<T> => ({ ok: true, value });
const nak = <T>(reason: string): CardResult<T> => ({ ok: false, reason });

// ---- access bits --------------------------------------------------------------------------------

/** C1C2C3 of blocks 0,1,2 and the trailer (index 3) of a sector, or null when the bytes are inconsistent. */
export function decodeAccessBits(b6: number, b7: number, b8: number): number[] | null {
  const c1 = (b7 >> 4) & 0x0f;
  const c2 = b8 & 0x0f;
  const c3 = (b8 >> 4) & 0x0f;
  const nc1 = b6 & 0x0f;
  const nc2 = (b6 >> 4) & 0x0f;
  const nc3 = b7 & 0x0f;
  if ((c1 ^ nc1) !== 0x0f || (c2 ^ nc2) !== 0x0f || (c3 ^ nc3) !== 0x0f) return null;
  const out: number[] = [];
  for (let i = 0; i < 4; i++) out.push((((c1 >> i) & 1) << 2) | (((c2 >> i) & 1) << 1) | ((c3 >> i) & 1));
  return out;
}

/** The three access bytes for C1C2C3 of blocks 0,1,2 and the trailer. */
export function encodeAccessBits(bits: readonly number[]): Uint8Array {
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  for (let i = 0; i < 4; i++) {
    const b = bits[i] ?? 0;
    c1 |= ((b >> 2) & 1) << i;
    c2 |= ((b >> 1) & 1) << i;
    c3 |= (b & 1) << i;
  }
  return Uint8Array.of(((~c2 & 0x0f) << 4) | (~c1 & 0x0f), (c1 << 4) | (~c3 & 0x0f), (c3 << 4) | c2);
}

type Who = 'never' | 'A' | 'B' | 'AB';
const can = (who: Who, key: KeyType): boolean => who === 'AB' || who === key;

/** Data block rights by C1C2C3: [read, write]. Increment/decrement are not modelled (the encoder does not use value blocks). */
const DATA_RIGHTS: Record<number, readonly [Who, Who]> = {
  0b000: ['AB', 'AB'],
  0b010: ['AB', 'never'],
  0b100: ['AB', 'B'],
  0b110: ['AB', 'B'],
  0b001: ['AB', 'never'],
  0b011: ['B', 'B'],
  0b101: ['B', 'never'],
  0b111: ['never', 'never'],
};

/** Trailer rights by C1C2C3: key A write, access bits read, access bits write, key B read, key B write (key A is never readable). */
const TRAILER_RIGHTS: Record<number, { keyAW: Who; accR: Who; accW: Who; keyBR: Who; keyBW: Who }> = {
  0b000: { keyAW: 'A', accR: 'A', accW: 'never', keyBR: 'A', keyBW: 'A' },
  0b010: { keyAW: 'never', accR: 'A', accW: 'never', keyBR: 'A', keyBW: 'never' },
  0b100: { keyAW: 'B', accR: 'AB', accW: 'never', keyBR: 'never', keyBW: 'B' },
  0b110: { keyAW: 'never', accR: 'AB', accW: 'never', keyBR: 'never', keyBW: 'never' },
  0b001: { keyAW: 'A', accR: 'A', accW: 'A', keyBR: 'A', keyBW: 'A' },
  0b011: { keyAW: 'B', accR: 'AB', accW: 'B', keyBR: 'never', keyBW: 'B' },
  0b101: { keyAW: 'never', accR: 'AB', accW: 'B', keyBR: 'never', keyBW: 'never' },
  0b111: { keyAW: 'never', accR: 'AB', accW: 'never', keyBR: 'never', keyBW: 'never' },
};

// ---- MIFARE Classic -----------------------------------------------------------------------------

export interface ClassicOptions {
  readonly uid?: Uint8Array;
  /** Key A and B of every sector at delivery; default FF…FF. */
  readonly keyA?: Uint8Array;
  readonly keyB?: Uint8Array;
}

export class MifareClassicCard implements VirtualCard {
  readonly kind: 'classic1k' | 'classic4k';
  readonly uid: Uint8Array;
  readonly sak: number;
  readonly historicalBytes = new Uint8Array(0);
  readonly blockCount: number;
  readonly #blocks: Uint8Array[];
  /** Sectors whose trailer was written with inconsistent access bits: irreversibly blocked. */
  readonly #blocked = new Set<number>();
  #auth: { sector: number; key: KeyType } | null = null;

  constructor(kind: 'classic1k' | 'classic4k' = 'classic1k', o: ClassicOptions = {}) {
    this.kind = kind;
    this.sak = kind === 'classic1k' ? 0x08 : 0x18;
    this.uid = (o.uid ?? Uint8Array.of(0xde, 0xad, 0xbe, 0xef)).slice();
    if (this.uid.length !== 4) throw new Error('a MIFARE Classic NUID is 4 bytes');
    this.blockCount = kind === 'classic1k' ? 64 : 256;
    this.#blocks = Array.from({ length: this.blockCount }, () => new Uint8Array(16));
    const b0 = this.#blocks[0]!;
    b0.set(this.uid, 0);
    b0[4] = this.uid[0]! ^ this.uid[1]! ^ this.uid[2]! ^ this.uid[3]!;
    b0[5] = this.sak;
    b0.set([0x04, 0x00], 6);
    b0.set([0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69], 8);
    for (let s = 0; s < this.sectorCount; s++) {
      const t = this.#blocks[trailerBlock(s)]!;
      t.set(o.keyA ?? DEFAULT_KEY, 0);
      t.set(TRANSPORT_ACCESS, 6);
      t.set(o.keyB ?? DEFAULT_KEY, 10);
    }
  }

  get sectorCount(): number {
    return this.kind === 'classic1k' ? 16 : 40;
  }

  /** The sector and key of the current authentication, if any. */
  get authenticated(): { sector: number; key: KeyType } | null {
    return this.#auth;
  }

  reset(): void {
    this.#auth = null;
  }

  isBlocked(sector: number): boolean {
    return this.#blocked.has(sector);
  }

  /** Memory as stored, keys included (for tests: what an attacker with the silicon would see). */
  raw(block: number): Uint8Array {
    return this.#blocks[block]!.slice();
  }

  authenticate(block: number, key: KeyType, keyBytes: Uint8Array): CardResult<void> {
    this.#auth = null;
    if (!Number.isInteger(block) || block < 0 || block >= this.blockCount) return nak(`block ${block} does not exist`);
    const sector = sectorOf(block);
    if (this.#blocked.has(sector)) return nak(`sector ${sector} is blocked (bad access bits were written)`);
    const t = this.#blocks[trailerBlock(sector)]!;
    const bits = decodeAccessBits(t[6]!, t[7]!, t[8]!);
    if (bits === null) return nak(`sector ${sector} access bits are inconsistent`);
    const stored = key === 'A' ? t.subarray(0, 6) : t.subarray(10, 16);
    if (key === 'B' && TRAILER_RIGHTS[bits[3]!]!.keyBR !== 'never') {
      return nak(`key B of sector ${sector} is readable, so it cannot authenticate`);
    }
    if (!equal(stored, keyBytes)) return nak(`wrong key ${key} for sector ${sector}`);
    this.#auth = { sector, key };
    return ok(undefined);
  }

  read(block: number): CardResult<Uint8Array> {
    const check = this.#rights(block);
    if (!check.ok) return this.#fail(check.reason);
    const { key, bits, offset } = check.value;
    const data = this.#blocks[block]!.slice();
    if (offset === blocksInSector(sectorOf(block)) - 1) {
      const r = TRAILER_RIGHTS[bits[3]!]!;
      data.fill(0, 0, 6); // key A never reads back
      if (!can(r.accR, key)) data.fill(0, 6, 10);
      if (!can(r.keyBR, key)) data.fill(0, 10, 16);
      return ok(data);
    }
    if (!can(DATA_RIGHTS[bits[groupOf(block)]!]![0], key)) return this.#fail(`key ${key} may not read block ${block}`);
    return ok(data);
  }

  write(block: number, data: Uint8Array): CardResult<void> {
    if (data.length !== 16) return this.#fail(`a block is 16 bytes, not ${data.length}`);
    const check = this.#rights(block);
    if (!check.ok) return this.#fail(check.reason);
    const { key, bits, offset } = check.value;
    if (block === 0) return this.#fail('block 0 (manufacturer data) is read-only');
    const sector = sectorOf(block);
    const stored = this.#blocks[block]!;
    if (offset === blocksInSector(sector) - 1) {
      const r = TRAILER_RIGHTS[bits[3]!]!;
      const keyA = can(r.keyAW, key);
      const acc = can(r.accW, key);
      const keyB = can(r.keyBW, key);
      if (!keyA && !acc && !keyB) return this.#fail(`key ${key} may not write the trailer of sector ${sector}`);
      if (keyA) stored.set(data.subarray(0, 6), 0);
      if (acc) {
        stored.set(data.subarray(6, 10), 6);
        if (decodeAccessBits(data[6]!, data[7]!, data[8]!) === null) {
          this.#blocked.add(sector);
          this.#auth = null;
        }
      }
      if (keyB) stored.set(data.subarray(10, 16), 10);
      return ok(undefined);
    }
    if (!can(DATA_RIGHTS[bits[groupOf(block)]!]![1], key)) return this.#fail(`key ${key} may not write block ${block}`);
    stored.set(data);
    return ok(undefined);
  }

  #rights(block: number): CardResult<{ key: KeyType; bits: number[]; offset: number }> {
    if (!Number.isInteger(block) || block < 0 || block >= this.blockCount) return nak(`block ${block} does not exist`);
    const sector = sectorOf(block);
    if (this.#auth === null) return nak('not authenticated');
    if (this.#auth.sector !== sector) return nak(`authenticated for sector ${this.#auth.sector}, not sector ${sector}`);
    if (this.#blocked.has(sector)) return nak(`sector ${sector} is blocked`);
    const t = this.#blocks[trailerBlock(sector)]!;
    const bits = decodeAccessBits(t[6]!, t[7]!, t[8]!);
    if (bits === null) return nak(`sector ${sector} access bits are inconsistent`);
    return ok({ key: this.#auth.key, bits, offset: block - firstBlock(sector) });
  }

  #fail<T>(reason: string): CardResult<T> {
    this.#auth = null; // the card NAKs and halts: a new authentication is needed
    return nak(reason);
  }
}

/** Sector of a block: 1K and the first 2K of a 4K have 4-block sectors, the rest of a 4K 16-block sectors. */
export function sectorOf(block: number): number {
  return block < 128 ? block >> 2 : 32 + ((block - 128) >> 4);
}

export function firstBlock(sector: number): number {
  return sector < 32 ? sector * 4 : 128 + (sector - 32) * 16;
}

export function blocksInSector(sector: number): number {
  return sector < 32 ? 4 : 16;
}

export function trailerBlock(sector: number): number {
  return firstBlock(sector) + blocksInSector(sector) - 1;
}

/** Which access-bit group (0, 1, 2; 3 = trailer) governs a block. 16-block sectors: groups of 5 blocks. */
function groupOf(block: number): number {
  const sector = sectorOf(block);
  const offset = block - firstBlock(sector);
  if (blocksInSector(sector) === 4) return offset;
  return offset === 15 ? 3 : Math.floor(offset / 5);
}

// ---- MIFARE Ultralight ---------------------------------------------------------------------------

export class UltralightCard implements VirtualCard {
  readonly kind = 'ultralight' as const;
  readonly uid: Uint8Array;
  readonly sak = 0x00;
  readonly historicalBytes = new Uint8Array(0);
  readonly #pages: Uint8Array[];

  constructor(uid: Uint8Array = Uint8Array.of(0x04, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc)) {
    if (uid.length !== 7) throw new Error('an Ultralight UID is 7 bytes');
    this.uid = uid.slice();
    this.#pages = Array.from({ length: 16 }, () => new Uint8Array(4));
    const bcc0 = 0x88 ^ uid[0]! ^ uid[1]! ^ uid[2]!;
    const bcc1 = uid[3]! ^ uid[4]! ^ uid[5]! ^ uid[6]!;
    this.#pages[0]!.set([uid[0]!, uid[1]!, uid[2]!, bcc0]);
    this.#pages[1]!.set(uid.subarray(3, 7));
    this.#pages[2]!.set([bcc1, 0x48, 0x00, 0x00]);
  }

  reset(): void {}

  /** READ: four pages from `page`, wrapping from 15 to 0, as the card does. */
  read(page: number): CardResult<Uint8Array> {
    if (!Number.isInteger(page) || page < 0 || page > 15) return nak(`page ${page} does not exist`);
    const out = new Uint8Array(16);
    for (let i = 0; i < 4; i++) out.set(this.#pages[(page + i) % 16]!, i * 4);
    return ok(out);
  }

  /** WRITE one page: pages 0-1 are read-only; page 2 only ORs lock bits; page 3 (OTP) only ORs; locked pages refuse. */
  write(page: number, data: Uint8Array): CardResult<void> {
    if (data.length !== 4) return nak(`a page is 4 bytes, not ${data.length}`);
    if (!Number.isInteger(page) || page < 0 || page > 15) return nak(`page ${page} does not exist`);
    if (page < 2) return nak(`page ${page} holds the serial number and is read-only`);
    const p = this.#pages[page]!;
    if (page === 2) {
      p[2] = p[2]! | data[2]!;
      p[3] = p[3]! | data[3]!;
      return ok(undefined);
    }
    if (this.isLocked(page)) return nak(`page ${page} is locked`);
    if (page === 3) {
      for (let i = 0; i < 4; i++) p[i] = p[i]! | data[i]!;
      return ok(undefined);
    }
    p.set(data);
    return ok(undefined);
  }

  /** Lock bits: byte 2 bits 3-7 lock pages 3-7, byte 3 bits 0-7 lock pages 8-15. */
  isLocked(page: number): boolean {
    const lock = this.#pages[2]!;
    if (page >= 3 && page <= 7) return ((lock[2]! >> page) & 1) === 1;
    if (page >= 8 && page <= 15) return ((lock[3]! >> (page - 8)) & 1) === 1;
    return page < 3;
  }
}

// ---- DESFire (recognised only) -------------------------------------------------------------------

export class DesfireCard implements VirtualCard {
  readonly kind = 'desfire' as const;
  readonly uid: Uint8Array;
  readonly sak = 0x20;
  /** From the ATS of a DESFire EV1 (as in the ACR122T manual's ATR 3B 86 80 01 06 75 77 81 02 80 00). */
  readonly historicalBytes = Uint8Array.of(0x06, 0x75, 0x77, 0x81, 0x02, 0x80);

  constructor(uid: Uint8Array = Uint8Array.of(0x04, 0x6b, 0x2a, 0x12, 0x34, 0x56, 0x80)) {
    if (uid.length !== 7) throw new Error('a DESFire UID is 7 bytes');
    this.uid = uid.slice();
  }

  reset(): void {}
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
