// The backup format of the site's card key (16 bytes, AES-128: the key-diversification key of
// docs/credentials.md): text under a passphrase, to keep on paper or in a password manager. At rest in
// the installation the key is sealed under the master key (site-keys.ts); this module only knows the
// backup format.
//
//   -----BEGIN GATEHOUSE SITE KEY-----
//   Format: gatehouse-site-key 1
//   Site: <site id>
//   KDF: scrypt N=131072 r=8 p=1
//   Salt: <16 bytes, base64>
//   Nonce: <12 bytes, base64>
//   Check: <16 bytes, base64>          HMAC-SHA256(check key, "gatehouse-site-key check"), first 16 bytes
//   Key: <AES-256-GCM ciphertext || tag, 32 bytes, base64>
//   Checksum: <SHA-256 of the lines from Format to Key joined by \n, first 8 bytes, hex>
//   -----END GATEHOUSE SITE KEY-----
//
// scrypt(passphrase NFC, salt) gives 64 bytes: the AES-256-GCM key (first 32) and the check key (last
// 32). The GCM additional data is the lines from Format to Check joined by \n, so none of them can be
// changed unnoticed. Import tells apart: damaged text (Checksum), a wrong passphrase (Check), and a
// file altered by someone who recomputed the checksum (GCM tag).
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
/** AES-128: the same length as drivers/mifare/kdf.ts's SITE_KEY_LENGTH (the core may not import it). */
export const SITE_KEY_LENGTH = 16;

const BEGIN = '-----BEGIN GATEHOUSE SITE KEY-----';
const END = '-----END GATEHOUSE SITE KEY-----';
const FORMAT = 'gatehouse-site-key';
const VERSION = 1;
export const DEFAULT_SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
export const MIN_PASSPHRASE_LENGTH = 10;
const CHECK_LABEL = 'gatehouse-site-key check';

export type SiteKeyErrorCode = 'format' | 'unsupported_version' | 'damaged' | 'wrong_passphrase' | 'tampered' | 'weak_passphrase';

export class SiteKeyError extends Error {
  override readonly name = 'SiteKeyError';
  constructor(
    readonly code: SiteKeyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** A new random site key. */
export function generateSiteKey(): Uint8Array {
  return new Uint8Array(randomBytes(SITE_KEY_LENGTH));
}

function derive(passphrase: string, salt: Uint8Array, s: ScryptParams): { encKey: Buffer; check: Buffer } {
  const out = scryptSync(passphrase.normalize('NFC'), salt, 64, { N: s.N, r: s.r, p: s.p, maxmem: 256 * s.N * s.r * s.p + (1 << 20) });
  const check = createHmac('sha256', out.subarray(32)).update(CHECK_LABEL).digest().subarray(0, 16);
  return { encKey: out.subarray(0, 32), check };
}

const checksum = (lines: string[]) => createHash('sha256').update(lines.join('\n')).digest().subarray(0, 8).toString('hex');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** The backup text of a site key, under a passphrase (at least 10 characters). `scrypt` is for tests; the default is N=2^17, r=8, p=1. */
export function exportSiteKey(siteKey: Uint8Array, siteId: string, passphrase: string, scrypt: ScryptParams = DEFAULT_SCRYPT): string {
  if (siteKey.length !== SITE_KEY_LENGTH) throw new RangeError(`a site key is ${SITE_KEY_LENGTH} bytes, not ${siteKey.length}`);
  if (/[\r\n]/.test(siteId) || siteId.trim() !== siteId || siteId === '') throw new RangeError('the site id must be one line without surrounding spaces');
  if ([...passphrase.normalize('NFC')].length < MIN_PASSPHRASE_LENGTH) {
    throw new SiteKeyError('weak_passphrase', `the passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`);
  }
  checkParams(scrypt);
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const { encKey, check } = derive(passphrase, salt, scrypt);
  const header = [`Format: ${FORMAT} ${VERSION}`, `Site: ${siteId}`, `KDF: scrypt N=${scrypt.N} r=${scrypt.r} p=${scrypt.p}`, `Salt: ${b64(salt)}`, `Nonce: ${b64(nonce)}`, `Check: ${b64(check)}`];
  const c = createCipheriv('aes-256-gcm', encKey, nonce);
  c.setAAD(Buffer.from(header.join('\n')));
  const ct = Buffer.concat([c.update(siteKey), c.final(), c.getAuthTag()]);
  const body = [...header, `Key: ${b64(ct)}`];
  return [BEGIN, ...body, `Checksum: ${checksum(body)}`, END, ''].join('\n');
}

function checkParams(s: ScryptParams): void {
  const pow2 = Number.isInteger(Math.log2(s.N));
  if (!pow2 || s.N < 2 ** 10 || s.N > 2 ** 20 || !Number.isInteger(s.r) || s.r < 1 || s.r > 32 || !Number.isInteger(s.p) || s.p < 1 || s.p > 16) {
    throw new SiteKeyError('format', `scrypt parameters out of range (N a power of two 2^10..2^20, r 1..32, p 1..16): N=${s.N} r=${s.r} p=${s.p}`);
  }
}

export interface ImportedSiteKey {
  siteId: string;
  siteKey: Uint8Array;
}

/** Opens a backup made by exportSiteKey. Throws a SiteKeyError whose code and message say what is wrong. */
export function importSiteKey(text: string, passphrase: string): ImportedSiteKey {
  const bad = (code: SiteKeyErrorCode, message: string) => new SiteKeyError(code, message);
  const lines = text.replace(/\r\n/g, '\n').split('\n').map((l) => l.trim());
  const start = lines.indexOf(BEGIN);
  const end = lines.indexOf(END);
  if (start < 0 || end < start) throw bad('format', `not a Gatehouse site key backup: no "${BEGIN}" … "${END}" block`);
  const body = lines.slice(start + 1, end).filter((l) => l !== '');
  const fields = new Map<string, string>();
  for (const l of body) {
    const m = /^([A-Za-z]+): (.*)$/.exec(l);
    if (!m) throw bad('damaged', `the backup is damaged: unreadable line "${l.slice(0, 40)}"`);
    fields.set(m[1]!, m[2]!);
  }
  const format = fields.get('Format');
  if (format === undefined || !format.startsWith(`${FORMAT} `)) throw bad('format', 'not a Gatehouse site key backup: no "Format: gatehouse-site-key" line');
  if (format !== `${FORMAT} ${VERSION}`) throw bad('unsupported_version', `site key backup ${format.slice(FORMAT.length + 1)} is not supported by this version of Gatehouse (it reads version ${VERSION})`);
  const sum = fields.get('Checksum');
  const signed = body.filter((l) => !l.startsWith('Checksum: '));
  if (sum === undefined || sum !== checksum(signed)) throw bad('damaged', 'the backup is damaged: its checksum does not match (a line was changed, lost or mistyped)');
  const need = (name: string) => {
    const v = fields.get(name);
    if (v === undefined) throw bad('damaged', `the backup is damaged: no ${name} line`);
    return v;
  };
  const kdf = /^scrypt N=(\d+) r=(\d+) p=(\d+)$/.exec(need('KDF'));
  if (!kdf) throw bad('format', 'the backup names a key derivation this version does not know');
  const params = { N: Number(kdf[1]), r: Number(kdf[2]), p: Number(kdf[3]) };
  checkParams(params);
  const salt = Buffer.from(need('Salt'), 'base64');
  const nonce = Buffer.from(need('Nonce'), 'base64');
  const check = Buffer.from(need('Check'), 'base64');
  const ct = Buffer.from(need('Key'), 'base64');
  if (salt.length !== 16 || nonce.length !== 12 || check.length !== 16 || ct.length !== SITE_KEY_LENGTH + 16) throw bad('damaged', 'the backup is damaged: a field has the wrong length');
  const header = ['Format', 'Site', 'KDF', 'Salt', 'Nonce', 'Check'].map((n) => `${n}: ${need(n)}`);
  const { encKey, check: want } = derive(passphrase, salt, params);
  if (!timingSafeEqual(check, want)) throw bad('wrong_passphrase', 'wrong passphrase for this site key backup');
  try {
    const d = createDecipheriv('aes-256-gcm', encKey, nonce);
    d.setAAD(Buffer.from(header.join('\n')));
    d.setAuthTag(ct.subarray(SITE_KEY_LENGTH));
    const key = Buffer.concat([d.update(ct.subarray(0, SITE_KEY_LENGTH)), d.final()]);
    return { siteId: need('Site'), siteKey: new Uint8Array(key) };
  } catch {
    throw bad('tampered', 'the backup was altered after it was made (its authentication tag does not match): do not trust it');
  }
}
