// Seeded, per-route fault injection for the mock KS cloud. A rule names the route it hits (as
// "METHOD /pattern", e.g. "POST /users", "GET /entries", "POST /connect/token"; "*" for any), how many
// times it fires and with what probability; the same seed gives the same schedule, so a failing
// randomised test can be replayed.
import { createRng } from '../../drivers/osdp/testing/prng.ts';

export type Fault =
  /** Answer late. */
  | { kind: 'latency'; ms: number }
  /** Carry the request out, then cut the connection without an answer. */
  | { kind: 'drop' }
  /** 500 ErrorCode 2201, the request not carried out. */
  | { kind: 'error500' }
  /** 429 with Retry-After (seconds), the request not carried out. */
  | { kind: 'rate-limit'; retryAfterSeconds: number }
  /** The access token presented is treated as expired: 401 1500. */
  | { kind: 'expire-token' }
  /** A list page starts again with the last item of the previous page, as at-least-once paging does. */
  | { kind: 'duplicate' };

export interface FaultRule {
  route: string;
  fault: Fault;
  /** How many times the rule may fire; unlimited when absent. */
  times?: number;
  /** Chance of firing on a matching request, from the seeded generator; 1 when absent. */
  probability?: number;
}

export class Faults {
  readonly #random: () => number;
  #rules: { rule: FaultRule; left: number }[] = [];
  /** Every fault that fired, in order, for tests to assert the schedule really happened. */
  readonly fired: { route: string; kind: Fault['kind'] }[] = [];

  constructor(seed = 1) {
    this.#random = createRng(seed).next;
  }

  add(...rules: FaultRule[]): void {
    for (const rule of rules) this.#rules.push({ rule, left: rule.times ?? Infinity });
  }

  clear(): void {
    this.#rules = [];
  }

  /** The faults that fire for one request to `route` (at most one of each kind). */
  draw(route: string): Fault[] {
    const out: Fault[] = [];
    for (const entry of this.#rules) {
      const { rule } = entry;
      if (entry.left <= 0 || (rule.route !== '*' && rule.route !== route)) continue;
      if (out.some((f) => f.kind === rule.fault.kind)) continue;
      if (rule.probability !== undefined && this.#random() >= rule.probability) continue;
      entry.left--;
      out.push(rule.fault);
      this.fired.push({ route, kind: rule.fault.kind });
    }
    return out;
  }
}
