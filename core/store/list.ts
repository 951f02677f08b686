// Paged, filtered, ordered lists over one resource: the shared engine behind every *.list query and the
// CLP API's {items, next_page_link, count}. Filters come in as trees (from OData or the UI) and are
// checked against the resource's field map; free-text search goes over a few chosen columns.
import { GatehouseError } from '../contract/errors.ts';
import type { ListInput } from '../contract/schemas.ts';
import type { OrderBy } from '../query/filter.ts';
import { filterToSql, FilterFieldError, orderByToSql, type FieldMap } from '../query/filter-sql.ts';
import type { Page } from '../contract/results.ts';
import { stmt, type ReadDb } from './db.ts';

export interface ListSpec<Row, T> {
  /** FROM clause (table with alias, joins). Trusted. */
  from: string;
  select: string;
  fields: FieldMap;
  /** Columns searched by `search` (case-insensitive substring). Trusted. */
  searchColumns: string[];
  defaultOrder: OrderBy[];
  tieBreaker: string;
  /** Search through an index instead of scanning searchColumns: a condition for a term. */
  searchSql?(term: string): { sql: string; params: unknown[] };
  /** An extra alternative for search, e.g. people by tag number. */
  extraSearch?(term: string): { sql: string; params: unknown[] } | null;
  /** Extra fixed condition, e.g. membership of one group. */
  where?: { sql: string; params: unknown[] };
  map(row: Row): T;
}

export function listRows<Row, T>(db: ReadDb, spec: ListSpec<Row, T>, input: ListInput): Page<T> {
  const conds: string[] = [];
  const params: unknown[] = [];
  if (spec.where) {
    conds.push(spec.where.sql);
    params.push(...spec.where.params);
  }
  let order: string;
  try {
    if (input.filter) {
      const f = filterToSql(input.filter, spec.fields);
      conds.push(`(${f.sql})`);
      params.push(...f.params);
    }
    order = orderByToSql(input.order_by?.length ? input.order_by : spec.defaultOrder, spec.fields, spec.tieBreaker);
  } catch (e) {
    if (e instanceof FilterFieldError) throw new GatehouseError('invalid_filter', e.message, [{ path: e.field ?? 'filter', message: e.message }]);
    throw e;
  }
  const search = input.search?.trim();
  if (search) {
    const alternatives: string[] = [];
    if (spec.searchSql) {
      const s = spec.searchSql(search);
      alternatives.push(s.sql);
      params.push(...s.params);
    } else {
      alternatives.push(...spec.searchColumns.map((c) => `instr(lower(${c}), ?) > 0`));
      for (let i = 0; i < spec.searchColumns.length; i++) params.push(search.toLowerCase());
    }
    const extra = spec.extraSearch?.(search);
    if (extra) {
      alternatives.push(extra.sql);
      params.push(...extra.params);
    }
    conds.push(`(${alternatives.join(' OR ')})`);
  }
  const where = conds.length ? `WHERE ${conds.join(' AND ')}` : '';
  const rows = stmt(db, `SELECT ${spec.select} FROM ${spec.from} ${where} ORDER BY ${order} LIMIT ? OFFSET ?`).all(...params, input.top, input.skip) as Row[];
  const count = (stmt(db, `SELECT count(*) AS n FROM ${spec.from} ${where}`).get(...params) as { n: number }).n;
  return { items: rows.map(spec.map), count };
}
