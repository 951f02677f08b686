// A server-paged list, as every big list screen has one (people, tags, doors, IQs, access groups): the
// current page's rows, Naive's pagination, and the rules that keep it honest while someone types —
// only the newest answer is shown, and the spinner appears only for an answer that takes a while
// (drawing and removing it would cost more than a quick search).
import { computed, onBeforeUnmount, reactive, ref, type Ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { useMessage, type PaginationProps } from 'naive-ui';

export interface Page<T> {
  items: T[];
  count: number;
}

export interface PagedListOptions<T> {
  pageSize?: number;
  /** More to fetch for the rows just shown (last openings, door counts); `current()` turns false once a newer load started. */
  afterLoad?: (items: T[], current: () => boolean) => Promise<void> | void;
}

const SPINNER_AFTER_MS = 250;

export function usePagedList<T>(fetchPage: (range: { top: number; skip: number }) => Promise<Page<T>>, o: PagedListOptions<T> = {}) {
  const { t } = useI18n();
  const message = useMessage();
  const rows = ref([]) as Ref<T[]>;
  const loading = ref(false);
  const pagination = reactive({ page: 1, pageSize: o.pageSize ?? 50, itemCount: 0, pageSizes: [25, 50, 100], showSizePicker: true });
  const paginationProps = computed<PaginationProps>(() => ({ ...pagination, prefix: ({ itemCount }) => t('common.total', { n: itemCount ?? 0 }) }));
  let seq = 0;
  let typing: ReturnType<typeof setTimeout> | undefined;

  async function load(): Promise<void> {
    const mine = ++seq;
    const current = () => mine === seq;
    const slow = setTimeout(() => {
      if (current()) loading.value = true;
    }, SPINNER_AFTER_MS);
    try {
      const page = await fetchPage({ top: pagination.pageSize, skip: (pagination.page - 1) * pagination.pageSize });
      if (!current()) return;
      rows.value = page.items;
      pagination.itemCount = page.count;
      clearTimeout(slow);
      loading.value = false;
      await o.afterLoad?.(page.items, current);
    } catch (e) {
      if (current()) message.error((e as Error).message);
    } finally {
      clearTimeout(slow);
      if (current()) loading.value = false;
    }
  }

  /** Back to the first page (the search or a filter changed); with `afterMs`, once typing pauses. */
  function reset(afterMs = 0): void {
    clearTimeout(typing);
    const go = () => {
      pagination.page = 1;
      void load();
    };
    if (afterMs > 0) typing = setTimeout(go, afterMs);
    else go();
  }

  function onPage(page: number): void {
    pagination.page = page;
    void load();
  }

  function onPageSize(size: number): void {
    pagination.pageSize = size;
    reset();
  }

  onBeforeUnmount(() => clearTimeout(typing));
  return { rows, loading, pagination, paginationProps, load, reset, onPage, onPageSize };
}
