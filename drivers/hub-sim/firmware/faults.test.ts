import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../osdp/testing/fake-clock.ts';
import { FaultyPipe, type FaultConfig } from './faults.ts';

function run(config: FaultConfig, seed: number, n = 2000) {
  const clock = new FakeClock();
  const out: number[] = [];
  const pipe = new FaultyPipe((c) => out.push(c[0]! | (c[1]! << 8)), { config, seed, clock });
  for (let i = 0; i < n; i++) pipe.push(Uint8Array.of(i & 0xff, i >> 8));
  return { out, pipe, clock };
}

describe('FaultyPipe', () => {
  it('drops, corrupts and duplicates at about the configured rates, the same way for the same seed', () => {
    const a = run({ drop: 0.05, corrupt: 0.05, duplicate: 0.01 }, 7);
    const b = run({ drop: 0.05, corrupt: 0.05, duplicate: 0.01 }, 7);
    expect(a.out).toEqual(b.out);
    expect(a.pipe.stats.dropped).toBeGreaterThan(60);
    expect(a.pipe.stats.dropped).toBeLessThan(140);
    expect(a.pipe.stats.corrupted).toBeGreaterThan(60);
    expect(a.pipe.stats.duplicated).toBeGreaterThan(5);
    expect(a.out.length).toBe(2000 - a.pipe.stats.dropped + a.pipe.stats.duplicated);
    expect(run({ drop: 0.05 }, 8).out).not.toEqual(run({ drop: 0.05 }, 7).out);
  });

  it('passes everything through untouched with no faults', () => {
    expect(run({}, 1, 500).out).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('delays and stalls without reordering', async () => {
    const { out, clock } = run({ delay: 0.2, delayMs: 40, stall: 0.01, stallMs: 300 }, 3, 300);
    expect(out.length).toBeLessThan(300);
    await clock.advance(10_000);
    expect(out).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });
});
