// A small, fast fuzzer for the IQ decoders: valid encodings from the arbitraries, mutated the way a
// flaky link or a buggy firmware would (bit flips, truncation, extension, inflated counts, splices),
// plus pure noise behind a valid header. For each input it checks what "never throws, never hangs,
// every failure typed" means, and one more thing: an accepted input re-encodes to exactly itself
// (the decoders are strict: nothing is skipped, guessed or normalised).
import type { DecodeErrorCode, DecodeResult } from '../wire.ts';

const ERROR_CODES: ReadonlySet<DecodeErrorCode> = new Set(['truncated', 'trailing_bytes', 'bad_field', 'bad_vendor', 'unsupported_version', 'unknown_command']);

/** xorshift32: deterministic and cheap enough to draw a million inputs in a fraction of the budget. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.s = x;
    return x;
  }
  below(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

const INTERESTING = [0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x40, 0x3f];
/** Varints that blow up a count or a length: 64, 65, 127, 2^14, 2^21, 2^35, and an overlong 1. */
const BIG_VARINTS = [[0x40], [0x41], [0x7f], [0x80, 0x80, 0x01], [0x80, 0x80, 0x80, 0x01], [0xff, 0xff, 0xff, 0xff, 0x7f], [0x81, 0x00], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]];

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export type MutationName =
  | 'bit_flip'
  | 'byte_set'
  | 'truncate'
  | 'extend'
  | 'insert'
  | 'delete'
  | 'count_inflate'
  | 'splice'
  | 'noise_body'
  | 'duplicate';

export const MUTATIONS: readonly MutationName[] = ['bit_flip', 'byte_set', 'truncate', 'extend', 'insert', 'delete', 'count_inflate', 'splice', 'noise_body', 'duplicate'];

/** Applies one named mutation. `other` is a second valid input for splicing; `keep` bytes of header survive noise_body. */
export function mutate(rng: Rng, input: Uint8Array, other: Uint8Array, kind: MutationName, keep: number): Uint8Array {
  const b = input.slice();
  const at = () => rng.below(b.length + 1);
  switch (kind) {
    case 'bit_flip': {
      if (b.length === 0) return rng.bytes(1);
      const flips = 1 + rng.below(4);
      for (let i = 0; i < flips; i++) b[rng.below(b.length)]! ^= 1 << rng.below(8);
      return b;
    }
    case 'byte_set': {
      if (b.length === 0) return rng.bytes(1);
      b[rng.below(b.length)] = rng.below(2) ? INTERESTING[rng.below(INTERESTING.length)]! : rng.next() & 0xff;
      return b;
    }
    case 'truncate':
      return b.subarray(0, rng.below(Math.max(1, b.length)));
    case 'extend':
      return concat(b, rng.bytes(1 + rng.below(16)));
    case 'insert': {
      const p = at();
      return concat(b.subarray(0, p), rng.bytes(1 + rng.below(8)), b.subarray(p));
    }
    case 'delete': {
      const p = at();
      return concat(b.subarray(0, p), b.subarray(Math.min(b.length, p + 1 + rng.below(8))));
    }
    case 'count_inflate': {
      // Lands on counts and lengths often enough: they sit just after the header and in every record.
      const p = Math.min(b.length, rng.below(3) === 0 ? keep + rng.below(8) : at());
      const v = Uint8Array.from(BIG_VARINTS[rng.below(BIG_VARINTS.length)]!);
      return concat(b.subarray(0, p), v, b.subarray(Math.min(b.length, p + 1)));
    }
    case 'splice': {
      const p = at();
      return concat(b.subarray(0, p), other.subarray(rng.below(other.length + 1)));
    }
    case 'noise_body':
      return concat(b.subarray(0, Math.min(keep, b.length)), rng.bytes(rng.below(48)));
    case 'duplicate': {
      const p = at();
      const q = Math.min(b.length, p + 1 + rng.below(16));
      return concat(b.subarray(0, q), b.subarray(p, q), b.subarray(q));
    }
  }
}

export interface FuzzTarget<T> {
  name: string;
  decode(b: Uint8Array): DecodeResult<T>;
  encode(v: T): Uint8Array;
  /** Valid encodings to mutate. */
  corpus: readonly Uint8Array[];
  /** Header bytes that noise_body keeps, so noise reaches the body decoders. */
  keep: number;
  /** Extra checks on a typed failure (e.g. the field names a position the ERROR reply can carry). */
  checkError?(input: Uint8Array, error: { code: DecodeErrorCode; field: string | null; message: string }): string | null;
}

export interface FuzzReport {
  inputs: number;
  accepted: number;
  rejected: Partial<Record<DecodeErrorCode, number>>;
  byMutation: Partial<Record<MutationName | 'random', number>>;
  slowestMs: number;
  /** Up to 10 problems, each with the input in hex: a thrown exception, an untyped failure, a non-canonical acceptance. */
  problems: string[];
  problemCount: number;
}

/** Far above any real decode (microseconds), far below a hang; generous because CI shares its cores. */
const SLOW_MS = 1000;

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Feeds `inputs` inputs to the target: 1 in 16 pure noise, the rest a corpus entry with one to three
 * stacked mutations. Never throws itself: problems are collected in the report.
 */
export function fuzz<T>(target: FuzzTarget<T>, inputs: number, seed: number): FuzzReport {
  const rng = new Rng(seed);
  const report: FuzzReport = { inputs: 0, accepted: 0, rejected: {}, byMutation: {}, slowestMs: 0, problems: [], problemCount: 0 };
  const problem = (input: Uint8Array, what: string) => {
    report.problemCount++;
    if (report.problems.length < 10) report.problems.push(`${target.name}: ${what} on input ${hexOf(input)}`);
  };
  const { corpus } = target;
  for (let i = 0; i < inputs; i++) {
    let input: Uint8Array;
    if (corpus.length === 0 || rng.below(16) === 0) {
      input = rng.bytes(rng.below(64));
      report.byMutation.random = (report.byMutation.random ?? 0) + 1;
    } else {
      input = corpus[rng.below(corpus.length)]!;
      const stacked = 1 + (rng.below(4) === 0 ? 1 + rng.below(2) : 0);
      for (let m = 0; m < stacked; m++) {
        const kind = MUTATIONS[rng.below(MUTATIONS.length)]!;
        input = mutate(rng, input, corpus[rng.below(corpus.length)]!, kind, target.keep);
        report.byMutation[kind] = (report.byMutation[kind] ?? 0) + 1;
      }
    }
    report.inputs++;
    const t0 = performance.now();
    let result: DecodeResult<T>;
    try {
      result = target.decode(input);
    } catch (e) {
      problem(input, `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      continue;
    }
    const ms = performance.now() - t0;
    if (ms > report.slowestMs) report.slowestMs = ms;
    if (ms > SLOW_MS) problem(input, `took ${ms.toFixed(1)} ms`);
    if (result.ok) {
      report.accepted++;
      let again: Uint8Array;
      try {
        again = target.encode(result.value);
      } catch (e) {
        problem(input, `accepted a value its encoder refuses (${e instanceof Error ? e.message : String(e)})`);
        continue;
      }
      if (!sameBytes(again, input)) problem(input, `accepted but re-encodes as ${hexOf(again)}`);
      continue;
    }
    const err = (result as { error?: unknown }).error as { code?: unknown; field?: unknown; message?: unknown } | undefined;
    if (!err || !ERROR_CODES.has(err.code as DecodeErrorCode) || typeof err.message !== 'string' || err.message === '' || (err.field !== null && typeof err.field !== 'string')) {
      problem(input, `untyped failure ${JSON.stringify(err)}`);
      continue;
    }
    const code = err.code as DecodeErrorCode;
    report.rejected[code] = (report.rejected[code] ?? 0) + 1;
    const extra = target.checkError?.(input, { code, field: err.field as string | null, message: err.message });
    if (extra) problem(input, extra);
  }
  return report;
}
