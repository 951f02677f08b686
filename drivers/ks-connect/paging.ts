// Reading whole lists. Ordinary lists are followed through next_page_link (a full URL) until null;
// entries and incidents through the CLP-Continuation-Token header, echoing the body's
// continuation_token (domain.md §1.6). Items are yielded as pages arrive so 100k entries never sit in
// memory at once, and an item already yielded in this read (a page boundary that moved while we
// read) is not yielded twice: for lists the ids of the whole read are kept (a list is as long as the
// site is big), for entries and incidents only the previous page's (a keyset page can only repeat
// the items at its boundary, and a month of entries must not pile up as a set of ids).
import type { KsHttp } from './http.ts';
import type { KsListPage } from './types.ts';

export type Query = Record<string, string | number | undefined>;

/** A page may be the envelope or, on some routes and days, a bare array (domain.md §1.6). */
function asPage<T>(body: KsListPage<T> | T[] | undefined): KsListPage<T> {
  if (body === undefined) return { items: [], next_page_link: null };
  return Array.isArray(body) ? { items: body, next_page_link: null } : body;
}

export async function* followNextPageLinks<T extends { id: string }>(http: KsHttp, path: string, query: Query = {}): AsyncGenerator<T> {
  const seen = new Set<string>();
  let page = asPage((await http.request<KsListPage<T> | T[]>('GET', path, { query })).body);
  for (;;) {
    for (const item of page.items) {
      if (seen.has(item.id)) continue;
      seen.add(item.id);
      yield item;
    }
    if (!page.next_page_link) return;
    page = asPage((await http.request<KsListPage<T> | T[]>('GET', page.next_page_link)).body);
  }
}

export async function* followContinuationTokens<T extends { id: string }>(http: KsHttp, path: string, query: Query = {}): AsyncGenerator<T> {
  let previous = new Set<string>();
  let token: string | null | undefined;
  do {
    const headers: Record<string, string> = token ? { 'CLP-Continuation-Token': token } : {};
    const page = asPage((await http.request<KsListPage<T> | T[]>('GET', path, { query, headers })).body);
    const current = new Set<string>();
    for (const item of page.items) {
      if (previous.has(item.id) || current.has(item.id)) continue;
      current.add(item.id);
      yield item;
    }
    previous = current;
    token = page.continuation_token;
  } while (token);
}
