// The hubs connected now (hubs.list), kept live by hub.status: a link that changes state replaces its
// row, a closed one leaves. The counters a hub status carries (events stored) change without a state
// change, so the list is also asked again now and then while a screen shows it.
import { computed, onMounted, onUnmounted, ref } from 'vue';
import type { HubStatus } from '../../../core/contract/index.ts';
import { client } from '../client/contract-client.ts';

const REFRESH_MS = 10_000;

export function useHubs() {
  const hubs = ref<HubStatus[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  let seq = 0;
  /** Statuses pushed while the newest list was on its way: newer than that list, so they win over it. */
  let pushedMeanwhile = new Map<string, HubStatus>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let off: (() => void) | null = null;

  async function reload(): Promise<void> {
    const mine = ++seq;
    const pushed = (pushedMeanwhile = new Map());
    try {
      const list = await client.call('hubs.list', {});
      if (mine !== seq) return;
      const merged = new Map(list.map((x) => [x.address, x]));
      for (const [address, s] of pushed) {
        if (s.state === 'closed') merged.delete(address);
        else merged.set(address, s);
      }
      hubs.value = sorted([...merged.values()]);
      error.value = null;
    } catch (e) {
      if (mine === seq) error.value = (e as Error).message;
    } finally {
      if (mine === seq) loaded.value = true;
    }
  }

  function apply(s: HubStatus): void {
    pushedMeanwhile.set(s.address, s);
    const rest = hubs.value.filter((x) => x.address !== s.address);
    hubs.value = s.state === 'closed' ? rest : sorted([...rest, s]);
  }

  onMounted(() => {
    off = client.on('hub.status', apply);
    void reload();
    timer = setInterval(() => void reload(), REFRESH_MS);
  });
  onUnmounted(() => {
    off?.();
    clearInterval(timer);
  });

  const byAddress = (address: string | null | undefined) => (address ? hubs.value.find((h) => h.address === address) : undefined);
  const unclaimed = computed(() => hubs.value.filter((h) => h.state === 'unclaimed'));
  return { hubs, loaded, error, reload, byAddress, unclaimed };
}

const sorted = (list: HubStatus[]) => [...list].sort((a, b) => a.address.localeCompare(b.address));
