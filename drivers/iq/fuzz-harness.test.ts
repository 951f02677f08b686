// The fuzzer must be able to fail: a decoder that throws, answers untyped, accepts sloppily or
// hangs is reported. Without this, a clean fuzz run would prove nothing.
import { describe, expect, it } from 'vitest';
import { encodeCommand } from './mfg.ts';
import { fuzz, mutate, MUTATIONS, Rng, type FuzzTarget } from './testing/fuzz.ts';
import type { DecodeResult } from './wire.ts';

const corpus = [encodeCommand({ type: 'get_status', first_lock_index: 1 }), encodeCommand({ type: 'ack_events', epoch: 7, through_id: 99 })];

function target(decode: (b: Uint8Array) => DecodeResult<Uint8Array>): FuzzTarget<Uint8Array> {
  return { name: 'test', decode, encode: (v) => v, corpus, keep: 5 };
}

describe('fuzz harness', () => {
  it('reports a decoder that throws', () => {
    const r = fuzz(target((b) => { if (b.length > 7) throw new RangeError('boom'); return { ok: false, error: { code: 'truncated', field: null, message: 'short' } }; }), 2000, 1);
    expect(r.problemCount).toBeGreaterThan(0);
    expect(r.problems[0]).toMatch(/threw RangeError: boom/);
  });

  it('reports an untyped failure', () => {
    const r = fuzz(target(() => ({ ok: false, error: { code: 'oops' as never, field: null, message: '' } })), 100, 2);
    expect(r.problems[0]).toMatch(/untyped failure/);
  });

  it('reports an acceptance that does not re-encode to the input', () => {
    const r = fuzz(target((b) => ({ ok: true, value: b.subarray(0, 5) })), 100, 3);
    expect(r.problems.some((p) => /re-encodes as/.test(p))).toBe(true);
  });

  it('reports a decoder that is slow on some input', () => {
    let stalled = false;
    const r = fuzz(
      target((b) => {
        if (b.length === 0 && !stalled) {
          stalled = true;
          const until = performance.now() + 1100;
          while (performance.now() < until);
        }
        return { ok: false, error: { code: 'truncated', field: null, message: 'x' } };
      }),
      3000,
      4,
    );
    expect(r.problems.some((p) => /took \d+/.test(p))).toBe(true);
  });

  it('every mutation changes its input sometimes, and the generator is deterministic', () => {
    for (const kind of MUTATIONS) {
      const rng = new Rng(5);
      const changed = Array.from({ length: 50 }, () => mutate(rng, corpus[1]!, corpus[0]!, kind, 5)).some((m) => Buffer.compare(Buffer.from(m), Buffer.from(corpus[1]!)) !== 0);
      expect(changed, kind).toBe(true);
    }
    const run = () => ({ ...fuzz(target((b) => ({ ok: true, value: b })), 500, 9), slowestMs: 0 });
    expect(run()).toEqual(run());
  });
});
