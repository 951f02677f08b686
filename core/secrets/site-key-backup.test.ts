// Site key backup: round trip, and a clear error for a wrong passphrase, damage, tampering and an
// unknown version. Most cases use a cheap scrypt cost; one runs the default.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportSiteKey, generateSiteKey, importSiteKey, SiteKeyError, type SiteKeyErrorCode } from './site-key-backup.ts';

const FAST = { N: 2 ** 10, r: 8, p: 1 };
const PASS = 'correct horse battery staple';
const SITE = 'a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607';

function code(fn: () => unknown): SiteKeyErrorCode {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SiteKeyError);
    return (e as SiteKeyError).code;
  }
  throw new Error('expected a SiteKeyError');
}

/** Replaces a field's value and, when asked, recomputes the checksum as a deliberate tamperer would. */
function edit(text: string, field: string, value: (v: string) => string, fixChecksum: boolean): string {
  const lines = text.split('\n').map((l) => (l.startsWith(`${field}: `) ? `${field}: ${value(l.slice(field.length + 2))}` : l));
  if (fixChecksum) {
    const body = lines.slice(1, lines.findIndex((l) => l.startsWith('Checksum: ')));
    const sum = createHash('sha256').update(body.join('\n')).digest().subarray(0, 8).toString('hex');
    return lines.map((l) => (l.startsWith('Checksum: ') ? `Checksum: ${sum}` : l)).join('\n');
  }
  return lines.join('\n');
}
const flipB64 = (v: string) => {
  const b = Buffer.from(v, 'base64');
  b[0]! ^= 1;
  return b.toString('base64');
};

describe('site key backup', () => {
  it('round-trips with the default cost, and looks as documented', () => {
    const key = generateSiteKey();
    const text = exportSiteKey(key, SITE, PASS);
    expect(text.split('\n').map((l) => l.split(':')[0])).toEqual([
      '-----BEGIN GATEHOUSE SITE KEY-----', 'Format', 'Site', 'KDF', 'Salt', 'Nonce', 'Check', 'Key', 'Checksum', '-----END GATEHOUSE SITE KEY-----', '',
    ]);
    expect(text).toContain('KDF: scrypt N=131072 r=8 p=1');
    expect(importSiteKey(text, PASS)).toEqual({ siteId: SITE, siteKey: key });
  });

  it('round-trips any key and passphrase, with CRLF line ends and surrounding text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.string({ minLength: 10, maxLength: 40 }), (key, pass) => {
        const text = exportSiteKey(key, SITE, pass, FAST);
        expect(importSiteKey(`Saved by Ann\r\n${text.replace(/\n/g, '\r\n')}\r\nend of mail`, pass).siteKey).toEqual(key);
      }),
      { numRuns: 30 },
    );
  });

  it('says the passphrase is wrong', () => {
    const text = exportSiteKey(generateSiteKey(), SITE, PASS, FAST);
    expect(code(() => importSiteKey(text, 'Correct horse battery staple'))).toBe('wrong_passphrase');
  });

  it('says the text is damaged when a line changed without its checksum', () => {
    const text = exportSiteKey(generateSiteKey(), SITE, PASS, FAST);
    expect(code(() => importSiteKey(text.replace(/^Key: ./m, (s) => (s.endsWith('A') ? `${s.slice(0, -1)}B` : `${s.slice(0, -1)}A`)), PASS))).toBe('damaged');
    expect(code(() => importSiteKey(text.replace(/^Nonce: .*\n/m, ''), PASS))).toBe('damaged');
    expect(code(() => importSiteKey(text.replace('Site: a3f1', 'Site: b3f1'), PASS))).toBe('damaged');
    expect(code(() => importSiteKey(edit(text, 'Key', flipB64, false), PASS))).toBe('damaged');
  });

  it('says the text was tampered with when a field changed and the checksum was recomputed', () => {
    const text = exportSiteKey(generateSiteKey(), SITE, PASS, FAST);
    for (const [field, f] of [
      ['Key', flipB64],
      ['Nonce', flipB64],
      ['Site', () => 'another-site'],
    ] as const) {
      expect(code(() => importSiteKey((edit(text, field, f, true)), PASS))).toBe('tampered');
    }
    // A changed salt or cost changes the derived keys: indistinguishable from a wrong passphrase.
    expect(code(() => importSiteKey((edit(text, 'Salt', flipB64, true)), PASS))).toBe('wrong_passphrase');
  });

  it('refuses what is not a backup, an unknown version, unsafe scrypt costs and weak passphrases', () => {
    expect(code(() => importSiteKey('hello', PASS))).toBe('format');
    const text = exportSiteKey(generateSiteKey(), SITE, PASS, FAST);
    expect(code(() => importSiteKey((edit(text, 'Format', () => 'gatehouse-site-key 2', true)), PASS))).toBe('unsupported_version');
    expect(code(() => importSiteKey((edit(text, 'KDF', () => 'scrypt N=1073741824 r=8 p=1', true)), PASS))).toBe('format');
    expect(code(() => exportSiteKey(generateSiteKey(), SITE, 'short', FAST))).toBe('weak_passphrase');
    expect(() => exportSiteKey(new Uint8Array(32), SITE, PASS, FAST)).toThrow(RangeError);
  });
});
