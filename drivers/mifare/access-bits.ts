// MIFARE Classic access conditions (hardware.md §2.5, NXP MF1S50 datasheet Fig 10 and its tables):
// three bits C1 C2 C3 for each of a sector's blocks 0, 1, 2 and its trailer (3), stored in trailer
// bytes 6..8 once plain and once inverted:
//
//   byte 6 = ~C2₃ ~C2₂ ~C2₁ ~C2₀ | ~C1₃ ~C1₂ ~C1₁ ~C1₀
//   byte 7 =  C1₃  C1₂  C1₁  C1₀ | ~C3₃ ~C3₂ ~C3₁ ~C3₀
//   byte 8 =  C3₃  C3₂  C3₁  C3₀ |  C2₃  C2₂  C2₁  C2₀
//
// A card that finds the inverted copy wrong blocks the whole sector for good, and a consistent
// trailer can still lock every key out of rewriting the sector. So nothing writes a trailer without
// `checkTrailer` (or `trailerBlock`, which calls it) passing it for the policy the sector is meant to have.

/** C1C2C3 of one block as a 3-bit number, C1 the high bit (the datasheet's reading order: 011 = C1 0, C2 1, C3 1). */
export type Condition = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;
/** Conditions of data blocks 0, 1, 2 and of the trailer. */
export type AccessConditions = readonly [Condition, Condition, Condition, Condition];

export const TRAILER_LENGTH = 16;
/** The access bytes a card ships with: data blocks 000, trailer 001 (key A rewrites everything, key B readable). */
export const TRANSPORT_ACCESS: AccessConditions = [0, 0, 0, 1];
/** Transport keys: FF…FF for both. */
export const TRANSPORT_KEY = new Uint8Array(6).fill(0xff);
/** The user byte (byte 9) written with every trailer: the transport value. */
export const DEFAULT_USER_BYTE = 0x69;

const nib = (c: AccessConditions, bit: 0 | 1 | 2) => {
  // bit 0 = C1, 1 = C2, 2 = C3; nibble bit i = block i.
  let n = 0;
  for (let block = 0; block < 4; block++) if ((c[block]! >> (2 - bit)) & 1) n |= 1 << block;
  return n;
};

/** The three access bytes (trailer bytes 6, 7, 8) for the given conditions. */
export function encodeAccessBits(c: AccessConditions): Uint8Array {
  const c1 = nib(c, 0);
  const c2 = nib(c, 1);
  const c3 = nib(c, 2);
  return Uint8Array.from([((~c2 & 0xf) << 4) | (~c1 & 0xf), (c1 << 4) | (~c3 & 0xf), (c3 << 4) | c2]);
}

/** The conditions in three access bytes, or null when their inverted copies disagree (a card would block the sector). */
export function decodeAccessBits(b: Uint8Array): AccessConditions | null {
  if (b.length !== 3) throw new RangeError(`access bits are 3 bytes, not ${b.length}`);
  const c1 = b[1]! >> 4;
  const c2 = b[2]! & 0xf;
  const c3 = b[2]! >> 4;
  if ((~c1 & 0xf) !== (b[0]! & 0xf) || (~c2 & 0xf) !== b[0]! >> 4 || (~c3 & 0xf) !== (b[1]! & 0xf)) return null;
  const cond = (block: number) => ((((c1 >> block) & 1) << 2) | (((c2 >> block) & 1) << 1) | ((c3 >> block) & 1)) as Condition;
  return [cond(0), cond(1), cond(2), cond(3)];
}

type Who = 'never' | 'A' | 'B' | 'AB';
const hasA = (w: Who) => w === 'A' || w === 'AB';
const hasB = (w: Who) => w === 'B' || w === 'AB';

/** What the trailer's condition allows (datasheet table "access conditions for the sector trailer"). */
export interface TrailerRights {
  keyARead: Who;
  keyAWrite: Who;
  bitsRead: Who;
  bitsWrite: Who;
  keyBRead: Who;
  keyBWrite: Who;
}
const TRAILER_TABLE: Record<Condition, TrailerRights> = {
  0: { keyARead: 'never', keyAWrite: 'A', bitsRead: 'A', bitsWrite: 'never', keyBRead: 'A', keyBWrite: 'A' },
  2: { keyARead: 'never', keyAWrite: 'never', bitsRead: 'A', bitsWrite: 'never', keyBRead: 'A', keyBWrite: 'never' },
  4: { keyARead: 'never', keyAWrite: 'B', bitsRead: 'AB', bitsWrite: 'never', keyBRead: 'never', keyBWrite: 'B' },
  6: { keyARead: 'never', keyAWrite: 'never', bitsRead: 'AB', bitsWrite: 'never', keyBRead: 'never', keyBWrite: 'never' },
  1: { keyARead: 'never', keyAWrite: 'A', bitsRead: 'A', bitsWrite: 'A', keyBRead: 'A', keyBWrite: 'A' },
  3: { keyARead: 'never', keyAWrite: 'B', bitsRead: 'AB', bitsWrite: 'B', keyBRead: 'never', keyBWrite: 'B' },
  5: { keyARead: 'never', keyAWrite: 'never', bitsRead: 'AB', bitsWrite: 'B', keyBRead: 'never', keyBWrite: 'never' },
  7: { keyARead: 'never', keyAWrite: 'never', bitsRead: 'AB', bitsWrite: 'never', keyBRead: 'never', keyBWrite: 'never' },
};
export const trailerRights = (c: Condition): TrailerRights => TRAILER_TABLE[c];

/** What a data block's condition allows (datasheet table "access conditions for data blocks"). */
export interface DataRights {
  read: Who;
  write: Who;
  increment: Who;
  /** Decrement, transfer, restore. */
  decrement: Who;
}
const DATA_TABLE: Record<Condition, DataRights> = {
  0: { read: 'AB', write: 'AB', increment: 'AB', decrement: 'AB' },
  2: { read: 'AB', write: 'never', increment: 'never', decrement: 'never' },
  4: { read: 'AB', write: 'B', increment: 'never', decrement: 'never' },
  6: { read: 'AB', write: 'B', increment: 'B', decrement: 'AB' },
  1: { read: 'AB', write: 'never', increment: 'never', decrement: 'AB' },
  3: { read: 'B', write: 'B', increment: 'never', decrement: 'never' },
  5: { read: 'B', write: 'never', increment: 'never', decrement: 'never' },
  7: { read: 'never', write: 'never', increment: 'never', decrement: 'never' },
};
export const dataRights = (c: Condition): DataRights => DATA_TABLE[c];

/**
 * What a trailer is for:
 * - `credential`: the application sector. Key B (the encoder) alone rewrites keys, access bits and
 *   data; key A (the locks) only reads the data blocks. Exactly data 100 and trailer 011 (`78 77 88`).
 * - `transport`: a blank sector as shipped (erase): `FF 07 80`, key A rewrites everything.
 */
export type TrailerPolicy = 'credential' | 'transport';

export type TrailerProblem =
  /** The trailer is not 16 bytes. */
  | 'length'
  /** The inverted copies disagree: the card would block the sector irreversibly. */
  | 'inconsistent'
  /** No key could ever write the access bits again: the sector's conditions would be frozen. */
  | 'bricks'
  /** Key B could not rewrite the keys and the access bits (so the sector could not be erased back to transport). */
  | 'key_b_locked_out'
  /** Key A could write (or decrement) a data block, but the credential must be B-only. */
  | 'key_a_writes_data'
  /** Key A could not read a data block, but the locks read the credential with key A. */
  | 'key_a_cannot_read'
  /** Key B could not rewrite a data block, so the credential could never be reissued. */
  | 'key_b_cannot_write_data'
  /** Key B is readable with key A: the card then refuses key B for authentication. */
  | 'key_b_readable'
  /** Key A and key B are the same: key A would carry key B's rights. */
  | 'same_keys'
  /** Consistent and safe, but not what the policy asks for (transport is exactly FF 07 80). */
  | 'not_transport';

export type TrailerCheck = { ok: true; conditions: AccessConditions } | { ok: false; problem: TrailerProblem; message: string };

const MESSAGES: Record<TrailerProblem, string> = {
  length: 'a sector trailer is 16 bytes',
  inconsistent: 'the access bits and their inverted copy disagree: the card would block the sector for good',
  bricks: 'no key could ever rewrite these access bits: the sector would be frozen',
  key_b_locked_out: 'key B could not rewrite the keys and access bits: the sector could never be erased',
  key_a_writes_data: 'key A could modify a credential block: the credential must be writable with key B only',
  key_a_cannot_read: 'key A could not read a credential block: the locks read it with key A',
  key_b_cannot_write_data: 'key B could not rewrite a credential block: the card could never be reissued',
  key_b_readable: 'key B would be readable, and a readable key B cannot authenticate',
  same_keys: 'key A and key B must differ',
  not_transport: 'a transport trailer has access bits FF 07 80',
};

/** Why the access conditions alone are unfit for the policy, or null. */
export function conditionsProblem(c: AccessConditions, policy: TrailerPolicy): TrailerProblem | null {
  const t = trailerRights(c[3]);
  if (t.bitsWrite === 'never') return 'bricks';
  if (policy === 'transport') return c[0] === 0 && c[1] === 0 && c[2] === 0 && c[3] === 1 ? null : 'not_transport';
  if (hasA(t.keyBRead)) return 'key_b_readable';
  if (!(hasB(t.bitsWrite) && hasB(t.keyBWrite) && hasB(t.keyAWrite))) return 'key_b_locked_out';
  for (let block = 0; block < 3; block++) {
    const d = dataRights(c[block]!);
    if (hasA(d.write) || hasA(d.increment) || hasA(d.decrement)) return 'key_a_writes_data';
  }
  for (let block = 0; block < 3; block++) if (!hasA(dataRights(c[block]!).read)) return 'key_a_cannot_read';
  for (let block = 0; block < 3; block++) if (!hasB(dataRights(c[block]!).write)) return 'key_b_cannot_write_data';
  return null;
}

/** Whether a 16-byte trailer (key A | access bits | user byte | key B) may be written for the policy. */
export function checkTrailer(trailer: Uint8Array, policy: TrailerPolicy): TrailerCheck {
  const fail = (problem: TrailerProblem): TrailerCheck => ({ ok: false, problem, message: MESSAGES[problem] });
  if (trailer.length !== TRAILER_LENGTH) return fail('length');
  const conditions = decodeAccessBits(trailer.subarray(6, 9));
  if (!conditions) return fail('inconsistent');
  const problem = conditionsProblem(conditions, policy);
  if (problem) return fail(problem);
  if (policy === 'credential' && Buffer.from(trailer.subarray(0, 6)).equals(Buffer.from(trailer.subarray(10, 16)))) return fail('same_keys');
  return { ok: true, conditions };
}

export class TrailerError extends Error {
  override readonly name = 'TrailerError';
  constructor(
    readonly problem: TrailerProblem,
    message: string,
  ) {
    super(message);
  }
}

/** A checked trailer block: throws a TrailerError rather than build one that fails `checkTrailer`. */
export function trailerBlock(keyA: Uint8Array, conditions: AccessConditions, keyB: Uint8Array, policy: TrailerPolicy, userByte = DEFAULT_USER_BYTE): Uint8Array {
  if (keyA.length !== 6 || keyB.length !== 6) throw new RangeError('MIFARE Classic keys are 6 bytes');
  const t = new Uint8Array(TRAILER_LENGTH);
  t.set(keyA, 0);
  t.set(encodeAccessBits(conditions), 6);
  t[9] = userByte & 0xff;
  t.set(keyB, 10);
  const check = checkTrailer(t, policy);
  if (!check.ok) throw new TrailerError(check.problem, `refusing to write this sector trailer: ${check.message}`);
  return t;
}

/** The application sector's conditions: data blocks 100 (read A|B, write B), trailer 011 (B rewrites everything). */
export const CREDENTIAL_ACCESS: AccessConditions = [4, 4, 4, 3];
