// Fuzz, hub → host: osdp_MFGREP payloads and osdp_FTSTAT data, the bytes the host decodes.
// With fuzz-commands.test.ts: over 1,000,000 inputs; the two files run in parallel.
import { describe, expect, it } from 'vitest';
import { fuzz, type FuzzReport } from './testing/fuzz.ts';
import { ftStatTarget, replyTarget } from './testing/targets.ts';

const SEED = Number(process.env.IQ_FUZZ_SEED ?? 0x1c0ffee);

/** A hang shows as this timeout; it is generous because CI machines run several suites on 2 cores. */
const TIMEOUT_MS = 120_000;

function expectClean(report: FuzzReport, inputs: number): void {
  expect(report.problems, `${report.problemCount} problem(s)`).toEqual([]);
  expect(report.inputs).toBe(inputs);
  expect(report.slowestMs).toBeLessThan(1000);
}

describe('fuzz: host-side decoders', () => {
  it('decodeReply: 440,000 mutated and random inputs, no exception, every failure typed, every acceptance canonical', () => {
    const t0 = performance.now();
    const report = fuzz(replyTarget(60, SEED), 440_000, SEED + 2);
    console.log(`decodeReply: ${JSON.stringify({ ...report, problems: undefined })} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expectClean(report, 440_000);
    for (const code of ['truncated', 'trailing_bytes', 'bad_field', 'bad_vendor', 'unsupported_version', 'unknown_command'] as const) {
      expect(report.rejected[code] ?? 0, code).toBeGreaterThan(100);
    }
    expect(report.accepted).toBeGreaterThan(1000);
  }, TIMEOUT_MS);

  it('decodeFtStat: 50,000 mutated and random inputs', () => {
    const report = fuzz(ftStatTarget(200, SEED), 50_000, SEED + 3);
    console.log(`decodeFtStat: ${JSON.stringify({ ...report, problems: undefined })}`);
    expectClean(report, 50_000);
    for (const code of ['truncated', 'trailing_bytes', 'bad_field'] as const) expect(report.rejected[code] ?? 0, code).toBeGreaterThan(100);
    expect(report.accepted).toBeGreaterThan(1000);
  }, TIMEOUT_MS);
});
