// Options searched on the server while someone types in a picker (a site has thousands of doors and
// 100k people): asks once typing pauses, and shows only the newest answer.
import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

export function useRemoteSearch<T>(fetch: (query: string | undefined) => Promise<T[]>, pauseMs = 200) {
  const items = ref([]) as Ref<T[]>;
  const loading = ref(false);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;

  async function load(q: string): Promise<void> {
    const mine = ++seq;
    loading.value = true;
    try {
      const found = await fetch(q.trim() || undefined);
      if (mine === seq) items.value = found;
    } finally {
      if (mine === seq) loading.value = false;
    }
  }

  function search(q: string): void {
    clearTimeout(timer);
    timer = setTimeout(() => void load(q), pauseMs);
  }

  onMounted(() => void load(''));
  onBeforeUnmount(() => clearTimeout(timer));
  return { items, loading, search };
}
