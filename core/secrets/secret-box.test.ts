// Sealing secrets at rest: round trips, and a clear error for every way a sealed value can fail to open.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MASTER_KEY_LENGTH, SecretBox, SecretError } from './secret-box.ts';

const master = () => new Uint8Array(randomBytes(MASTER_KEY_LENGTH));
const text = (s: string) => new TextEncoder().encode(s);

function failure(fn: () => unknown): SecretError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SecretError);
    return e as SecretError;
  }
  throw new Error('expected a SecretError');
}

describe('SecretBox', () => {
  it('opens what it sealed, for any length, with a fresh nonce every time', () => {
    const box = new SecretBox(master());
    for (const n of [0, 1, 16, 32, 1000]) {
      const secret = new Uint8Array(randomBytes(n));
      const a = box.seal('hub-scbk:00-14-22-01-23-45', secret);
      const b = box.seal('hub-scbk:00-14-22-01-23-45', secret);
      expect(a.length).toBe(1 + 8 + 12 + n + 16);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
      expect(box.open('hub-scbk:00-14-22-01-23-45', a)).toEqual(secret);
      expect(box.open('hub-scbk:00-14-22-01-23-45', b)).toEqual(secret);
    }
  });

  it('does not leave the plaintext in the sealed bytes', () => {
    const box = new SecretBox(master());
    const sealed = box.seal('site-key', text('the site master key, in clear'));
    expect(Buffer.from(sealed).includes(Buffer.from('site master'))).toBe(false);
  });

  it('opens with another box on the same master key (a restart), not with a box on another key', () => {
    const key = master();
    const sealed = new SecretBox(key).seal('p', text('secret'));
    expect(new TextDecoder().decode(new SecretBox(key.slice()).open('p', sealed))).toBe('secret');
    const other = new SecretBox(master());
    const e = failure(() => other.open('p', sealed));
    expect(e.code).toBe('wrong_key');
    expect(e.message).toMatch(/sealed under another master key .*master\.key was replaced, or the database was moved here without it/);
    expect(new SecretBox(key).keyId).not.toBe(other.keyId);
  });

  it('refuses a value sealed for another purpose', () => {
    const box = new SecretBox(master());
    const sealed = box.seal('hub-scbk:00-14-22-01-23-45', text('k'));
    const e = failure(() => box.open('hub-scbk:00-14-22-01-23-46', sealed));
    expect(e.code).toBe('tampered');
    expect(e.message).toMatch(/hub-scbk:00-14-22-01-23-46 does not authenticate: it was altered, or it was sealed for another purpose/);
  });

  it('catches a change to any byte: key id → wrong key, version or length → malformed, anything else → tampered', () => {
    const box = new SecretBox(master());
    const sealed = box.seal('p', text('sixteen bytes!!!'));
    for (let i = 0; i < sealed.length; i++) {
      const bad = sealed.slice();
      bad[i]! ^= 0x40;
      const e = failure(() => box.open('p', bad));
      expect(e.code, `byte ${i}`).toBe(i === 0 ? 'malformed' : i <= 8 ? 'wrong_key' : 'tampered');
    }
    expect(failure(() => box.open('p', sealed.subarray(0, 30))).code).toBe('malformed');
    expect(failure(() => box.open('p', sealed.subarray(0, sealed.length - 1))).code).toBe('tampered');
    expect(failure(() => box.open('p', new Uint8Array(0))).message).toMatch(/not a sealed secret this Gatehouse can read \(0 bytes/);
  });

  it('refuses a master key of the wrong length and a purpose that could be confused with another', () => {
    expect(failure(() => new SecretBox(new Uint8Array(16))).code).toBe('bad_master_key');
    const box = new SecretBox(master());
    expect(() => box.seal('', text('x'))).toThrow(RangeError);
    expect(() => box.seal('a\0b', text('x'))).toThrow(RangeError);
  });
});
