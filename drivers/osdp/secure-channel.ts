// The OSDP secure channel (SIA OSDP v2.2 Annex D) the way libosdp implements it (src/osdp_sc.c,
// src/osdp_phy.c), on AES-128 from node:crypto.
//
// Handshake: CP sends osdp_CHLNG with its random RND.A; both sides derive S-ENC, S-MAC1 and S-MAC2
// by encrypting 01 82|01 01|01 02 ‖ RND.A[0..5] ‖ 00×8 under the SCBK; the PD proves the key with the
// client cryptogram AES(S-ENC, RND.A ‖ RND.B) in osdp_CCRYPT, the CP with the server cryptogram
// AES(S-ENC, RND.B ‖ RND.A) in osdp_SCRYPT, and the PD answers osdp_RMAC_I =
// AES(S-MAC2, AES(S-MAC1, server cryptogram)), the seed of the MAC chain.
//
// MAC chain: every later packet's MAC is an AES-CBC-MAC over SOM..last data byte (padded with 0x80
// 00… when not a whole number of blocks), S-MAC1 for all blocks but the last and S-MAC2 for the last,
// starting from the previous packet's full 16-byte MAC in the other direction: a command from the last
// reply's (R-MAC, first RMAC_I), a reply from the command's (C-MAC). Only 4 bytes travel. Encrypted
// data (SCS_17/18) is AES-CBC under S-ENC with the bitwise NOT of that same chaining MAC as IV, after
// appending 0x80 and zeros to a whole number of blocks (always at least one 0x80 byte).
import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { Scs } from './codes.ts';
import { encodePacket, macInput, type Packet, type PacketFields } from './packet.ts';

export const KEY_LENGTH = 16;
const BLOCK = 16;
const PAD_MARKER = 0x80;

/** SCBK-D, the spec's well-known default key: only a PD in install mode accepts it. */
export const SCBK_D: Readonly<Uint8Array> = Uint8Array.from({ length: KEY_LENGTH }, (_, i) => 0x30 + i);

export interface SessionKeys {
  enc: Uint8Array;
  mac1: Uint8Array;
  mac2: Uint8Array;
}

function checkKey(key: Uint8Array, name: string): void {
  if (key.length !== KEY_LENGTH) throw new RangeError(`${name} must be ${KEY_LENGTH} bytes, got ${key.length}`);
}

function cbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
  return concat(cipher.update(data), cipher.final());
}

function uncbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const decipher = createDecipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
  return concat(decipher.update(data), decipher.final());
}

function ecb(key: Uint8Array, block: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  return concat(cipher.update(block), cipher.final());
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function not(bytes: Uint8Array): Uint8Array {
  return bytes.map((b) => ~b & 0xff);
}

/** Constant-time comparison of two byte strings of the same length. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function deriveSessionKeys(scbk: Uint8Array, cpRandom: Uint8Array): SessionKeys {
  checkKey(scbk, 'SCBK');
  if (cpRandom.length !== 8) throw new RangeError(`RND.A must be 8 bytes, got ${cpRandom.length}`);
  const derive = (tag: number): Uint8Array => {
    const block = new Uint8Array(BLOCK);
    block[0] = 0x01;
    block[1] = tag;
    block.set(cpRandom.subarray(0, 6), 2);
    return ecb(scbk, block);
  };
  return { enc: derive(0x82), mac1: derive(0x01), mac2: derive(0x02) };
}

/** What the PD sends in osdp_CCRYPT to prove it holds the SCBK. */
export function clientCryptogram(keys: SessionKeys, cpRandom: Uint8Array, pdRandom: Uint8Array): Uint8Array {
  return ecb(keys.enc, concat(cpRandom, pdRandom));
}

/** What the CP sends in osdp_SCRYPT to prove it holds the SCBK. */
export function serverCryptogram(keys: SessionKeys, cpRandom: Uint8Array, pdRandom: Uint8Array): Uint8Array {
  return ecb(keys.enc, concat(pdRandom, cpRandom));
}

/** RMAC_I: the first R-MAC, from which the MAC chain starts. */
export function initialRmac(keys: SessionKeys, serverCrypt: Uint8Array): Uint8Array {
  return ecb(keys.mac2, ecb(keys.mac1, serverCrypt));
}

/** The full 16-byte MAC of `message`, chained from `iv` (the previous MAC in the other direction). */
export function computeMac(keys: Pick<SessionKeys, 'mac1' | 'mac2'>, iv: Uint8Array, message: Uint8Array): Uint8Array {
  let blocks = message;
  if (message.length === 0 || message.length % BLOCK !== 0) {
    blocks = new Uint8Array(Math.ceil((message.length + 1) / BLOCK) * BLOCK);
    blocks.set(message);
    blocks[message.length] = PAD_MARKER;
  }
  const lastStart = blocks.length - BLOCK;
  const chain = lastStart > 0 ? cbc(keys.mac1, iv, blocks.subarray(0, lastStart)).subarray(lastStart - BLOCK) : iv;
  return cbc(keys.mac2, chain, blocks.subarray(lastStart));
}

/** Pads with 0x80 00… and encrypts; `chain` is the MAC the packet's own MAC chains from. */
export function encryptData(encKey: Uint8Array, chain: Uint8Array, data: Uint8Array): Uint8Array {
  const padded = new Uint8Array((Math.floor(data.length / BLOCK) + 1) * BLOCK);
  padded.set(data);
  padded[data.length] = PAD_MARKER;
  return cbc(encKey, not(chain), padded);
}

export type SecureChannelErrorCode =
  /** A packet without MAC where the session expects one, or one with a MAC outside a session. */
  | 'not_secured'
  /** A security block type that does not belong to this direction (a reply type in a command, …). */
  | 'wrong_direction'
  | 'bad_mac'
  /** Encrypted data that is not a whole number of AES blocks. */
  | 'bad_block_length'
  /** Decrypted data without the 0x80 end marker in its last block. */
  | 'bad_padding';

export interface SecureChannelError {
  code: SecureChannelErrorCode;
  message: string;
}

export type OpenResult<T> = { ok: true; value: T } | { ok: false; error: SecureChannelError };

/** Decrypts and strips the 0x80 00… padding. */
export function decryptData(encKey: Uint8Array, chain: Uint8Array, data: Uint8Array): OpenResult<Uint8Array> {
  if (data.length === 0 || data.length % BLOCK !== 0) {
    return { ok: false, error: { code: 'bad_block_length', message: `encrypted data is ${data.length} bytes; expected a positive multiple of ${BLOCK}` } };
  }
  const plain = uncbc(encKey, not(chain), data);
  let end = plain.length - 1;
  while (end > plain.length - BLOCK && plain[end] === 0) end--;
  if (plain[end] !== PAD_MARKER) {
    return { ok: false, error: { code: 'bad_padding', message: 'decrypted data has no 0x80 end marker in its last block (wrong key or corrupted data)' } };
  }
  return { ok: true, value: plain.subarray(0, end) };
}

/** osdp_KEYSET data: key type 0x01 (SCBK), length 16, the key. */
export function encodeKeySet(scbk: Uint8Array): Uint8Array {
  checkKey(scbk, 'SCBK');
  return concat(Uint8Array.of(0x01, KEY_LENGTH), scbk);
}

export function decodeKeySet(data: Uint8Array): Uint8Array | null {
  if (data.length !== 2 + KEY_LENGTH || data[0] !== 0x01 || data[1] !== KEY_LENGTH) return null;
  return data.slice(2);
}

export type Role = 'cp' | 'pd';

export interface Opened {
  code: number;
  data: Uint8Array;
  /** Whether the data travelled encrypted (SCS_17/18) rather than MAC-only (SCS_15/16). */
  encrypted: boolean;
}

/**
 * One established session: the keys and the two ends of the MAC chain. `seal` and `open` advance the
 * chain, so every packet must go through exactly one of them, in wire order; `open` leaves the chain
 * untouched when it rejects a packet.
 */
export class SecureSession {
  /** Last MAC of a command (C-MAC). */
  #cMac: Uint8Array = new Uint8Array(BLOCK);
  /** Last MAC of a reply (R-MAC); RMAC_I until the first reply. */
  #rMac: Uint8Array;

  constructor(
    readonly keys: SessionKeys,
    readonly role: Role,
    rmacI: Uint8Array,
  ) {
    this.#rMac = rmacI.slice();
  }

  /** Builds a MACed packet; data is encrypted when `encrypt` and there is data (an empty body goes MAC-only, as the spec asks). */
  seal(fields: Omit<PacketFields, 'securityBlock' | 'mac'>, encrypt: boolean): Uint8Array {
    const data = fields.data ?? new Uint8Array(0);
    const encrypted = encrypt && data.length > 0;
    const cp = this.role === 'cp';
    const type = cp ? (encrypted ? Scs.SCS_17 : Scs.SCS_15) : encrypted ? Scs.SCS_18 : Scs.SCS_16;
    const chain = cp ? this.#rMac : this.#cMac;
    const body = encrypted ? encryptData(this.keys.enc, chain, data) : data;
    return encodePacket({ ...fields, securityBlock: { type, data: new Uint8Array(0) }, data: body }, (input) => {
      const mac = computeMac(this.keys, chain, input);
      if (cp) this.#cMac = mac;
      else this.#rMac = mac;
      return mac;
    });
  }

  /** Checks the MAC of a packet from the other side and decrypts its data. */
  open(packet: Packet): OpenResult<Opened> {
    const cp = this.role === 'cp';
    const scb = packet.securityBlock;
    if (!scb || !packet.mac) return { ok: false, error: { code: 'not_secured', message: 'packet carries no MAC inside a secure session' } };
    const [plainType, encryptedType] = cp ? [Scs.SCS_16, Scs.SCS_18] : [Scs.SCS_15, Scs.SCS_17];
    if ((scb.type !== plainType && scb.type !== encryptedType) || scb.data.length !== 0) {
      return { ok: false, error: { code: 'wrong_direction', message: `security block type 0x${scb.type.toString(16)} (length ${scb.data.length + 2}) is not a ${cp ? 'reply' : 'command'} block` } };
    }
    const chain = cp ? this.#cMac : this.#rMac;
    const mac = computeMac(this.keys, chain, macInput(packet));
    if (!sameBytes(mac.subarray(0, packet.mac.length), packet.mac)) {
      return { ok: false, error: { code: 'bad_mac', message: 'MAC does not match: the packet was altered, replayed or sent under another session' } };
    }
    let data: Uint8Array = packet.data;
    if (scb.type === encryptedType) {
      const plain = decryptData(this.keys.enc, chain, packet.data);
      if (!plain.ok) return plain;
      data = plain.value;
    }
    if (cp) this.#rMac = mac;
    else this.#cMac = mac;
    return { ok: true, value: { code: packet.code, data, encrypted: scb.type === encryptedType } };
  }
}
