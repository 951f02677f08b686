// OData query options of a list request → the contract's list input.
import { decodeCursor } from '../audit/query.ts';
import { GatehouseError } from '../contract/errors.ts';
import type { Filter } from '../query/filter.ts';
import { ODataError, parseODataFilter, parseODataOrderBy, parseODataPaging } from '../query/odata.ts';

export type Query = Record<string, string | string[] | undefined>;

export interface ListQuery {
  filter?: Filter;
  order_by?: Array<{ field: string; direction: 'asc' | 'desc' }>;
  top: number;
  skip: number;
  search?: string;
}

const KNOWN = new Set(['$filter', '$orderby', '$top', '$skip', '$search', '$inlinecount', '$count', '$format']);

/** Renames fields written the KS way (user/first_name) to the flat names the core knows. */
function renameFields(f: Filter, alias: (field: string) => string): Filter {
  if ('args' in f) return { op: f.op, args: f.args.map((a) => renameFields(a, alias)) };
  if ('arg' in f) return { op: 'not', arg: renameFields(f.arg, alias) };
  return { ...f, field: alias(f.field) };
}

export function listQuery(q: Query, alias: (field: string) => string = (f) => f): ListQuery {
  for (const k of Object.keys(q)) {
    if (k.startsWith('$') && !KNOWN.has(k)) throw new GatehouseError('validation', `Unknown query option '${k}'`, [{ path: k, message: 'unknown option' }]);
  }
  const one = (k: string): string | undefined => {
    const v = q[k];
    if (Array.isArray(v)) throw new GatehouseError('validation', `Query option '${k}' is given more than once`, [{ path: k, message: 'repeated' }]);
    return v;
  };
  let paging: { top: number; skip: number };
  try {
    paging = parseODataPaging({ $top: one('$top'), $skip: one('$skip') }, { defaultTop: 100, maxTop: 1000 });
  } catch (e) {
    if (e instanceof ODataError) throw new GatehouseError('validation', e.message, [{ path: '$top/$skip', message: e.message }]);
    throw e;
  }
  const out: ListQuery = { ...paging };
  try {
    const filter = one('$filter');
    if (filter !== undefined && filter.trim() !== '') out.filter = renameFields(parseODataFilter(filter), alias);
    const order = one('$orderby');
    if (order !== undefined && order.trim() !== '') out.order_by = parseODataOrderBy(order).map((o) => ({ field: alias(o.field), direction: o.direction }));
  } catch (e) {
    if (e instanceof ODataError) throw new GatehouseError('invalid_filter', `The OData filter format is invalid: ${e.message}`, [{ path: '$filter', message: e.message }]);
    throw e;
  }
  const search = one('$search');
  if (search !== undefined && search.trim() !== '') {
    if (search.length > 200) throw new GatehouseError('validation', '$search is longer than 200 characters', [{ path: '$search', message: 'too long' }]);
    out.search = search;
  }
  return out;
}

/** The URL of the next page, or null on the last one. */
export function nextPageLink(baseUrl: string, q: Query, page: { top: number; skip: number }, count: number): string | null {
  if (page.skip + page.top >= count) return null;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (typeof v === 'string' && k !== '$skip' && k !== '$top') params.set(k, v);
  params.set('$top', String(page.top));
  params.set('$skip', String(page.skip + page.top));
  return `${baseUrl}?${params.toString().replaceAll('%24', '$')}`;
}

// ── Keyset lists (/entries, /incidents) ────────────────────────────────────────────────────────────
// The audit trail is read by position, not by offset: a page ends with a continuation token that the
// next request sends back (in CLP's `CLP-Continuation-Token` header or as `continuation_token`), so
// paging stays fast however deep it goes and rows arriving meanwhile neither repeat nor go missing.

export interface KeysetQuery {
  filter?: Filter;
  order: 'asc' | 'desc';
  limit: number;
  cursor?: string;
  with_count: boolean;
}

const KEYSET_KNOWN = new Set(['$filter', '$orderby', '$top', '$inlinecount', '$count', '$format', '$continuationToken']);
/** Query parameters that carry the continuation token (the old CLP SDK used `$continuationToken`). */
const TOKEN_PARAMS = ['continuation_token', '$continuationToken'];
/** Sort fields the keyset lists accept; both sort by the instant (the old CLP SDK asks for local_date_time). */
const TIME_SORT_FIELDS = new Set(['utc_date_time', 'local_date_time']);

function isCursor(token: string): boolean {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(token)) return false;
  try {
    decodeCursor(token);
    return true;
  } catch {
    return false;
  }
}

/**
 * OData options of a keyset list → paging input. `continuationHeader` is the CLP-Continuation-Token
 * request header. `label` names the list in messages ("Entries").
 */
export function keysetQuery(q: Query, continuationHeader: string | string[] | undefined, label: string): KeysetQuery {
  const invalid = (path: string, message: string): never => {
    throw new GatehouseError('validation', `${path}: ${message}`, [{ path, message }]);
  };
  for (const k of Object.keys(q)) {
    if (k === '$skip') invalid('$skip', `${label} are paged with the continuation token, not $skip: send the continuation_token of the previous page back (CLP-Continuation-Token header or continuation_token parameter), or follow next_page_link`);
    if (k === '$search') invalid('$search', `${label} take no $search; use $filter`);
    if (k.startsWith('$') && !KEYSET_KNOWN.has(k)) throw new GatehouseError('validation', `Unknown query option '${k}'`, [{ path: k, message: 'unknown option' }]);
  }
  const one = (k: string): string | undefined => {
    const v = q[k];
    if (Array.isArray(v)) throw new GatehouseError('validation', `Query option '${k}' is given more than once`, [{ path: k, message: 'repeated' }]);
    return v;
  };

  let limit = 100;
  const top = one('$top');
  if (top !== undefined) {
    if (!/^\d{1,7}$/.test(top) || Number(top) < 1 || Number(top) > 1000) invalid('$top', `must be a whole number from 1 to 1000, not '${top.slice(0, 20)}'`);
    limit = Number(top);
  }

  let withCount = false;
  const inline = one('$inlinecount');
  if (inline !== undefined) {
    if (inline !== 'allpages' && inline !== 'none') invalid('$inlinecount', `must be allpages or none, not '${inline.slice(0, 20)}'`);
    withCount = inline === 'allpages';
  }
  const count = one('$count');
  if (count !== undefined) {
    if (count !== 'true' && count !== 'false') invalid('$count', `must be true or false, not '${count.slice(0, 20)}'`);
    withCount ||= count === 'true';
  }

  const out: KeysetQuery = { order: 'desc', limit, with_count: withCount };
  try {
    const filter = one('$filter');
    if (filter !== undefined && filter.trim() !== '') out.filter = parseODataFilter(filter);
  } catch (e) {
    if (e instanceof ODataError) throw new GatehouseError('invalid_filter', `The OData filter format is invalid: ${e.message}`, [{ path: '$filter', message: e.message }]);
    throw e;
  }
  const orderby = one('$orderby');
  if (orderby !== undefined && orderby.trim() !== '') {
    const sorted = `${label} are sorted by utc_date_time only: $orderby=utc_date_time desc (the default) or utc_date_time asc`;
    let order;
    try {
      order = parseODataOrderBy(orderby);
    } catch (e) {
      if (e instanceof ODataError) throw new GatehouseError('invalid_filter', `The OData $orderby is invalid: ${e.message}. ${sorted}`, [{ path: '$orderby', message: e.message }]);
      throw e;
    }
    if (order.length !== 1 || !TIME_SORT_FIELDS.has(order[0]!.field)) {
      throw new GatehouseError('invalid_filter', `Cannot sort by '${order.map((o) => o.field).join(', ')}': ${sorted}`, [{ path: '$orderby', message: sorted }]);
    }
    out.order = order[0]!.direction;
  }

  const tokens = new Set<string>();
  for (const [where, v] of [['CLP-Continuation-Token', continuationHeader], ...TOKEN_PARAMS.map((k) => [k, q[k]] as const)] as const) {
    for (const t of Array.isArray(v) ? v : v === undefined ? [] : [v]) {
      const token = t.trim();
      if (token === '') continue;
      if (!isCursor(token)) invalid('continuation_token', `'${token.slice(0, 20)}' (${where}) is not a continuation token returned by this list; start again without one`);
      tokens.add(token);
    }
  }
  if (tokens.size > 1) invalid('continuation_token', 'two different continuation tokens were sent; send one (header or parameter)');
  if (tokens.size === 1) out.cursor = [...tokens][0];
  return out;
}

/** The URL of the next page of a keyset list: the same options with this continuation token. */
export function keysetNextPageLink(baseUrl: string, q: Query, token: string): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (typeof v === 'string' && !TOKEN_PARAMS.includes(k)) params.set(k, v);
  params.set('continuation_token', token);
  return `${baseUrl}?${params.toString().replaceAll('%24', '$')}`;
}
