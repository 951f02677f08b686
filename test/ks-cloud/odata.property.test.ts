// The client's $filter text reads back, through the parser the mock (and Gatehouse's own API) uses,
// as the filter that was built: quoting, dates and precedence survive any values.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { Filter } from '../../core/query/filter.ts';
import { parseODataFilter } from '../../core/query/odata.ts';
import { formatFilter, type ODataFilter } from '../../drivers/ks-connect/odata.ts';

const field = fc.constantFrom('alias', 'user/email', 'utc_date_time', 'lock_id', 'online', 'customer_reference');
const value = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
  fc.boolean(),
  fc.constant(null),
  fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
);
const comparison = fc.record({ op: fc.constantFrom('eq', 'ne', 'gt', 'ge', 'lt', 'le' as const), field, value });
const filter: fc.Arbitrary<ODataFilter> = fc.letrec<{ f: ODataFilter }>((tie) => ({
  f: fc.oneof({ depthSize: 'small', withCrossShrink: true }, comparison, fc.record({ op: fc.constantFrom('and', 'or' as const), args: fc.array(tie('f'), { minLength: 2, maxLength: 3 }) })),
})).f;

/** What the parser should read: dates become their ISO text. */
function expected(f: ODataFilter): Filter {
  if ('args' in f) return { op: f.op, args: f.args.map(expected) };
  return { op: f.op, field: f.field, value: f.value instanceof Date ? f.value.toISOString() : f.value };
}

/** The parser flattens a chain of the same operator; compare modulo that. */
function flat(f: Filter): Filter {
  if (f.op !== 'and' && f.op !== 'or') return f;
  return { op: f.op, args: f.args.map(flat).flatMap((a) => (a.op === f.op ? (a as { args: Filter[] }).args : [a])) };
}

it('formatFilter text parses back to the same filter', () => {
  fc.assert(
    fc.property(filter, (f) => {
      expect(flat(parseODataFilter(formatFilter(f)))).toEqual(flat(expected(f)));
    }),
    { numRuns: 500 },
  );
});
