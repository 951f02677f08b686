// AES-CMAC (NIST SP 800-38B, RFC 4493) on node:crypto's AES-128-ECB. Node has no CMAC of its own;
// this is the textbook construction: subkeys K1/K2 from L = AES(K, 0^128) doubled in GF(2^128),
// then CBC-MAC over the message with the last block XORed with K1 (complete) or padded 10…0 and
// XORed with K2 (incomplete or empty). Known-answer tests: aes-cmac.test.ts (RFC 4493 §4).
import { createCipheriv, timingSafeEqual } from 'node:crypto';

export const AES_BLOCK = 16;
const RB = 0x87;

function aesBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  const out = c.update(block);
  c.final();
  return new Uint8Array(out);
}

/** Doubling in GF(2^128) (shift left one bit, XOR 0x87 into the last byte if the top bit fell out). */
function dbl(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(AES_BLOCK);
  for (let i = 0; i < AES_BLOCK; i++) out[i] = ((b[i]! << 1) | (i + 1 < AES_BLOCK ? b[i + 1]! >>> 7 : 0)) & 0xff;
  if (b[0]! & 0x80) out[AES_BLOCK - 1]! ^= RB;
  return out;
}

/** The CMAC subkeys (RFC 4493 §2.3), exported for the known-answer test. */
export function cmacSubkeys(key: Uint8Array): { k1: Uint8Array; k2: Uint8Array } {
  checkKey(key);
  const l = aesBlock(key, new Uint8Array(AES_BLOCK));
  const k1 = dbl(l);
  return { k1, k2: dbl(k1) };
}

function checkKey(key: Uint8Array): void {
  if (key.length !== 16) throw new RangeError(`AES-CMAC: the key must be 16 bytes (AES-128), not ${key.length}`);
}

/** AES-128-CMAC of `message` under `key`: 16 bytes. */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  const { k1, k2 } = cmacSubkeys(key);
  const n = Math.max(1, Math.ceil(message.length / AES_BLOCK));
  const complete = message.length > 0 && message.length % AES_BLOCK === 0;
  const last = new Uint8Array(AES_BLOCK);
  const tail = message.subarray((n - 1) * AES_BLOCK);
  last.set(tail);
  if (!complete) last[tail.length] = 0x80;
  const sub = complete ? k1 : k2;
  for (let i = 0; i < AES_BLOCK; i++) last[i]! ^= sub[i]!;
  // CBC with a zero IV over the n-1 full blocks and the prepared last block; the MAC is the last cipher block.
  const c = createCipheriv('aes-128-cbc', key, new Uint8Array(AES_BLOCK));
  c.setAutoPadding(false);
  const body = Buffer.concat([c.update(message.subarray(0, (n - 1) * AES_BLOCK)), c.update(last), c.final()]);
  return new Uint8Array(body.subarray(body.length - AES_BLOCK));
}

/** Constant-time comparison of two MACs (false when the lengths differ). */
export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
