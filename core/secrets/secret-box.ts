// Secrets at rest: small secrets (hub keys now, a site's card master key later) sealed with AES-256-GCM
// under the installation's master key (master-key.ts), so that the database alone — a backup, a copy
// taken off a stolen disk — does not give them away.
//
// Sealed form (version 1):
//
//   01 | key id (8) | nonce (12) | ciphertext | tag (16)
//
// - The encryption key is derived from the master key with HKDF-SHA256; the key id is an HMAC of the
//   master key, so a secret sealed under another master key is told apart from a tampered one.
// - The purpose ("hub-scbk:00-14-22-01-23-45") is bound as additional authenticated data, together with
//   the header: a sealed value moved to another purpose (another hub's row) does not open.
// - The nonce is random (96 bits); a master key seals far fewer than the 2^32 values that allows.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

export const MASTER_KEY_LENGTH = 32;
const VERSION = 0x01;
const KEY_ID_LENGTH = 8;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = 1 + KEY_ID_LENGTH + NONCE_LENGTH;
const LABEL = 'gatehouse/secret-box/v1';

export type SecretErrorCode =
  /** Not a sealed secret of a version this Gatehouse knows (truncated, or not ours). */
  | 'malformed'
  /** Sealed under another master key (master.key replaced, or the database moved without it). */
  | 'wrong_key'
  /** The sealed bytes were altered, or sealed for another purpose. */
  | 'tampered'
  /** The master key itself is unusable (wrong length). */
  | 'bad_master_key';

export class SecretError extends Error {
  override readonly name = 'SecretError';
  constructor(
    readonly code: SecretErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export class SecretBox {
  readonly #key: Buffer;
  readonly #keyId: Buffer;

  constructor(masterKey: Uint8Array) {
    if (masterKey.length !== MASTER_KEY_LENGTH) {
      throw new SecretError('bad_master_key', `a master key is ${MASTER_KEY_LENGTH} bytes, got ${masterKey.length}`);
    }
    this.#key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `${LABEL}/aes-256-gcm`, 32));
    this.#keyId = createHmac('sha256', masterKey).update(`${LABEL}/key-id`).digest().subarray(0, KEY_ID_LENGTH);
  }

  /** Which master key this box seals under (8 bytes, hex): safe to log, and the same for the same key. */
  get keyId(): string {
    return this.#keyId.toString('hex');
  }

  seal(purpose: string, plaintext: Uint8Array): Uint8Array {
    const header = Buffer.concat([Buffer.of(VERSION), this.#keyId, randomBytes(NONCE_LENGTH)]);
    const cipher = createCipheriv('aes-256-gcm', this.#key, header.subarray(1 + KEY_ID_LENGTH), { authTagLength: TAG_LENGTH });
    cipher.setAAD(aad(purpose, header));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return new Uint8Array(Buffer.concat([header, body, cipher.getAuthTag()]));
  }

  /** The plaintext, or a SecretError that says why not. */
  open(purpose: string, sealed: Uint8Array): Uint8Array {
    const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (bytes.length < HEADER_LENGTH + TAG_LENGTH || bytes[0] !== VERSION) {
      throw new SecretError('malformed', `the sealed ${purpose} is not a sealed secret this Gatehouse can read (${bytes.length} bytes, version ${bytes[0] ?? '–'})`);
    }
    const header = bytes.subarray(0, HEADER_LENGTH);
    const keyId = header.subarray(1, 1 + KEY_ID_LENGTH);
    if (!timingSafeEqual(keyId, this.#keyId)) {
      throw new SecretError(
        'wrong_key',
        `the sealed ${purpose} was sealed under another master key (key id ${keyId.toString('hex')}, ours is ${this.keyId}): ` +
          'master.key was replaced, or the database was moved here without it',
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#key, header.subarray(1 + KEY_ID_LENGTH), { authTagLength: TAG_LENGTH });
    decipher.setAAD(aad(purpose, header));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_LENGTH));
    try {
      return new Uint8Array(Buffer.concat([decipher.update(bytes.subarray(HEADER_LENGTH, bytes.length - TAG_LENGTH)), decipher.final()]));
    } catch {
      throw new SecretError('tampered', `the sealed ${purpose} does not authenticate: it was altered, or it was sealed for another purpose`);
    }
  }
}

function aad(purpose: string, header: Uint8Array): Buffer {
  if (purpose.length === 0 || purpose.includes('\0')) throw new RangeError(`a secret's purpose is a non-empty string without NUL, got ${JSON.stringify(purpose)}`);
  return Buffer.concat([Buffer.from(`${LABEL}\0${purpose}\0`, 'utf8'), header]);
}
