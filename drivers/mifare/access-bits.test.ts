// Access bits: datasheet vectors, the encode/decode round trip, every one of the 2^24 byte triples
// judged (exactly 2^12 are consistent), every one of the 2^12 consistent combinations classified
// under both policies, and no combination that would freeze the sector or lock key B out passes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AccessConditions,
  checkTrailer,
  conditionsProblem,
  type Condition,
  CREDENTIAL_ACCESS,
  dataRights,
  decodeAccessBits,
  encodeAccessBits,
  TRANSPORT_ACCESS,
  TRANSPORT_KEY,
  trailerBlock,
  TrailerError,
  trailerRights,
} from './access-bits.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const KEY_A = hex('0f2873cafb51');
const KEY_B = hex('b67a860dcb80');

function allConditions(): AccessConditions[] {
  const out: AccessConditions[] = [];
  for (let n = 0; n < 4096; n++) out.push([(n >> 9) & 7, (n >> 6) & 7, (n >> 3) & 7, n & 7] as unknown as AccessConditions);
  return out;
}
const trailerWith = (access: Uint8Array, keyA = KEY_A, keyB = KEY_B) => Uint8Array.from([...keyA, ...access, 0x69, ...keyB]);
const condition = fc.integer({ min: 0, max: 7 }) as fc.Arbitrary<Condition>;
const conditions = fc.tuple(condition, condition, condition, condition) as fc.Arbitrary<AccessConditions>;

describe('access bits', () => {
  it('encodes the datasheet and field values', () => {
    expect(toHex(encodeAccessBits(TRANSPORT_ACCESS))).toBe('ff0780');
    expect(toHex(encodeAccessBits(CREDENTIAL_ACCESS))).toBe('787788');
    expect(toHex(encodeAccessBits([0, 0, 0, 3]))).toBe('7f0788');
    expect(decodeAccessBits(hex('ff0780'))).toEqual([0, 0, 0, 1]);
    expect(decodeAccessBits(hex('787788'))).toEqual([4, 4, 4, 3]);
  });

  it('round-trips every combination', () => {
    fc.assert(
      fc.property(conditions, (c) => {
        expect(decodeAccessBits(encodeAccessBits(c))).toEqual(c);
      }),
    );
  });

  it('accepts exactly 4096 of the 2^24 byte triples: those whose inverted copies agree', () => {
    const b = new Uint8Array(3);
    let consistent = 0;
    for (let v = 0; v < 1 << 24; v++) {
      b[0] = v >> 16;
      b[1] = (v >> 8) & 0xff;
      b[2] = v & 0xff;
      const c = decodeAccessBits(b);
      if (c) {
        consistent++;
        if (toHex(encodeAccessBits(c)) !== toHex(b)) throw new Error(`not canonical: ${toHex(b)}`);
      }
    }
    expect(consistent).toBe(4096);
  });

  it('refuses any single bit flip of valid access bits as inconsistent', () => {
    fc.assert(
      fc.property(conditions, fc.integer({ min: 0, max: 23 }), (c, bit) => {
        const b = encodeAccessBits(c);
        b[bit >> 3]! ^= 1 << (bit & 7);
        expect(decodeAccessBits(b)).toBeNull();
        expect(checkTrailer(trailerWith(b), 'credential')).toMatchObject({ ok: false, problem: 'inconsistent' });
        expect(checkTrailer(trailerWith(b), 'transport')).toMatchObject({ ok: false, problem: 'inconsistent' });
      }),
    );
  });
});

describe('checkTrailer', () => {
  it('classifies every one of the 2^12 combinations under both policies', () => {
    const counts: Record<string, number> = {};
    const passing: Record<string, string[]> = { credential: [], transport: [] };
    for (const c of allConditions()) {
      for (const policy of ['credential', 'transport'] as const) {
        const check = checkTrailer(trailerWith(encodeAccessBits(c)), policy);
        const key = `${policy}:${check.ok ? 'ok' : check.problem}`;
        counts[key] = (counts[key] ?? 0) + 1;
        if (check.ok) passing[policy]!.push(toHex(encodeAccessBits(c)));
        // What checkTrailer says is what conditionsProblem says (the key checks aside).
        expect(check.ok ? null : check.problem).toBe(conditionsProblem(c, policy));
      }
    }
    expect(passing).toEqual({ credential: ['787788'], transport: ['ff0780'] });
    // Trailer conditions 000, 010, 100, 110 and 111 freeze the access bits: 5 of 8, whatever the data blocks.
    expect(counts['credential:bricks']).toBe(5 * 512);
    expect(counts['transport:bricks']).toBe(5 * 512);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(2 * 4096);
  });

  it('lets no combination pass that would stop key B (credential) or key A (transport) rewriting the trailer', () => {
    for (const c of allConditions()) {
      const t = trailerRights(c[3]);
      if (conditionsProblem(c, 'credential') === null) {
        expect([t.bitsWrite, t.keyAWrite, t.keyBWrite].every((w) => w === 'B' || w === 'AB')).toBe(true);
        expect(t.keyBRead).toBe('never');
        for (const block of [0, 1, 2]) {
          const d = dataRights(c[block]!);
          expect(d.read).toBe('AB');
          expect([d.write, d.increment, d.decrement].some((w) => w === 'A' || w === 'AB')).toBe(false);
          expect(d.write).toBe('B');
        }
      }
      if (conditionsProblem(c, 'transport') === null) expect([t.bitsWrite, t.keyAWrite, t.keyBWrite]).toEqual(['A', 'A', 'A']);
    }
  });

  it('names the problem of typical mistakes', () => {
    const problem = (c: AccessConditions) => conditionsProblem(c, 'credential');
    expect(problem([4, 4, 4, 4])).toBe('bricks'); // trailer 100: access bits never writable
    expect(problem([0, 0, 0, 1])).toBe('key_b_readable'); // transport on a credential sector
    expect(problem([4, 4, 4, 5])).toBe('key_b_locked_out'); // 101: keys never writable, so no erase
    expect(problem([0, 0, 0, 3])).toBe('key_a_writes_data'); // 7F 07 88: data still writable with A
    expect(problem([4, 6, 4, 3])).toBe('key_a_writes_data'); // value block: A may decrement
    expect(problem([4, 3, 4, 3])).toBe('key_a_cannot_read');
    expect(problem([4, 2, 4, 3])).toBe('key_b_cannot_write_data');
    expect(conditionsProblem([0, 0, 0, 3], 'transport')).toBe('not_transport');
  });

  it('refuses a trailer of the wrong length and, for the credential, equal keys', () => {
    expect(checkTrailer(new Uint8Array(15), 'transport')).toMatchObject({ ok: false, problem: 'length' });
    expect(checkTrailer(trailerWith(hex('787788'), KEY_A, KEY_A), 'credential')).toMatchObject({ ok: false, problem: 'same_keys' });
    expect(checkTrailer(trailerWith(hex('ff0780'), TRANSPORT_KEY, TRANSPORT_KEY), 'transport')).toMatchObject({ ok: true });
  });

  it('builds a trailer only when it passes', () => {
    expect(toHex(trailerBlock(KEY_A, CREDENTIAL_ACCESS, KEY_B, 'credential'))).toBe('0f2873cafb51' + '787788' + '69' + 'b67a860dcb80');
    expect(toHex(trailerBlock(TRANSPORT_KEY, TRANSPORT_ACCESS, TRANSPORT_KEY, 'transport'))).toBe('ffffffffffffff078069ffffffffffff');
    expect(() => trailerBlock(KEY_A, [4, 4, 4, 4], KEY_B, 'credential')).toThrow(TrailerError);
    try {
      trailerBlock(KEY_A, [0, 0, 0, 1], KEY_B, 'credential');
    } catch (e) {
      expect((e as TrailerError).problem).toBe('key_b_readable');
    }
  });
});
