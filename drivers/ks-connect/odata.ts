// $filter text for KS Connect, built from values rather than pasted together: strings are quoted
// with '' escaping, dates go out as DateTime'…Z' the way KS reads them (domain.md §1.6), and every
// operand of and/or is parenthesised so precedence never depends on the server's parser.

export type ODataValue = string | number | boolean | null | Date;
export type ODataComparison = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type ODataFilter =
  | { op: 'and' | 'or'; args: ODataFilter[] }
  | { op: ODataComparison; field: string; value: ODataValue };

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(?:\/[A-Za-z_][A-Za-z0-9_]*)*$/;
const NOT_FIELDS = new Set(['and', 'or', 'not', 'eq', 'ne', 'gt', 'ge', 'lt', 'le', 'true', 'false', 'null']);

const compare =
  (op: ODataComparison) =>
  (field: string, value: ODataValue): ODataFilter => ({ op, field, value });

export const eq = compare('eq');
export const ne = compare('ne');
export const gt = compare('gt');
export const ge = compare('ge');
export const lt = compare('lt');
export const le = compare('le');
export const and = (...args: ODataFilter[]): ODataFilter => ({ op: 'and', args });
export const or = (...args: ODataFilter[]): ODataFilter => ({ op: 'or', args });

function field(name: string): string {
  if (!FIELD.test(name) || NOT_FIELDS.has(name.toLowerCase())) throw new TypeError(`'${name}' cannot be an OData field name`);
  return name;
}

function literal(value: ODataValue): string {
  if (value === null) return 'null';
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError('Cannot write an invalid Date as OData');
    return `DateTime'${value.toISOString()}'`;
  }
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`;
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`Cannot write ${value} as OData`);
  return String(value);
}

export function formatFilter(f: ODataFilter): string {
  if ('args' in f) {
    if (f.args.length === 0) throw new TypeError(`An empty '${f.op}' has no OData form`);
    if (f.args.length === 1) return formatFilter(f.args[0]!);
    return f.args.map((a) => `(${formatFilter(a)})`).join(` ${f.op} `);
  }
  return `${field(f.field)} ${f.op} ${literal(f.value)}`;
}
