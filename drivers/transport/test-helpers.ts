// Shared by the transport tests: collect what a stream delivers and wait for it without sleeping
// blindly. Not a test file itself (vitest only picks up *.test.ts).
import type { ByteStream, CloseReason } from './byte-stream.ts';

export interface Collector {
  readonly chunks: Uint8Array[];
  readonly closes: CloseReason[];
  bytes(): Uint8Array;
  /** Resolves when at least `n` bytes have arrived; rejects after `ms` with what did arrive. */
  waitForBytes(n: number, ms?: number): Promise<Uint8Array>;
  waitForClose(ms?: number): Promise<CloseReason>;
}

export function collect(stream: ByteStream): Collector {
  const chunks: Uint8Array[] = [];
  const closes: CloseReason[] = [];
  let total = 0;
  const waiters = new Set<() => void>();
  const poke = (): void => {
    for (const w of [...waiters]) w();
  };
  stream.onData((c) => {
    chunks.push(c);
    total += c.length;
    poke();
  });
  stream.onClose((r) => {
    closes.push(r);
    poke();
  });
  const bytes = (): Uint8Array => concat(chunks);
  const waitFor = <T>(ready: () => T | undefined, ms: number, what: () => string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const v = ready();
        if (v === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what()}`));
      }, ms);
      waiters.add(check);
      check();
    });
  return {
    chunks,
    closes,
    bytes,
    waitForBytes: (n, ms = 5000) =>
      // Counted, not concatenated, on every chunk: large streams arrive in hundreds of chunks.
      waitFor(() => (total >= n ? bytes() : undefined), ms, () => `${n} bytes (have ${total})`),
    waitForClose: (ms = 5000) => waitFor(() => closes[0], ms, () => 'close'),
  };
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Index of the first byte where a and b differ (a length difference counts), or -1 when equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Distinct, position-dependent bytes: a reordering or a lost chunk shows up as a mismatch. */
export function pattern(length: number, seed = 0): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

export function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
