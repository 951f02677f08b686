// The Gatehouse credential on a MIFARE Classic 1K card: one application sector (sector 1, blocks 4–7),
// its keys diversified per card (kdf.ts), its trailer checked before it is written (access-bits.ts).
//
//   block 4  site fingerprint: SHA-256("gatehouse/site/" + site id), first 16 bytes
//   block 5  'G' 'H' | version 01 | flags 00 | tag number, 10 digits as 5 BCD bytes | issue counter u32 BE | 00 00 00
//   block 6  MAC: AES-CMAC(MAC key, block 4 || block 5 || [UID length] || UID), first 8 bytes | 00 × 8
//   block 7  trailer: key A | 78 77 88 (data: read A|B, write B; trailer: B rewrites all) | 69 | key B
//
// The locks hold key A (read only) and check the MAC; only the encoder, with key B, rewrites the
// sector or erases it back to transport keys and access bits. docs/credentials.md explains the choices.
import { createHash } from 'node:crypto';
import { aesCmac, macEqual } from './aes-cmac.ts';
import { CREDENTIAL_ACCESS, dataRights, decodeAccessBits, TRANSPORT_ACCESS, TRANSPORT_KEY, trailerBlock } from './access-bits.ts';
import { checkUid, deriveCardKeys } from './kdf.ts';

export const CREDENTIAL_SECTOR = 1;
export const FIRST_BLOCK = CREDENTIAL_SECTOR * 4;
export const TRAILER_BLOCK = FIRST_BLOCK + 3;
export const CREDENTIAL_VERSION = 1;
export const MAC_LENGTH = 8;
const MAGIC = [0x47, 0x48]; // 'GH'
const MAX_COUNTER = 0xffff_ffff;

export interface BlockWrite {
  block: number;
  data: Uint8Array;
}

/** What the encoder writes, in order: the three data blocks, then the (checked) trailer. */
export interface SectorWrites {
  sector: number;
  data: BlockWrite[];
  trailer: BlockWrite;
}

export interface CredentialContent {
  siteId: string;
  /** Ten decimal digits. */
  tagNumber: string;
  /** Raised each time the card is (re)issued; a lock may refuse a lower one than its table holds. */
  issueCounter: number;
}

/** The 16 bytes that stand for a site on its cards. */
export function siteFingerprint(siteId: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`gatehouse/site/${siteId}`).digest().subarray(0, 16));
}

function bcd(tagNumber: string): Uint8Array {
  if (!/^\d{10}$/.test(tagNumber)) throw new RangeError(`a tag number is ten digits, not ${JSON.stringify(tagNumber)}`);
  const out = new Uint8Array(5);
  for (let i = 0; i < 5; i++) out[i] = (Number(tagNumber[2 * i]) << 4) | Number(tagNumber[2 * i + 1]);
  return out;
}

function fromBcd(b: Uint8Array): string | null {
  let s = '';
  for (const byte of b) {
    const hi = byte >> 4;
    const lo = byte & 0xf;
    if (hi > 9 || lo > 9) return null;
    s += `${hi}${lo}`;
  }
  return s;
}

function mac(macKey: Uint8Array, block4: Uint8Array, block5: Uint8Array, uid: Uint8Array): Uint8Array {
  return aesCmac(macKey, Uint8Array.from([...block4, ...block5, uid.length, ...uid])).slice(0, MAC_LENGTH);
}

/** The credential's three data blocks (48 bytes) for this card. */
export function credentialBlocks(siteKey: Uint8Array, uid: Uint8Array, c: CredentialContent): Uint8Array {
  checkUid(uid);
  if (!Number.isInteger(c.issueCounter) || c.issueCounter < 0 || c.issueCounter > MAX_COUNTER) throw new RangeError(`the issue counter is a 32-bit unsigned integer, not ${c.issueCounter}`);
  const block4 = siteFingerprint(c.siteId);
  const block5 = new Uint8Array(16);
  block5.set(MAGIC, 0);
  block5[2] = CREDENTIAL_VERSION;
  block5[3] = 0;
  block5.set(bcd(c.tagNumber), 4);
  new DataView(block5.buffer).setUint32(9, c.issueCounter);
  const block6 = new Uint8Array(16);
  block6.set(mac(deriveCardKeys(siteKey, uid).macKey, block4, block5, uid), 0);
  return Uint8Array.from([...block4, ...block5, ...block6]);
}

/** Everything the encoder writes to issue a credential: data blocks, then the trailer with the card's own keys. */
export function issueWrites(siteKey: Uint8Array, uid: Uint8Array, c: CredentialContent): SectorWrites {
  const data = credentialBlocks(siteKey, uid, c);
  const { keyA, keyB } = deriveCardKeys(siteKey, uid);
  return {
    sector: CREDENTIAL_SECTOR,
    data: [0, 1, 2].map((i) => ({ block: FIRST_BLOCK + i, data: data.slice(16 * i, 16 * i + 16) })),
    trailer: { block: TRAILER_BLOCK, data: trailerBlock(keyA, CREDENTIAL_ACCESS, keyB, 'credential') },
  };
}

/** Erase: zero the data blocks and restore transport keys (FF…FF) and transport access bits (FF 07 80). Authenticate with the card's key B. */
export function eraseWrites(): SectorWrites {
  return {
    sector: CREDENTIAL_SECTOR,
    data: [0, 1, 2].map((i) => ({ block: FIRST_BLOCK + i, data: new Uint8Array(16) })),
    trailer: { block: TRAILER_BLOCK, data: trailerBlock(TRANSPORT_KEY, TRANSPORT_ACCESS, TRANSPORT_KEY, 'transport') },
  };
}

export type CredentialRefusal =
  /** No credential: the sector did not open with the card's key A, or holds no Gatehouse credential (blank, erased). */
  | 'credential_missing'
  /** A credential layout this code does not know. */
  | 'credential_unsupported_version'
  /** Issued by another site. */
  | 'credential_wrong_site'
  /** The MAC does not match the content and the card's UID: altered, copied to another card, or made without the site key. */
  | 'credential_forged'
  /** Genuine, but for another tag number than the lock's table has for this UID. */
  | 'credential_tag_mismatch'
  /** Genuine, but an older issue than the table's: a card that was since reissued. */
  | 'credential_stale';

export interface VerifiedCredential {
  version: number;
  tagNumber: string;
  issueCounter: number;
}

export type CredentialCheck = { ok: true; credential: VerifiedCredential } | { ok: false; reason: CredentialRefusal; message: string };

export interface Expected {
  /** The tag number the table has for this UID. */
  tagNumber?: string;
  /** The lowest issue counter the table accepts. */
  minIssueCounter?: number;
}

/**
 * Checks what was read from the credential sector with the card's key A (`null`: authentication or
 * the read failed). The reasons are checked in the order of the type above; any change to the MAC,
 * the tag number, the counter, the reserved bytes or the UID is `credential_forged`.
 */
export function verifyCredential(siteKey: Uint8Array, siteId: string, uid: Uint8Array, data: Uint8Array | null, expected: Expected = {}): CredentialCheck {
  const no = (reason: CredentialRefusal, message: string): CredentialCheck => ({ ok: false, reason, message });
  if (data === null) return no('credential_missing', 'the credential sector did not open with this card’s key A');
  if (data.length !== 48) throw new RangeError(`the credential is 3 blocks (48 bytes), not ${data.length}`);
  checkUid(uid);
  const block4 = data.subarray(0, 16);
  const block5 = data.subarray(16, 32);
  const block6 = data.subarray(32, 48);
  if (block5[0] !== MAGIC[0] || block5[1] !== MAGIC[1]) return no('credential_missing', 'the credential sector holds no Gatehouse credential');
  if (block5[2] !== CREDENTIAL_VERSION) return no('credential_unsupported_version', `credential version ${block5[2]} is not supported`);
  if (!macEqual(block4, siteFingerprint(siteId))) return no('credential_wrong_site', 'the credential was issued by another site');
  const want = mac(deriveCardKeys(siteKey, uid).macKey, block4, block5, uid);
  if (!macEqual(block6.subarray(0, MAC_LENGTH), want) || block6.subarray(MAC_LENGTH).some((b) => b !== 0)) {
    return no('credential_forged', 'the credential’s MAC does not match its content and this card’s UID');
  }
  const tagNumber = fromBcd(block5.subarray(4, 9));
  if (tagNumber === null || block5[3] !== 0 || block5.subarray(13).some((b) => b !== 0)) return no('credential_forged', 'the credential’s content is malformed');
  const issueCounter = new DataView(block5.buffer, block5.byteOffset, 16).getUint32(9);
  if (expected.tagNumber !== undefined && expected.tagNumber !== tagNumber) return no('credential_tag_mismatch', `the credential is for tag ${tagNumber}, the table has ${expected.tagNumber}`);
  if (expected.minIssueCounter !== undefined && issueCounter < expected.minIssueCounter) {
    return no('credential_stale', `the credential is issue ${issueCounter}; the table accepts ${expected.minIssueCounter} or later`);
  }
  return { ok: true, credential: { version: CREDENTIAL_VERSION, tagNumber, issueCounter } };
}

/**
 * What a lock reads from the credential sector as a card holds it (blocks 4–7, 64 bytes; the trailer
 * with its keys, as the card knows them), authenticating with the card's diversified key A: the 48
 * data bytes, or null when key A does not open the sector, the access bits are inconsistent, or they
 * do not let key A read the data blocks. A simulated card's answer; a real reader does the same on the card.
 */
export function readWithKeyA(sector: Uint8Array | null, keyA: Uint8Array): Uint8Array | null {
  if (sector === null || sector.length !== 64) return null;
  const trailer = sector.subarray(48, 64);
  if (!macEqual(trailer.subarray(0, 6), keyA)) return null;
  const conditions = decodeAccessBits(trailer.subarray(6, 9));
  if (!conditions || [0, 1, 2].some((b) => !['A', 'AB'].includes(dataRights(conditions[b]!).read))) return null;
  return sector.slice(0, 48);
}

/** The check a lock makes on a card presented by UID: read with key A, then verify. */
export function checkPresentedCard(siteKey: Uint8Array, siteId: string, uid: Uint8Array, sector: Uint8Array | null, expected: Expected = {}): CredentialCheck {
  return verifyCredential(siteKey, siteId, uid, readWithKeyA(sector, deriveCardKeys(siteKey, uid).keyA), expected);
}

/** The credential sector (64 bytes) of a card after `writes` on a blank one: for simulated cards and tests. */
export function sectorAfter(writes: SectorWrites): Uint8Array {
  const out = new Uint8Array(64);
  for (const w of [...writes.data, writes.trailer]) out.set(w.data, (w.block - FIRST_BLOCK) * 16);
  return out;
}
