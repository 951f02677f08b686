// One piece of work on the station's encoder (encode a card, read one), as the operator follows it:
// take the previous card off (when the card still lying there is one just encoded here), lay a card on,
// the core's progress (reading, writing n/4, verifying, saving), then done or failed with the core's
// message. The call itself waits in the core for the card (a Later); Cancel asks the core to stop
// waiting, which then refuses the call — that refusal is a cancellation, not an error to show.
import { getCurrentScope, onScopeDispose, ref, shallowRef, watch } from 'vue';
import { GatehouseError, type EncoderStep } from '../../../../core/contract/index.ts';
import { client } from '../../client/contract-client.ts';
import type { Station } from '../../composables/encoders.ts';

export type JobPhase = 'idle' | 'remove_card' | 'waiting' | 'working' | 'done' | 'failed';
export type Outcome<T> = { kind: 'done'; value: T } | { kind: 'failed'; error: Error } | { kind: 'cancelled' };

export function useEncoderJob<T>(station: Station) {
  const phase = ref<JobPhase>('idle');
  /** The core's last step for this work, and the credential's blocks written so far (of 4). */
  const step = ref<EncoderStep | null>(null);
  const blocks = ref(0);
  const result = shallowRef<T | null>(null);
  const error = shallowRef<Error | null>(null);
  /** The card that has to leave the encoder before this work starts. */
  const uidToRemove = ref<string | null>(null);
  /** Cancel was refused: the card is being written already, and that is finished first. */
  const tooLateToCancel = ref(false);
  /** The encoder this work runs on, while it runs. */
  const encoderId = ref<string | null>(null);
  let run = 0;
  let cancelled = false;
  let stopRemovalWait: (() => void) | null = null;

  const cardOn = (id: string) => station.encoders.byId(id)?.card?.uid ?? null;

  /** Resolves true once no card of `avoid` lies on the encoder, false when cancelled or the encoder left. */
  function cardTakenOff(id: string, avoid: Set<string>): Promise<boolean> {
    return new Promise((resolve) => {
      const stop = watch(
        () => [station.encoders.byId(id) !== undefined, cardOn(id)] as const,
        ([there, uid]) => {
          if (there && uid && avoid.has(uid)) return;
          stop();
          stopRemovalWait = null;
          resolve(there);
        },
      );
      stopRemovalWait = () => {
        stop();
        stopRemovalWait = null;
        resolve(false);
      };
    });
  }

  async function start(call: (encoderId: string) => Promise<T>, opts: { avoid?: Iterable<string> } = {}): Promise<Outcome<T>> {
    const id = station.encoderId.value;
    if (!id) return { kind: 'failed', error: new GatehouseError('unavailable', 'No encoder is attached') };
    const mine = ++run;
    cancelled = false;
    tooLateToCancel.value = false;
    result.value = null;
    error.value = null;
    step.value = null;
    blocks.value = 0;
    encoderId.value = id;
    const avoid = new Set(opts.avoid ?? []);
    const onIt = cardOn(id);
    if (onIt && avoid.has(onIt)) {
      // Started again at once, the core would take the card just made for the next one.
      uidToRemove.value = onIt;
      phase.value = 'remove_card';
      const free = await cardTakenOff(id, avoid);
      uidToRemove.value = null;
      if (mine !== run) return { kind: 'cancelled' };
      if (!free) {
        phase.value = 'idle';
        encoderId.value = null;
        return { kind: 'cancelled' };
      }
    }
    phase.value = 'waiting';
    // Progress is per encoder: only what follows this call's own "waiting for a card" is this work's.
    let ours = false;
    const off = client.on('encoder.progress', (p) => {
      if (mine !== run || p.encoder_id !== id || (phase.value !== 'waiting' && phase.value !== 'working')) return;
      if (p.step === 'waiting_for_card') {
        ours = true;
        return;
      }
      // The call's answer, not the event, says how it ended (the event may come before or after it).
      if (!ours || p.step === 'done' || p.step === 'failed') return;
      phase.value = 'working';
      step.value = p.step;
      blocks.value = p.blocks_written;
    });
    try {
      const value = await call(id);
      if (mine !== run) return { kind: 'done', value };
      result.value = value;
      phase.value = 'done';
      return { kind: 'done', value };
    } catch (e) {
      if (mine !== run) return { kind: 'cancelled' };
      if (cancelled) {
        phase.value = 'idle';
        return { kind: 'cancelled' };
      }
      const err = e instanceof Error ? e : new Error(String(e));
      error.value = err;
      phase.value = 'failed';
      return { kind: 'failed', error: err };
    } finally {
      off();
      if (mine === run) encoderId.value = null;
    }
  }

  async function cancel(): Promise<void> {
    if (phase.value === 'remove_card') {
      stopRemovalWait?.();
      return;
    }
    if (phase.value !== 'waiting' || !encoderId.value) return;
    cancelled = true;
    try {
      const r = await client.call('encoders.cancel', { encoder_id: encoderId.value });
      if (!r.cancelled) {
        // Already writing: the card is finished first; the answer will say how it went.
        cancelled = false;
        tooLateToCancel.value = true;
      }
    } catch {
      cancelled = false;
    }
  }

  function reset(): void {
    if (phase.value === 'waiting' || phase.value === 'working') return;
    stopRemovalWait?.();
    phase.value = 'idle';
    result.value = null;
    error.value = null;
    step.value = null;
    blocks.value = 0;
  }

  const busy = () => phase.value === 'remove_card' || phase.value === 'waiting' || phase.value === 'working';

  // Leaving the screen stops the wait, so the encoder is free for whoever uses it next.
  if (getCurrentScope()) {
    onScopeDispose(() => {
      if (phase.value === 'waiting' && encoderId.value) void client.call('encoders.cancel', { encoder_id: encoderId.value }).catch(() => undefined);
      stopRemovalWait?.();
      run++;
    });
  }

  return { phase, step, blocks, result, error, uidToRemove, tooLateToCancel, encoderId, start, cancel, reset, busy };
}

export type EncoderJob<T> = ReturnType<typeof useEncoderJob<T>>;
/** What a progress display needs of a job, whatever it returns. */
export type JobView = Pick<EncoderJob<unknown>, 'phase' | 'step' | 'blocks' | 'uidToRemove' | 'tooLateToCancel' | 'encoderId' | 'cancel'>;
