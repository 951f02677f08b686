// Fuzz, host → hub: osdp_MFG payloads and osdp_FILETRANSFER data, the bytes a hub decodes.
// With fuzz-replies.test.ts: over 1,000,000 inputs; the two files run in parallel.
import { describe, expect, it } from 'vitest';
import { fuzz, type FuzzReport } from './testing/fuzz.ts';
import { commandTarget, fileTransferTarget } from './testing/targets.ts';

const SEED = Number(process.env.IQ_FUZZ_SEED ?? 0x1c0ffee);

/** A hang shows as this timeout; it is generous because CI machines run several suites on 2 cores. */
const TIMEOUT_MS = 120_000;

function expectClean(report: FuzzReport, inputs: number): void {
  expect(report.problems, `${report.problemCount} problem(s)`).toEqual([]);
  expect(report.inputs).toBe(inputs);
  expect(report.slowestMs).toBeLessThan(1000);
}

describe('fuzz: hub-side decoders', () => {
  it('decodeCommand: 560,000 mutated and random inputs, no exception, every failure typed, every acceptance canonical', () => {
    const t0 = performance.now();
    const report = fuzz(commandTarget(80, SEED), 560_000, SEED);
    console.log(`decodeCommand: ${JSON.stringify({ ...report, problems: undefined })} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expectClean(report, 560_000);
    // The mix reached every kind of failure and still produced valid messages now and then.
    for (const code of ['truncated', 'trailing_bytes', 'bad_field', 'bad_vendor', 'unsupported_version', 'unknown_command'] as const) {
      expect(report.rejected[code] ?? 0, code).toBeGreaterThan(100);
    }
    expect(report.accepted).toBeGreaterThan(1000);
  }, TIMEOUT_MS);

  it('decodeFileTransfer: 100,000 mutated and random inputs', () => {
    const report = fuzz(fileTransferTarget(300, SEED), 100_000, SEED + 1);
    console.log(`decodeFileTransfer: ${JSON.stringify({ ...report, problems: undefined })}`);
    expectClean(report, 100_000);
    for (const code of ['truncated', 'trailing_bytes', 'bad_field'] as const) expect(report.rejected[code] ?? 0, code).toBeGreaterThan(100);
    expect(report.accepted).toBeGreaterThan(1000);
  }, TIMEOUT_MS);
});
