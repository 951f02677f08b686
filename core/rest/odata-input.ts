// OData query options of a list request → the contract's list input.
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
