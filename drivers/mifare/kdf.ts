// Per-card key diversification: NIST SP 800-108r1 KDF in counter mode with AES-128-CMAC as the PRF.
//
//   K(i)  = AES-CMAC(siteKey, [i]_8 || Label || 0x00 || Context || [L]_16)     i = 1, 2, …
//   out   = first L bits of K(1) || K(2) || …
//   Label   = ASCII "gatehouse/mifare/" + purpose        (purpose: key-a | key-b | credential-mac)
//   Context = [uid length]_8 || UID                       (UID 4, 7 or 10 bytes, as read)
//   L       = output length in bits (48 for a Classic key, 128 for the MAC key), big-endian
//
// Why SP 800-108 rather than AN10922's AES-128 diversification: AN10922 is the same CMAC-based idea
// (CMAC over a constant, the UID and an application/system identifier, padded to 32 bytes), but it is
// specified for keys of AES and DES length only, and its input layout leaves how a 6-byte Crypto1 key
// is cut from the output to the application. SP 800-108 binds the purpose (Label), the card (Context)
// and the output length (L) into every PRF call, so key A, key B and the MAC key of one card are
// independent values, and a 6-byte key is not a prefix of some other derived key. docs/credentials.md
// has the known-answer values (pinned in kdf.test.ts and recomputed there with `openssl mac … CMAC`).
import { aesCmac } from './aes-cmac.ts';

export const SITE_KEY_LENGTH = 16;
export const CLASSIC_KEY_LENGTH = 6;
export const MAC_KEY_LENGTH = 16;
export const UID_LENGTHS: readonly number[] = [4, 7, 10];

export type KeyPurpose = 'key-a' | 'key-b' | 'credential-mac';
const LABEL_PREFIX = 'gatehouse/mifare/';

export function checkUid(uid: Uint8Array): void {
  if (!UID_LENGTHS.includes(uid.length)) throw new RangeError(`a card UID is 4, 7 or 10 bytes, not ${uid.length}`);
}

/** The SP 800-108 fixed input data after the counter: Label || 0x00 || Context || [L]_16. */
export function fixedInput(purpose: KeyPurpose, uid: Uint8Array, lengthBytes: number): Uint8Array {
  const label = new TextEncoder().encode(LABEL_PREFIX + purpose);
  const bits = lengthBytes * 8;
  return Uint8Array.from([...label, 0x00, uid.length, ...uid, (bits >>> 8) & 0xff, bits & 0xff]);
}

/** `lengthBytes` bytes derived from the site key for one card and one purpose. */
export function deriveKey(siteKey: Uint8Array, uid: Uint8Array, purpose: KeyPurpose, lengthBytes: number): Uint8Array {
  if (siteKey.length !== SITE_KEY_LENGTH) throw new RangeError(`the site key is ${SITE_KEY_LENGTH} bytes, not ${siteKey.length}`);
  checkUid(uid);
  if (!Number.isInteger(lengthBytes) || lengthBytes < 1 || lengthBytes > 255 * 16) throw new RangeError(`bad output length ${lengthBytes}`);
  const fixed = fixedInput(purpose, uid, lengthBytes);
  const out = new Uint8Array(Math.ceil(lengthBytes / 16) * 16);
  for (let i = 1; (i - 1) * 16 < lengthBytes; i++) {
    const input = new Uint8Array(1 + fixed.length);
    input[0] = i;
    input.set(fixed, 1);
    out.set(aesCmac(siteKey, input), (i - 1) * 16);
  }
  return out.slice(0, lengthBytes);
}

export interface CardKeys {
  /** MIFARE Classic key A of the credential sector (read only: what the locks hold). */
  keyA: Uint8Array;
  /** MIFARE Classic key B of the credential sector (rewrites it: the encoder only). */
  keyB: Uint8Array;
  /** AES-128 key of the credential's MAC. */
  macKey: Uint8Array;
}

/** Every key one card needs, diversified from the site key and the card's UID. */
export function deriveCardKeys(siteKey: Uint8Array, uid: Uint8Array): CardKeys {
  return {
    keyA: deriveKey(siteKey, uid, 'key-a', CLASSIC_KEY_LENGTH),
    keyB: deriveKey(siteKey, uid, 'key-b', CLASSIC_KEY_LENGTH),
    macKey: deriveKey(siteKey, uid, 'credential-mac', MAC_KEY_LENGTH),
  };
}
