// Creating a record exactly once although the answer to a POST can be lost. KS documents no
// idempotency header and no external-id field on users (domain.md §1.4-1.5), so the client cannot
// hand the cloud a key to deduplicate on. Instead it remembers which matching records existed before
// its first attempt and, after an answer that may hide a committed create (a dropped connection, a
// 5xx), looks for a matching record that is new: one means the create went through, none means it
// did not and is repeated, more than one is reported rather than guessed.
import { KsError } from './errors.ts';
import { backoffDelay, type RetryPolicy } from './retry.ts';

export type CreateOutcome = 'created' | 'recovered' | 'adopted';

export interface CreateOnce<T> {
  create(): Promise<T>;
  /** The records that would count as this one (same email, same customer_reference, ...). */
  find(): Promise<T[]>;
  idOf(record: T): string;
  /**
   * Whether a matching record that was already there counts as this one. True when replaying an
   * outbox entry that an earlier run may have sent (its create could have landed before a crash);
   * false for a first attempt, where an existing match is somebody else's record.
   */
  adoptExisting: boolean;
}

export async function createOnce<T>(op: CreateOnce<T>, policy: RetryPolicy): Promise<{ record: T; outcome: CreateOutcome }> {
  const before = await op.find();
  if (op.adoptExisting && before.length === 1) return { record: before[0]!, outcome: 'adopted' };
  const known = new Set(before.map(op.idOf));
  for (let attempt = 1; ; attempt++) {
    try {
      return { record: await op.create(), outcome: 'created' };
    } catch (e) {
      if (!(e instanceof KsError) || !e.ambiguous) throw e;
      const fresh = (await op.find()).filter((r) => !known.has(op.idOf(r)));
      if (fresh.length === 1) return { record: fresh[0]!, outcome: 'recovered' };
      if (fresh.length > 1) {
        throw new KsError({ status: 0, errorCode: 'duplicate', message: `${fresh.length} new matching records after an unanswered create: ${fresh.map(op.idOf).join(', ')}`, method: e.method, url: e.url, cause: e });
      }
      if (attempt >= policy.maxAttempts) throw e;
      await policy.sleep(Math.max(e.retryAfterMs ?? 0, backoffDelay(attempt, policy)));
    }
  }
}
