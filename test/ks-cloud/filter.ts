// $filter for the mock: parsed by Gatehouse's own OData parser (core/query/odata.ts, the one the
// local CLP-compatible API uses), evaluated here over the mock's JSON records. Field paths such as
// user/email reach into nested objects, as KS's do.
import type { Filter, FilterValue } from '../../core/query/filter.ts';
import { ODataError, parseODataFilter } from '../../core/query/odata.ts';

export class FilterError extends Error {}

function valueAt(record: unknown, path: string): unknown {
  let v: unknown = record;
  for (const part of path.split('/')) {
    if (v === null || typeof v !== 'object' || !(part in v)) throw new FilterError(`Unknown field '${path}'`);
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function compare(a: unknown, b: FilterValue): number | undefined {
  if (a === null || a === undefined || b === null) return a === b || (a === undefined && b === null) ? 0 : undefined;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') {
    // Dates are stored as toISOString() and DateTime literals arrive normalised the same way.
    const da = Date.parse(a);
    const db = Date.parse(b);
    if (/^\d{4}-\d{2}-\d{2}T/.test(a) && /^\d{4}-\d{2}-\d{2}T/.test(b) && !Number.isNaN(da) && !Number.isNaN(db)) return da - db;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : undefined;
  return undefined;
}

export function matches(record: unknown, f: Filter): boolean {
  switch (f.op) {
    case 'and':
      return f.args.every((a) => matches(record, a));
    case 'or':
      return f.args.some((a) => matches(record, a));
    case 'not':
      return !matches(record, f.arg);
    case 'contains':
    case 'startswith':
    case 'endswith': {
      const v = valueAt(record, f.field);
      if (typeof v !== 'string') return false;
      return f.op === 'contains' ? v.includes(f.value) : f.op === 'startswith' ? v.startsWith(f.value) : v.endsWith(f.value);
    }
    default: {
      const c = compare(valueAt(record, f.field), f.value);
      if (c === undefined) return f.op === 'ne';
      return { eq: c === 0, ne: c !== 0, gt: c > 0, ge: c >= 0, lt: c < 0, le: c <= 0 }[f.op];
    }
  }
}

/** The filter for `$filter` text, or undefined when absent; a bad one is a FilterError (→ 400 1102). */
export function parseFilter(text: string | null): Filter | undefined {
  if (text === null) return undefined;
  try {
    return parseODataFilter(text);
  } catch (e) {
    if (e instanceof ODataError) throw new FilterError(e.message);
    throw e;
  }
}
