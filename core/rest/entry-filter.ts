// OData $filter of the audit-trail lists (/entries, /incidents) → the contract's filter fields. These
// lists are read by keyset (continuation tokens) on indexes made for one filter kind each, so they do
// not take the general filter tree the other lists take: only a conjunction of equalities on the
// indexed fields plus a range on utc_date_time, which is what CLP clients send. Anything else is
// refused with a message that says what can be filtered, rather than quietly read by a full scan.
// Pure: no database, no service.
import { GatehouseError } from '../contract/errors.ts';
import { ACCESS_BY, ENTRY_CATEGORIES, ENTRY_DETAILS, INCIDENT_TYPES } from '../domain/audit.ts';
import type { ComparisonOp, Filter, FilterValue } from '../query/filter.ts';
import { normalizeDateTime } from '../query/odata.ts';

export interface KeysetFilterField {
  type: 'string' | 'enum' | 'boolean' | 'datetime';
  /** Allowed values of an enum field. */
  values?: readonly string[];
  /** The operators the field takes. */
  ops: readonly ComparisonOp[];
}

export type KeysetFilterFields = Readonly<Record<string, KeysetFilterField>>;

const EQ: readonly ComparisonOp[] = ['eq'];
const RANGE: readonly ComparisonOp[] = ['ge', 'gt', 'le', 'lt'];

/** What /entries can be filtered by. `user_id` takes either user id (the route resolves it). */
export const ENTRY_FILTER_FIELDS: KeysetFilterFields = {
  lock_id: { type: 'string', ops: EQ },
  iq_id: { type: 'string', ops: EQ },
  user_id: { type: 'string', ops: EQ },
  tag_id: { type: 'string', ops: EQ },
  tag_number: { type: 'string', ops: EQ },
  event_category: { type: 'enum', values: ENTRY_CATEGORIES, ops: EQ },
  event_detail: { type: 'enum', values: ENTRY_DETAILS, ops: EQ },
  access_by: { type: 'enum', values: ACCESS_BY, ops: EQ },
  utc_date_time: { type: 'datetime', ops: RANGE },
};

/** What /incidents can be filtered by. */
export const INCIDENT_FILTER_FIELDS: KeysetFilterFields = {
  incident_type: { type: 'enum', values: INCIDENT_TYPES, ops: EQ },
  lock_id: { type: 'string', ops: EQ },
  iq_id: { type: 'string', ops: EQ },
  acknowledged: { type: 'boolean', ops: EQ },
  utc_date_time: { type: 'datetime', ops: RANGE },
};

export interface KeysetFilter {
  /** The contract's filter fields: the equalities, and utc_date_time as from (inclusive) / until (exclusive). */
  fields: Record<string, string | boolean>;
  /** The conditions contradict each other (two values for one field, an empty time range): nothing matches. */
  empty: boolean;
}

/** "lock_id, iq_id, … (eq) and utc_date_time (ge, gt, le, lt)": what the fields take, for error messages. */
export function describeFilterFields(fields: KeysetFilterFields): string {
  const groups = new Map<string, string[]>();
  for (const [name, f] of Object.entries(fields)) {
    const ops = f.ops.join(', ');
    groups.set(ops, [...(groups.get(ops) ?? []), name]);
  }
  return [...groups].map(([ops, names]) => `${names.join(', ')} (${ops})`).join(' and ');
}

/**
 * Translates a parsed $filter. `label` names the list in messages ("Entries"). Throws GatehouseError
 * 'invalid_filter' (CLP 1102) for what the list cannot filter by.
 */
export function translateKeysetFilter(filter: Filter | undefined, fields: KeysetFilterFields, label: string): KeysetFilter {
  const out: KeysetFilter = { fields: {}, empty: false };
  if (!filter) return out;
  const refuse = (problem: string): never => {
    const message = `${problem}. ${label} can be filtered by ${describeFilterFields(fields)}, with conditions joined by 'and'`;
    throw new GatehouseError('invalid_filter', `Unsupported filter: ${message}`, [{ path: '$filter', message }]);
  };
  let from: number | undefined;
  let until: number | undefined;

  const visit = (f: Filter): void => {
    switch (f.op) {
      case 'and':
        f.args.forEach(visit);
        return;
      case 'or':
      case 'not':
        return refuse(`'${f.op}' is not supported`);
      case 'contains':
      case 'startswith':
      case 'endswith':
        return refuse(`${f.op}() is not supported`);
    }
    const spec = Object.hasOwn(fields, f.field) ? fields[f.field] : undefined;
    if (!spec) return refuse(`'${f.field}' is not a field ${label.toLowerCase()} can be filtered by`);
    if (!spec.ops.includes(f.op)) return refuse(`${f.field} takes ${spec.ops.join(', ')}, not '${f.op}'`);
    if (spec.type === 'datetime') {
      const iso = typeof f.value === 'string' ? normalizeDateTime(f.value) : undefined;
      if (iso === undefined) return refuse(`${f.field} is compared with a date-time such as DateTime'2026-11-01T00:00:00Z', not ${shown(f.value)}`);
      const ms = Date.parse(iso);
      // Times are kept to the millisecond: "after T" starts at T + 1 ms, "up to T" ends before T + 1 ms.
      if (f.op === 'ge' || f.op === 'gt') from = Math.max(from ?? -Infinity, f.op === 'gt' ? ms + 1 : ms);
      else until = Math.min(until ?? Infinity, f.op === 'le' ? ms + 1 : ms);
      return;
    }
    const value = checkValue(f.field, spec, f.value, refuse);
    const before = out.fields[f.field];
    if (before === undefined) out.fields[f.field] = value;
    else if (before !== value) out.empty = true;
  };
  visit(filter);

  if (from !== undefined) out.fields.from = new Date(from).toISOString();
  if (until !== undefined) out.fields.until = new Date(until).toISOString();
  if (from !== undefined && until !== undefined && until <= from) out.empty = true;
  return out;
}

function checkValue(field: string, spec: KeysetFilterField, value: FilterValue, refuse: (problem: string) => never): string | boolean {
  if (spec.type === 'boolean') {
    if (typeof value !== 'boolean') return refuse(`${field} is compared with true or false, not ${shown(value)}`);
    return value;
  }
  if (typeof value !== 'string') return refuse(`${field} is compared with a quoted string such as ${field} eq '…', not ${shown(value)}`);
  if (spec.type === 'enum' && !spec.values!.includes(value)) return refuse(`${field} is one of ${spec.values!.join(', ')}, not '${value}'`);
  return value;
}

const shown = (v: FilterValue): string => (typeof v === 'string' ? `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'` : String(v));
