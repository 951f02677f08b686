// Two ByteLinks joined back to back in memory, each direction with its own faults, for testing the CP
// and PD against a line that drops, corrupts, duplicates, delays and splits. Faults are drawn from a
// seeded generator and delivery runs on a (fake) clock, so a failing run replays exactly.
//
// Delays keep the stream's order (a byte stream does not reorder), and the pieces of one write arrive
// together: a write that is split is still one burst on the line, within the inter-character timeout.
import type { Clock } from '../clock.ts';
import type { ByteLink } from '../link.ts';
import type { Rng } from './prng.ts';

export interface LineFaults {
  /** Probability that a write vanishes whole. */
  dropWrite?: number;
  /** Probability, per byte, that it vanishes. */
  dropByte?: number;
  /** Probability that one byte of a write is replaced by another value. */
  corrupt?: number;
  /** Probability that a write arrives twice. */
  duplicate?: number;
  /** Probability that 1–8 random bytes precede a write. */
  noise?: number;
  /** Each write arrives after 0..maxDelayMs (never before an earlier write). */
  maxDelayMs?: number;
  /** Deliver each write in random pieces. */
  split?: boolean;
}

export interface LineStats {
  writes: number;
  droppedWrites: number;
  droppedBytes: number;
  corrupted: number;
  duplicated: number;
  noisy: number;
}

export interface MemoryLink extends ByteLink {
  /** Faults applied to what this end wrote. */
  readonly stats: LineStats;
}

class Line {
  readonly stats: LineStats = { writes: 0, droppedWrites: 0, droppedBytes: 0, corrupted: 0, duplicated: 0, noisy: 0 };
  #lastArrival = 0;

  constructor(
    private readonly clock: Clock,
    private readonly rng: Rng,
    private readonly faults: LineFaults,
    private readonly deliver: (chunk: Uint8Array) => void,
  ) {}

  write(input: Uint8Array): void {
    const { faults, rng, stats } = this;
    stats.writes++;
    if (faults.dropWrite && rng.next() < faults.dropWrite) {
      stats.droppedWrites++;
      return;
    }
    let bytes = input.slice();
    if (faults.dropByte) {
      const kept = bytes.filter(() => rng.next() >= faults.dropByte!);
      stats.droppedBytes += bytes.length - kept.length;
      bytes = kept;
    }
    if (faults.corrupt && bytes.length > 0 && rng.next() < faults.corrupt) {
      stats.corrupted++;
      const at = rng.int(bytes.length);
      bytes[at] = bytes[at]! ^ (1 + rng.int(255));
    }
    if (faults.noise && rng.next() < faults.noise) {
      stats.noisy++;
      const noise = rng.bytes(1 + rng.int(8));
      const joined = new Uint8Array(noise.length + bytes.length);
      joined.set(noise);
      joined.set(bytes, noise.length);
      bytes = joined;
    }
    this.#send(bytes);
    if (faults.duplicate && rng.next() < faults.duplicate) {
      stats.duplicated++;
      this.#send(bytes);
    }
  }

  #send(bytes: Uint8Array): void {
    const { clock, rng, faults } = this;
    const arrival = Math.max(this.#lastArrival, clock.now() + (faults.maxDelayMs ? rng.int(faults.maxDelayMs + 1) : 0));
    this.#lastArrival = arrival;
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; ) {
      const size = faults.split ? 1 + rng.int(bytes.length - at) : bytes.length - at;
      pieces.push(bytes.subarray(at, at + size));
      at += size;
    }
    clock.setTimeout(() => {
      for (const piece of pieces) this.deliver(piece);
    }, arrival - clock.now());
  }
}

/** The two ends of one in-memory line: what `a` writes, `b` receives with `aToB` faults, and back. */
export function memoryLinkPair(clock: Clock, rng: Rng, aToB: LineFaults = {}, bToA: LineFaults = {}): [MemoryLink, MemoryLink] {
  const toA = new Set<(chunk: Uint8Array) => void>();
  const toB = new Set<(chunk: Uint8Array) => void>();
  const emit = (listeners: Set<(chunk: Uint8Array) => void>) => (chunk: Uint8Array) => {
    for (const cb of [...listeners]) cb(chunk);
  };
  const end = (line: Line, inbox: Set<(chunk: Uint8Array) => void>): MemoryLink => ({
    stats: line.stats,
    write(bytes) {
      line.write(bytes);
      return Promise.resolve();
    },
    onData(cb) {
      inbox.add(cb);
      return () => inbox.delete(cb);
    },
  });
  return [end(new Line(clock, rng, aToB, emit(toB)), toA), end(new Line(clock, rng, bToA, emit(toA)), toB)];
}
