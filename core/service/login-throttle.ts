// Failed sign-ins are throttled per username and per source address: after 5 failures in 15 minutes
// the key is locked out, for 30 s doubling to at most 15 minutes. Kept in memory on purpose: a read-only
// request must never write to the database, and a restart resetting the counters is acceptable.
const WINDOW_MS = 15 * 60_000;
const FREE_FAILURES = 5;
const BASE_LOCK_MS = 30_000;
const MAX_LOCK_MS = 15 * 60_000;

interface Entry {
  failures: number;
  firstAt: number;
  lockedUntil: number;
  lockouts: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number) {}

  /** Seconds until `keys` may try again, or 0. */
  retryAfter(keys: string[]): number {
    const t = this.now();
    let wait = 0;
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e && e.lockedUntil > t) wait = Math.max(wait, Math.ceil((e.lockedUntil - t) / 1000));
    }
    return wait;
  }

  fail(keys: string[]): void {
    const t = this.now();
    for (const k of keys) {
      let e = this.entries.get(k);
      if (!e || t - e.firstAt > WINDOW_MS) {
        e = { failures: 0, firstAt: t, lockedUntil: 0, lockouts: e?.lockouts ?? 0 };
        this.entries.set(k, e);
      }
      e.failures++;
      if (e.failures >= FREE_FAILURES) {
        e.lockedUntil = t + Math.min(MAX_LOCK_MS, BASE_LOCK_MS * 2 ** e.lockouts);
        e.lockouts++;
        e.failures = 0;
        e.firstAt = t;
      }
    }
    if (this.entries.size > 10_000) this.prune(t);
  }

  succeed(keys: string[]): void {
    for (const k of keys) this.entries.delete(k);
  }

  private prune(t: number): void {
    for (const [k, e] of this.entries) if (e.lockedUntil < t && t - e.firstAt > WINDOW_MS) this.entries.delete(k);
  }
}
