// The card encoders attached now (encoders.list), kept live by encoder.status, which always carries the
// whole picture (attach, detach, a card laid on or taken off, busy or free): a pushed state simply
// replaces the one held. encoder.progress is kept per encoder for display. The demo's card tray
// (encoders.tray.*) is asked again whenever the status changes, as that is when its cards move.
// A thin adapter: what to do with a card is decided in the core; the station's flows are in
// components/encoder/.
import { computed, onMounted, onUnmounted, ref, shallowRef, type InjectionKey, type Ref } from 'vue';
import type { ContractEvents, EncodersState, EncoderStatus, TrayCard } from '../../../core/contract/index.ts';
import { client } from '../client/contract-client.ts';

/** A pushed status is never lost for long: a missed one (socket reconnecting) is caught up by this. */
const REFRESH_MS = 15_000;

export type EncoderProgress = ContractEvents['encoder.progress'];

export function useEncoders() {
  const state = shallowRef<EncodersState | null>(null);
  const error = ref<string | null>(null);
  const tray = ref<TrayCard[]>([]);
  const trayError = ref<string | null>(null);
  const progress = ref<Record<string, EncoderProgress>>({});
  let seq = 0;
  let traySeq = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const offs: Array<() => void> = [];

  async function reload(): Promise<void> {
    const mine = ++seq;
    try {
      const s = await client.call('encoders.list', {});
      // A status pushed while the list was on its way is newer: it bumped seq, so this answer is dropped.
      if (mine !== seq) return;
      apply(s, false);
      error.value = null;
    } catch (e) {
      if (mine === seq) error.value = (e as Error).message;
    }
  }

  function apply(s: EncodersState, pushed = true): void {
    if (pushed) seq++;
    state.value = s;
    if (s.tray) void reloadTray();
  }

  async function reloadTray(): Promise<void> {
    const mine = ++traySeq;
    try {
      const cards = await client.call('encoders.tray.list', {});
      if (mine === traySeq) {
        tray.value = cards;
        trayError.value = null;
      }
    } catch (e) {
      if (mine === traySeq) trayError.value = (e as Error).message;
    }
  }

  async function trayCall(call: () => Promise<TrayCard[]>): Promise<void> {
    const mine = ++traySeq;
    try {
      const cards = await call();
      if (mine === traySeq) tray.value = cards;
      trayError.value = null;
    } catch (e) {
      trayError.value = (e as Error).message;
    }
  }
  const placeCard = (cardId: string, encoderId: string) => trayCall(() => client.call('encoders.tray.place', { card_id: cardId, encoder_id: encoderId }));
  const takeOff = (encoderId: string) => trayCall(() => client.call('encoders.tray.remove', { encoder_id: encoderId }));

  onMounted(() => {
    offs.push(client.on('encoder.status', (s) => apply(s)));
    offs.push(client.on('encoder.progress', (p) => (progress.value = { ...progress.value, [p.encoder_id]: p })));
    void reload();
    timer = setInterval(() => void reload(), REFRESH_MS);
  });
  onUnmounted(() => {
    for (const off of offs) off();
    clearInterval(timer);
  });

  const encoders = computed<EncoderStatus[]>(() => state.value?.encoders ?? []);
  const byId = (id: string | null | undefined) => (id ? encoders.value.find((x) => x.id === id) : undefined);
  return { state, loaded: computed(() => state.value !== null), error, encoders, byId, progress, tray, trayError, reloadTray, placeCard, takeOff, reload };
}

export type Encoders = ReturnType<typeof useEncoders>;

/** What the station hands its panels: the encoders, and the one chosen to work with. */
export interface Station {
  encoders: Encoders;
  /** The encoder the operator works with (null: none attached). */
  encoderId: Ref<string | null>;
  /** Cards encoded here since the station opened: one still on the encoder is taken off before the next. */
  encodedUids: Set<string>;
}
export const STATION: InjectionKey<Station> = Symbol('encoder-station');
