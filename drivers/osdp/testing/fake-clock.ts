// Simulated time for tests: timers fire only when the test lets time pass, in deadline order, with
// every promise chain settled between two timers, so a run is fast and the same on every machine.
import type { Clock, Timer } from '../clock.ts';

interface Pending {
  at: number;
  order: number;
  callback: () => void;
}

export class FakeClock implements Clock {
  #now = 0;
  #order = 0;
  #pending: Pending[] = [];

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    const entry: Pending = { at: this.#now + Math.max(0, ms), order: this.#order++, callback };
    this.#pending.push(entry);
    return {
      cancel: () => {
        const i = this.#pending.indexOf(entry);
        if (i >= 0) this.#pending.splice(i, 1);
      },
    };
  }

  /** Lets time pass until `done()` holds. Throws if nothing is left to happen first, or `done()` still fails at `limitMs`. */
  async runUntil(done: () => boolean, limitMs = Number.POSITIVE_INFINITY): Promise<void> {
    for (;;) {
      await settle();
      if (done()) return;
      const next = this.#next();
      if (!next) throw new Error(`simulated time stands still at ${this.#now} ms and the awaited condition is still false`);
      if (next.at > limitMs) throw new Error(`the awaited condition is still false at ${limitMs} ms of simulated time`);
      this.#fire(next);
    }
  }

  /** Lets time pass until `promise` settles, and returns it. */
  async run<T>(promise: Promise<T>, limitMs?: number): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await this.runUntil(() => settled, limitMs);
    return promise;
  }

  /** Lets `ms` of simulated time pass, firing every timer due in it. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      await settle();
      const next = this.#next();
      if (!next || next.at > until) break;
      this.#fire(next);
    }
    this.#now = until;
    await settle();
  }

  #next(): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.#pending) if (!best || p.at < best.at || (p.at === best.at && p.order < best.order)) best = p;
    return best;
  }

  #fire(entry: Pending): void {
    this.#pending.splice(this.#pending.indexOf(entry), 1);
    this.#now = Math.max(this.#now, entry.at);
    entry.callback();
  }
}

/** Resolves after every promise reaction queued so far, and those they queue, has run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
