// When and how long to wait before asking the cloud again. KS publishes no rate limit (domain.md
// §1.7), so 429 and 5xx are met with exponential backoff and full jitter, a Retry-After the cloud
// sends wins over our own guess, and the number of attempts is bounded so a dead cloud becomes an
// error the sync engine can show rather than a hang.
import type { KsError } from './errors.ts';

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * 2202/2203 right after a create are the cloud catching up (domain.md §1.9: about a minute in
   * practice), so they get their own, longer budget; only calls marked `afterCreate` use it.
   */
  settleAttempts: number;
  settleDelayMs: number;
  /** Injected so tests run without real waits. */
  sleep(ms: number): Promise<void>;
  /** In [0, 1); injected so tests can pin the jitter. */
  random(): number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  settleAttempts: 12,
  settleDelayMs: 5_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** Full jitter (uniform in [0, cap]), so many clients backing off together do not return together. */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(policy.random() * cap);
}

export type RetryVerdict = { retry: false } | { retry: true; delayMs: number };

/**
 * Whether a failed attempt (1-based `attempt`) is worth another. `replayable` is false for a create
 * whose outcome is unknown: repeating it blindly could make a second record (idempotent-create.ts
 * handles those).
 */
export function retryVerdict(error: KsError, attempt: number, policy: RetryPolicy, opts: { replayable: boolean; afterCreate: boolean }): RetryVerdict {
  const settling = opts.afterCreate && (error.errorCode === '2202' || error.errorCode === '2203') && (error.status === 404 || error.status === 403);
  if (settling) {
    return attempt < policy.settleAttempts ? { retry: true, delayMs: policy.settleDelayMs } : { retry: false };
  }
  if (attempt >= policy.maxAttempts) return { retry: false };
  if (error.status === 429) {
    return { retry: true, delayMs: error.retryAfterMs ?? backoffDelay(attempt, policy) };
  }
  const transient = error.status >= 500 || error.status === 0;
  if (!transient) return { retry: false };
  if (error.ambiguous && !opts.replayable) return { retry: false };
  return { retry: true, delayMs: Math.max(error.retryAfterMs ?? 0, backoffDelay(attempt, policy)) };
}
