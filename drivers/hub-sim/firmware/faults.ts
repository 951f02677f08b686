// Faults on the byte stream between a transport and the firmware, one direction per FaultyPipe. A
// chunk is whatever crossed at once (a USB packet, a TCP read, one reply write): it may be dropped,
// get one byte flipped, arrive twice, arrive late, or the whole pipe may stall for a while. Order is
// kept: a delayed chunk holds back the ones behind it, as on a real cable; reordering would be a
// fault no byte stream has. Seeded, so a failing run replays.
import { systemClock, type Clock, type Timer } from '../../osdp/clock.ts';
import { createRng, type Rng } from '../../osdp/testing/prng.ts';

export interface FaultConfig {
  /** Each a probability per chunk, 0–1. */
  drop?: number;
  corrupt?: number;
  duplicate?: number;
  delay?: number;
  /** How late a delayed chunk arrives. Default 50 ms. */
  delayMs?: number;
  stall?: number;
  /** How long a stall holds everything. Default 300 ms. */
  stallMs?: number;
}

export interface FaultStats {
  chunks: number;
  dropped: number;
  corrupted: number;
  duplicated: number;
  delayed: number;
  stalls: number;
}

export class FaultyPipe {
  readonly stats: FaultStats = { chunks: 0, dropped: 0, corrupted: 0, duplicated: 0, delayed: 0, stalls: 0 };
  config: FaultConfig;
  readonly #rng: Rng;
  readonly #clock: Clock;
  readonly #deliver: (chunk: Uint8Array) => void;
  readonly #queue: Array<{ chunk: Uint8Array; at: number }> = [];
  #stalledUntil = -Infinity;
  #timer: Timer | null = null;

  constructor(deliver: (chunk: Uint8Array) => void, o: { config?: FaultConfig; seed?: number; clock?: Clock } = {}) {
    this.#deliver = deliver;
    this.config = o.config ?? {};
    this.#rng = createRng(o.seed ?? 1);
    this.#clock = o.clock ?? systemClock;
  }

  push(chunk: Uint8Array): void {
    const c = this.config;
    this.stats.chunks++;
    // One draw per fault kind, always, so a seed replays the same faults whatever the rates are.
    const [drop, corrupt, duplicate, delay, stall] = [0, 0, 0, 0, 0].map(() => this.#rng.next()) as [number, number, number, number, number];
    if (drop < (c.drop ?? 0)) {
      this.stats.dropped++;
      return;
    }
    let bytes = chunk.slice();
    if (corrupt < (c.corrupt ?? 0) && bytes.length > 0) {
      bytes = bytes.slice();
      bytes[this.#rng.int(bytes.length)]! ^= 1 + this.#rng.int(255);
      this.stats.corrupted++;
    }
    const now = this.#clock.now();
    if (stall < (c.stall ?? 0)) {
      this.#stalledUntil = Math.max(this.#stalledUntil, now + (c.stallMs ?? 300));
      this.stats.stalls++;
    }
    let at = Math.max(now, this.#stalledUntil);
    if (delay < (c.delay ?? 0)) {
      at += c.delayMs ?? 50;
      this.stats.delayed++;
    }
    this.#queue.push({ chunk: bytes, at });
    if (duplicate < (c.duplicate ?? 0)) {
      this.#queue.push({ chunk: bytes.slice(), at });
      this.stats.duplicated++;
    }
    this.#pump();
  }

  /** Drops what is still in flight (the cable was pulled). */
  clear(): void {
    this.#queue.length = 0;
    this.#timer?.cancel();
    this.#timer = null;
  }

  #pump(): void {
    if (this.#timer) return;
    const now = this.#clock.now();
    while (this.#queue.length && this.#queue[0]!.at <= now) this.#deliver(this.#queue.shift()!.chunk);
    const head = this.#queue[0];
    if (head) {
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = null;
        this.#pump();
      }, head.at - now);
    }
  }
}
