// Filter / OrderBy trees to SQLite (better-sqlite3) fragments, against a per-resource allow-list.
// SQL text is assembled only from FieldSpec columns and fixed keywords; every user value is a
// bound parameter.
//
// NULL semantics (OData's, two-valued): a condition on a NULL column is false, except
// `ne <value>` and `eq null`, which are true; `not` is plain boolean negation, so
// `not (name eq 'x')` matches rows whose name is NULL. (OData would make contains() on NULL
// null rather than false; we pick false so `not contains(...)` also keeps NULL rows, which is
// what someone excluding a pattern expects.) SQL's own three-valued NOT would silently drop
// NULL rows there, so negations are pushed down to the leaves (negation normal form) and each
// leaf is emitted in a null-aware positive or negated form; without NOT above it, a SQL NULL
// leaf behaves exactly like false.
//
// Case-insensitive string functions use SQLite's lower() and LIKE, which fold ASCII letters only.
import type { ComparisonOp, Filter, FilterValue, OrderBy, StringFunction } from './filter.ts';
import { normalizeDateTime } from './odata.ts';

export type FieldType = 'string' | 'number' | 'boolean' | 'datetime' | 'enum';

export interface FieldSpec {
  /** A trusted SQL expression, e.g. "u.first_name". */
  column: string;
  type: FieldType;
  /** Allowed values of an enum field. */
  values?: readonly string[];
  /** Default true. */
  sortable?: boolean;
  /** Trusted expression to sort by when it differs from `column` (e.g. with COLLATE NOCASE, to match an index). */
  sortExpr?: string;
  /**
   * datetime only: 'iso' (default) is TEXT in toISOString() form, which sorts chronologically
   * as text; 'epoch_ms' is an INTEGER of milliseconds since the epoch.
   */
  storage?: 'iso' | 'epoch_ms';
}

export type FieldMap = Record<string, FieldSpec>;

export class FilterFieldError extends Error {
  override readonly name = 'FilterFieldError';
  readonly field?: string;

  constructor(message: string, field?: string) {
    super(message);
    this.field = field;
  }
}

/** `sql` is a condition for a WHERE clause (without the keyword); `params` bind its `?`s in order. */
export function filterToSql(filter: Filter, fields: FieldMap): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const sql = compile(filter, false, fields, params);
  return { sql, params };
}

/**
 * The list to follow ORDER BY (without the keyword). `tieBreaker` is a trusted unique column
 * (e.g. "u.pk") appended in the direction of the last item so that paging is stable.
 */
export function orderByToSql(order: OrderBy[], fields: FieldMap, tieBreaker: string): string {
  const terms = order.map(({ field, direction }) => {
    const spec = lookup(fields, field, '$orderby');
    if (spec.sortable === false) {
      throw new FilterFieldError(`Field '${field}' cannot be used in $orderby; sortable fields: ${sortableFields(fields)}`, field);
    }
    if (direction !== 'asc' && direction !== 'desc') {
      throw new FilterFieldError(`Invalid sort direction for field '${field}': expected asc or desc`, field);
    }
    return `${spec.sortExpr ?? columnSql(spec)} ${direction.toUpperCase()}`;
  });
  terms.push(`${tieBreaker} ${order.at(-1)?.direction === 'desc' ? 'DESC' : 'ASC'}`);
  return terms.join(', ');
}

function compile(f: Filter, negated: boolean, fields: FieldMap, params: unknown[]): string {
  switch (f.op) {
    case 'not':
      return compile(f.arg, !negated, fields, params);
    case 'and':
    case 'or': {
      const conjunction = (f.op === 'and') !== negated; // De Morgan
      if (f.args.length === 0) return conjunction ? '1' : '0';
      const parts = f.args.map((arg) => compile(arg, negated, fields, params));
      return parts.length === 1 ? parts[0]! : `(${parts.join(conjunction ? ' AND ' : ' OR ')})`;
    }
    case 'contains':
    case 'startswith':
    case 'endswith':
      return compileFunction(f, negated, fields, params);
    default:
      return compileComparison(f, negated, fields, params);
  }
}

const SQL_OPERATOR: Record<'gt' | 'ge' | 'lt' | 'le', string> = { gt: '>', ge: '>=', lt: '<', le: '<=' };
const COMPLEMENT: Record<'gt' | 'ge' | 'lt' | 'le', string> = { gt: '<=', ge: '<', lt: '>=', le: '>' };

function compileComparison(
  f: { op: ComparisonOp; field: string; value: FilterValue },
  negated: boolean,
  fields: FieldMap,
  params: unknown[],
): string {
  const spec = lookup(fields, f.field, '$filter');
  const col = columnSql(spec);
  if (f.value === null) {
    if (f.op !== 'eq' && f.op !== 'ne') {
      throw new FilterFieldError(`Cannot compare field '${f.field}' with null using '${f.op}'; only eq and ne accept null`, f.field);
    }
    return (f.op === 'eq') !== negated ? `${col} IS NULL` : `${col} IS NOT NULL`;
  }
  params.push(toParam(f.field, spec, f.op, f.value));
  if (f.op === 'eq' || f.op === 'ne') {
    // `IS NOT` is the null-safe inequality: true when the column is NULL.
    return (f.op === 'eq') !== negated ? `${col} = ?` : `${col} IS NOT ?`;
  }
  return negated ? `(${col} IS NULL OR ${col} ${COMPLEMENT[f.op]} ?)` : `${col} ${SQL_OPERATOR[f.op]} ?`;
}

function compileFunction(
  f: { op: StringFunction; field: string; value: string },
  negated: boolean,
  fields: FieldMap,
  params: unknown[],
): string {
  const spec = lookup(fields, f.field, '$filter');
  if (spec.type !== 'string') {
    throw new FilterFieldError(`${f.op}() needs a string field, but '${f.field}' is ${TYPE_NAMES[spec.type]}`, f.field);
  }
  if (typeof f.value !== 'string') {
    throw new FilterFieldError(`${f.op}() on '${f.field}' needs a string value, got ${describeValue(f.value)}`, f.field);
  }
  // SQLite's LIKE stops reading a pattern at NUL, which would turn 'a\0b' into a match-all.
  if (f.value.includes('\0')) {
    throw new FilterFieldError(`${f.op}() on '${f.field}': the value must not contain NUL characters`, f.field);
  }
  const col = columnSql(spec);
  if (f.op === 'contains') {
    params.push(f.value);
    const found = `instr(lower(${col}), lower(?))`;
    return negated ? `(${col} IS NULL OR ${found} = 0)` : `${found} > 0`;
  }
  const escaped = f.value.replace(/[\\%_]/g, (c) => `\\${c}`);
  params.push(f.op === 'startswith' ? `${escaped}%` : `%${escaped}`);
  return negated
    ? `(${col} IS NULL OR lower(${col}) NOT LIKE lower(?) ESCAPE '\\')`
    : `lower(${col}) LIKE lower(?) ESCAPE '\\'`;
}

const TYPE_NAMES: Record<FieldType, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  datetime: 'a date-time',
  enum: 'an enum',
};

function toParam(field: string, spec: FieldSpec, op: ComparisonOp, value: Exclude<FilterValue, null>): unknown {
  const ordering = op !== 'eq' && op !== 'ne';
  const mismatch = (expected: string) =>
    new FilterFieldError(`Field '${field}' is ${TYPE_NAMES[spec.type]}; expected ${expected}, got ${describeValue(value)}`, field);
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') throw mismatch('a quoted string');
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw mismatch('a number');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw mismatch('true or false');
      if (ordering) throw new FilterFieldError(`Field '${field}' is a boolean; only eq and ne apply, not '${op}'`, field);
      return value ? 1 : 0;
    case 'enum': {
      const allowed = spec.values ?? [];
      if (typeof value !== 'string' || !allowed.includes(value)) throw mismatch(`one of ${allowed.map((v) => `'${v}'`).join(', ')}`);
      // Enum values are names, not an order.
      if (ordering) throw new FilterFieldError(`Field '${field}' is an enum; only eq and ne apply, not '${op}'`, field);
      return value;
    }
    case 'datetime': {
      const iso = typeof value === 'string' ? normalizeDateTime(value) : undefined;
      if (iso === undefined) throw mismatch('an ISO-8601 date-time such as 2019-01-01T00:00:00Z');
      return spec.storage === 'epoch_ms' ? Date.parse(iso) : iso;
    }
  }
}

function lookup(fields: FieldMap, field: string, option: string): FieldSpec {
  // hasOwn, so that 'constructor' or '__proto__' are unknown fields rather than prototype members.
  const spec = Object.hasOwn(fields, field) ? fields[field] : undefined;
  if (spec === undefined) {
    const allowed = option === '$orderby' ? sortableFields(fields) : Object.keys(fields).join(', ');
    throw new FilterFieldError(`Unknown field '${field}' in ${option}; allowed fields: ${allowed}`, field);
  }
  return spec;
}

function sortableFields(fields: FieldMap): string {
  return Object.keys(fields)
    .filter((name) => fields[name]!.sortable !== false)
    .join(', ');
}

// Parenthesise composite expressions so `IS NULL` and friends bind to the whole column expression.
function columnSql(spec: FieldSpec): string {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(spec.column) ? spec.column : `(${spec.column})`;
}

function describeValue(value: FilterValue): string {
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  return String(value);
}
