import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { Filter, FilterValue } from './filter.ts';
import {
  MAX_FILTER_LENGTH,
  ODataError,
  formatODataFilter,
  normalizeDateTime,
  parseODataFilter,
  parseODataOrderBy,
  parseODataPaging,
} from './odata.ts';

function odataError(run: () => unknown): ODataError {
  try {
    run();
  } catch (error) {
    if (error instanceof ODataError) return error;
    throw error;
  }
  throw new Error('expected an ODataError');
}

const filterError = (text: string) => odataError(() => parseODataFilter(text));
const eq = (field: string, value: FilterValue): Filter => ({ op: 'eq', field, value });

describe('parseODataFilter: comparisons and literals', () => {
  it.each([
    ["tag_number eq '00007527'", eq('tag_number', '00007527')],
    ['online eq true', eq('online', true)],
    ['online eq false', eq('online', false)],
    ["locked_state eq 'locked'", eq('locked_state', 'locked')],
    ['name eq null', eq('name', null)],
    ["last_name eq 'O''Brien'", eq('last_name', "O'Brien")],
    ["x eq ''''", eq('x', "'")],
    ["x eq ''", eq('x', '')],
    ["x eq 'größe 😀'", eq('x', 'größe 😀')],
    ['count ge -5', { op: 'ge', field: 'count', value: -5 }],
    ['ratio lt -0.25', { op: 'lt', field: 'ratio', value: -0.25 }],
    ['ratio le 3.5', { op: 'le', field: 'ratio', value: 3.5 }],
    ['n gt 0', { op: 'gt', field: 'n', value: 0 }],
    ['n ne 12', { op: 'ne', field: 'n', value: 12 }],
    ["user/first_name eq 'Ann'", eq('user/first_name', 'Ann')],
    ['_private eq 1', eq('_private', 1)],
  ] as const)('%s', (text, expected) => {
    expect(parseODataFilter(text)).toEqual(expected);
  });

  it('normalises DateTime and bare ISO date-times to UTC with milliseconds', () => {
    expect(parseODataFilter("utc_date_time ge DateTime'2019-01-01T00:00:00Z'")).toEqual({
      op: 'ge',
      field: 'utc_date_time',
      value: '2019-01-01T00:00:00.000Z',
    });
    expect(parseODataFilter('t lt 2019-01-01T00:00:00Z')).toEqual({ op: 'lt', field: 't', value: '2019-01-01T00:00:00.000Z' });
    expect(parseODataFilter('t lt 2019-01-01T00:00:00.123+01:00')).toEqual({
      op: 'lt',
      field: 't',
      value: '2018-12-31T23:00:00.123Z',
    });
    expect(parseODataFilter("t eq datetimeoffset'2019-06-30T23:59:59.5-02:30'")).toEqual(eq('t', '2019-07-01T02:29:59.500Z'));
    // No offset means UTC, not the server's zone.
    expect(parseODataFilter("t eq DateTime'2019-01-01T10:20'")).toEqual(eq('t', '2019-01-01T10:20:00.000Z'));
  });

  it('reads GUIDs, bare or guid-prefixed, as strings', () => {
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(parseODataFilter(`id eq ${id}`)).toEqual(eq('id', id));
    expect(parseODataFilter(`id eq guid'${id}'`)).toEqual(eq('id', id));
    expect(parseODataFilter(`id eq ABCDEF12-D9CB-469F-A165-70867728950E`)).toEqual(eq('id', 'ABCDEF12-D9CB-469F-A165-70867728950E'));
  });

  it('accepts literal-first comparisons by mirroring the operator', () => {
    expect(parseODataFilter("'locked' eq locked_state")).toEqual(eq('locked_state', 'locked'));
    expect(parseODataFilter('5 lt n')).toEqual({ op: 'gt', field: 'n', value: 5 });
    expect(parseODataFilter('5 ge n')).toEqual({ op: 'le', field: 'n', value: 5 });
    expect(parseODataFilter('-1 gt n')).toEqual({ op: 'lt', field: 'n', value: -1 });
    expect(parseODataFilter('null ne n')).toEqual({ op: 'ne', field: 'n', value: null });
  });

  it('treats keywords case-insensitively and whitespace flexibly', () => {
    expect(parseODataFilter("  a Eq 1   AND\tNOT b EQ TRUE\nOr c eq NULL ")).toEqual({
      op: 'or',
      args: [
        { op: 'and', args: [eq('a', 1), { op: 'not', arg: eq('b', true) }] },
        eq('c', null),
      ],
    });
    expect(parseODataFilter('(a eq 1)and(b eq 2)')).toEqual({ op: 'and', args: [eq('a', 1), eq('b', 2)] });
    expect(parseODataFilter("t ge DATETIME'2019-01-01T00:00:00z'")).toEqual({ op: 'ge', field: 't', value: '2019-01-01T00:00:00.000Z' });
  });
});

describe('parseODataFilter: logic', () => {
  const a = eq('a', 1);
  const b = eq('b', 2);
  const c = eq('c', 3);

  it('gives and precedence over or', () => {
    expect(parseODataFilter('a eq 1 or b eq 2 and c eq 3')).toEqual({ op: 'or', args: [a, { op: 'and', args: [b, c] }] });
    expect(parseODataFilter('a eq 1 and b eq 2 or c eq 3')).toEqual({ op: 'or', args: [{ op: 'and', args: [a, b] }, c] });
  });

  it('flattens chains of the same operator into one node', () => {
    expect(parseODataFilter('a eq 1 and b eq 2 and c eq 3')).toEqual({ op: 'and', args: [a, b, c] });
    expect(parseODataFilter('a eq 1 or b eq 2 or c eq 3')).toEqual({ op: 'or', args: [a, b, c] });
  });

  it('honours parentheses, including redundant ones', () => {
    expect(parseODataFilter('(a eq 1 or b eq 2) and c eq 3')).toEqual({ op: 'and', args: [{ op: 'or', args: [a, b] }, c] });
    expect(parseODataFilter('((a eq 1))')).toEqual(a);
    expect(parseODataFilter('(((a eq 1) and ((b eq 2))))')).toEqual({ op: 'and', args: [a, b] });
    expect(parseODataFilter("(state eq 'active') and (online eq true)")).toEqual({
      op: 'and',
      args: [eq('state', 'active'), eq('online', true)],
    });
    // A parenthesised group keeps its own node, so formatted trees read back unchanged.
    expect(parseODataFilter('(a eq 1 and b eq 2) and c eq 3')).toEqual({ op: 'and', args: [{ op: 'and', args: [a, b] }, c] });
  });

  it('binds not tighter than and/or', () => {
    expect(parseODataFilter('not a eq 1 and b eq 2')).toEqual({ op: 'and', args: [{ op: 'not', arg: a }, b] });
    expect(parseODataFilter('not (a eq 1 and b eq 2)')).toEqual({ op: 'not', arg: { op: 'and', args: [a, b] } });
    expect(parseODataFilter('not not a eq 1')).toEqual({ op: 'not', arg: { op: 'not', arg: a } });
    expect(parseODataFilter('b eq 2 or not(a eq 1)')).toEqual({ op: 'or', args: [b, { op: 'not', arg: a }] });
  });
});

describe('parseODataFilter: string functions', () => {
  it('parses contains, startswith and endswith', () => {
    expect(parseODataFilter("contains(name,'ann')")).toEqual({ op: 'contains', field: 'name', value: 'ann' });
    expect(parseODataFilter("startswith( user/last_name , 'O''B' )")).toEqual({ op: 'startswith', field: 'user/last_name', value: "O'B" });
    expect(parseODataFilter("ENDSWITH(name,'x')")).toEqual({ op: 'endswith', field: 'name', value: 'x' });
  });

  it('maps OData v3 substringof to contains, with its reversed arguments', () => {
    expect(parseODataFilter("substringof('ann', name)")).toEqual({ op: 'contains', field: 'name', value: 'ann' });
  });

  it('accepts the v3 style of comparing a function with true or false', () => {
    const call: Filter = { op: 'contains', field: 'name', value: 'ann' };
    expect(parseODataFilter("substringof('ann',name) eq true")).toEqual(call);
    expect(parseODataFilter("substringof('ann',name) eq false")).toEqual({ op: 'not', arg: call });
    expect(parseODataFilter("contains(name,'ann') ne true")).toEqual({ op: 'not', arg: call });
    expect(parseODataFilter("contains(name,'ann') ne false and a eq 1")).toEqual({ op: 'and', args: [call, eq('a', 1)] });
  });

  it('combines functions with logic', () => {
    expect(parseODataFilter("not startswith(name,'a') or contains(name,'b')")).toEqual({
      op: 'or',
      args: [
        { op: 'not', arg: { op: 'startswith', field: 'name', value: 'a' } },
        { op: 'contains', field: 'name', value: 'b' },
      ],
    });
  });

  it('lets function names be used as plain fields', () => {
    expect(parseODataFilter("contains eq 'x'")).toEqual(eq('contains', 'x'));
  });
});

describe('parseODataFilter: errors', () => {
  it.each([
    ['name eq', 7, "Unexpected end of input at position 7: expected a value after 'eq'"],
    ["eq 'x'", 0, "Unexpected token 'eq' at position 0: expected a field name, literal, function, 'not' or '('"],
    ["name eq 'x' and", 15, "Unexpected end of input at position 15: expected a field name, literal, function, 'not' or '('"],
    ["((name eq 'x')", 14, "Unexpected end of input at position 14: expected ')' to close '(' at position 0"],
    ["name xx 'y'", 5, "Unexpected token 'xx' at position 5: expected an operator (eq, ne, gt, ge, lt, le)"],
    ["name eq 'abc", 8, 'Unterminated string starting at position 8'],
    ["name eq 'x')", 11, "Unexpected token ')' at position 11: expected 'and', 'or' or end of input (unbalanced ')')"],
    ["name eq 'x' foo", 12, "Unexpected token 'foo' at position 12: expected 'and', 'or' or end of input"],
    ["(name eq 'x' foo)", 13, "Unexpected token 'foo' at position 13: expected 'and', 'or' or ')' to close '(' at position 0"],
    ['', 0, "Unexpected end of input at position 0: expected a field name, literal, function, 'not' or '('"],
    ['a eq 1 # 2', 7, "Unexpected character '#' at position 7"],
    ['a eq 12abc', 5, "Invalid number literal '12abc' at position 5"],
    ['a eq 1e999', 5, "Number literal out of range: '1e999' at position 5"],
    ['a eq b', 5, "Unsupported comparison at position 5: cannot compare field 'a' with field 'b'; compare a field with a literal value"],
    ['1 eq 2', 0, 'Invalid comparison at position 0: one side must be a field name'],
    ["contains(name, 5)", 15, 'Unexpected token \'5\' at position 15: expected a quoted string as the second argument of contains()'],
    ["contains('x', name)", 9, "Unexpected string 'x' at position 9: expected a field name as the first argument of contains()"],
    ["contains(name 'x')", 14, "Unexpected string 'x' at position 14: expected ',' between the arguments"],
    ["contains(name,'x') gt 1", 19, 'Unexpected comparison at position 19: a function result can only be compared with eq/ne true or false'],
    ["id eq guid'nope'", 6, "Invalid guid literal 'nope' at position 6: expected 8-4-4-4-12 hex digits"],
    ['a eq not', 5, "Unexpected token 'not' at position 5: expected a value after 'eq'"],
  ])('%j', (text, position, message) => {
    const error = filterError(text);
    expect(error.name).toBe('ODataError');
    expect(error.message).toBe(message);
    expect(error.position).toBe(position);
  });

  it.each([
    "t ge DateTime'2019-13-01T00:00:00Z'",
    "t ge DateTime'2019-02-29T00:00:00Z'",
    "t ge DateTime'2019-01-01T24:00:00Z'",
    "t ge DateTime'2019-01-01T00:60:00Z'",
    "t ge DateTime'2019-01-01T00:00:00+25:00'",
    "t ge DateTime'yesterday'",
    't ge 2019-01-01',
    't ge 2019-01-01T00:00:00ZZ',
    't ge 2019-1-01T00:00:00Z',
  ])('rejects the bad date-time in %j', (text) => {
    const error = filterError(text);
    expect(error.message).toMatch(/^(Invalid date-time literal '.*' at position 5: expected YYYY-MM-DDThh:mm|Unexpected)/);
    expect(error.position).toBeGreaterThanOrEqual(5);
  });

  it('names a bad DateTime and where it starts', () => {
    expect(filterError("t ge DateTime'2019-13-01T00:00:00Z'").message).toBe(
      "Invalid date-time literal '2019-13-01T00:00:00Z' at position 5: expected YYYY-MM-DDThh:mm[:ss[.fff]] with an optional Z or ±hh:mm offset",
    );
    expect(filterError("t ge DateTime'2019-01-01").message).toBe('Unterminated string starting at position 13');
  });

  it('rejects input longer than 4000 characters', () => {
    const text = `name eq '${'x'.repeat(MAX_FILTER_LENGTH)}'`;
    const error = filterError(text);
    expect(error.message).toBe(`$filter is too long: ${text.length} characters (at most 4000 are allowed)`);
    expect(error.position).toBe(4000);
    expect(() => parseODataFilter(`name eq '${'x'.repeat(MAX_FILTER_LENGTH - 10)}'`)).not.toThrow();
  });

  it('rejects nesting deeper than 32 levels', () => {
    const nested = (n: number) => `${'('.repeat(n)}a eq 1${')'.repeat(n)}`;
    expect(parseODataFilter(nested(32))).toEqual(eq('a', 1));
    const error = filterError(nested(33));
    expect(error.position).toBe(32);
    expect(error.message).toBe(
      "Filter nested too deeply at position 32: at most 32 levels of parentheses and 'not' are allowed",
    );
    expect(filterError(`${'not '.repeat(33)}a eq 1`).message).toMatch(/^Filter nested too deeply at position 128/);
    expect(parseODataFilter(`${'not '.repeat(32)}a eq 1`)).toMatchObject({ op: 'not' });
  });

  it('survives pathological nesting without a stack overflow', () => {
    expect(filterError('('.repeat(3999)).message).toMatch(/^Filter nested too deeply/);
    expect(filterError('not '.repeat(999)).message).toMatch(/^Filter nested too deeply/);
  });

  it('rejects more than 200 comparisons', () => {
    const conditions = (n: number) => Array.from({ length: n }, (_, i) => `a eq ${i}`).join(' or ');
    expect(parseODataFilter(conditions(200))).toMatchObject({ op: 'or' });
    const error = filterError(conditions(201));
    expect(error.message).toMatch(/^Too many conditions at position \d+: at most 200 comparisons and function calls are allowed$/);
    expect(error.position).toBe(conditions(200).length + ' or '.length);
  });
});

describe('normalizeDateTime', () => {
  it('keeps years 0000-9999 and rejects what leaves that range', () => {
    expect(normalizeDateTime('0001-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00.000Z');
    expect(normalizeDateTime('0050-06-01T00:00:00Z')).toBe('0050-06-01T00:00:00.000Z');
    expect(normalizeDateTime('9999-12-31T23:59:59.999Z')).toBe('9999-12-31T23:59:59.999Z');
    expect(normalizeDateTime('9999-12-31T23:00:00-05:00')).toBeUndefined();
    expect(normalizeDateTime('2020-02-29T00:00:00.1234567Z')).toBe('2020-02-29T00:00:00.123Z');
  });
});

describe('parseODataOrderBy', () => {
  it('parses fields with optional directions', () => {
    expect(parseODataOrderBy('name')).toEqual([{ field: 'name', direction: 'asc' }]);
    expect(parseODataOrderBy('date desc, name asc ,user/last_name')).toEqual([
      { field: 'date', direction: 'desc' },
      { field: 'name', direction: 'asc' },
      { field: 'user/last_name', direction: 'asc' },
    ]);
    expect(parseODataOrderBy('  name   DESC ')).toEqual([{ field: 'name', direction: 'desc' }]);
  });

  it.each([
    ['date foo', 5, "Unexpected token 'foo' at position 5: expected 'asc', 'desc', ',' or end of input"],
    ['date desc desc', 10, "Unexpected token 'desc' at position 10: expected ',' or end of input"],
    ['', 0, '$orderby is empty: expected a field name'],
    ['   ', 0, '$orderby is empty: expected a field name'],
    ['name,', 5, 'Unexpected end of input at position 5: expected a field name'],
    [',name', 0, "Unexpected token ',' at position 0: expected a field name"],
    ["'name'", 0, "Unexpected string 'name' at position 0: expected a field name"],
    ['name, name desc', 6, "Field 'name' appears more than once in $orderby (position 6)"],
    ['name; drop', 4, "Unexpected character ';' at position 4"],
  ])('%j', (text, position, message) => {
    const error = odataError(() => parseODataOrderBy(text));
    expect(error.message).toBe(message);
    expect(error.position).toBe(position);
  });
});

describe('parseODataPaging', () => {
  const limits = { defaultTop: 50, maxTop: 1000 };

  it('applies defaults and reads non-negative integers', () => {
    expect(parseODataPaging({}, limits)).toEqual({ top: 50, skip: 0 });
    expect(parseODataPaging({ $top: '10', $skip: '20' }, limits)).toEqual({ top: 10, skip: 20 });
    expect(parseODataPaging({ $top: '0', $skip: '0' }, limits)).toEqual({ top: 0, skip: 0 });
    expect(parseODataPaging({ $top: '1000', $skip: '10000000' }, limits)).toEqual({ top: 1000, skip: 10_000_000 });
  });

  it.each([
    [{ $top: 'abc' }, "$top must be a non-negative integer, got 'abc' (position 0)", 0],
    [{ $top: '-1' }, "$top must be a non-negative integer, got '-1' (position 0)", 0],
    [{ $top: '1.5' }, "$top must be a non-negative integer, got '1.5' (position 1)", 1],
    [{ $top: '1e3' }, "$top must be a non-negative integer, got '1e3' (position 1)", 1],
    [{ $top: '' }, "$top must be a non-negative integer, got '' (position 0)", 0],
    [{ $top: ' 5' }, "$top must be a non-negative integer, got ' 5' (position 0)", 0],
    [{ $top: '1001' }, '$top must be at most 1000, got 1001', 0],
    [{ $skip: '10000001' }, '$skip must be at most 10000000, got 10000001', 0],
    [{ $skip: 'x' }, "$skip must be a non-negative integer, got 'x' (position 0)", 0],
  ])('%j', (query, message, position) => {
    const error = odataError(() => parseODataPaging(query, limits));
    expect(error.message).toBe(message);
    expect(error.position).toBe(position);
  });

  it('rejects a repeated parameter', () => {
    const query = { $top: ['1', '2'] } as unknown as { $top: string };
    expect(odataError(() => parseODataPaging(query, limits)).message).toBe('$top must be a non-negative integer, got more than one value (position 0)');
  });
});

describe('formatODataFilter', () => {
  it('writes canonical, fully parenthesised text', () => {
    const tree = parseODataFilter("a eq 1 or not b eq 'x''y' and substringof('z', c)");
    expect(formatODataFilter(tree)).toBe("(a eq 1) or ((not (b eq 'x''y')) and (contains(c,'z')))");
    expect(formatODataFilter(eq('n', -0))).toBe('n eq -0');
    expect(formatODataFilter(eq('n', 1e21))).toBe('n eq 1e+21');
    expect(formatODataFilter(eq('t', null))).toBe('t eq null');
  });

  it('writes a one-argument and/or as its argument and refuses what OData cannot express', () => {
    expect(formatODataFilter({ op: 'and', args: [eq('a', 1)] })).toBe('a eq 1');
    expect(() => formatODataFilter({ op: 'or', args: [] })).toThrow(TypeError);
    expect(() => formatODataFilter(eq('a', Number.NaN))).toThrow(TypeError);
    expect(() => formatODataFilter(eq('not', 1))).toThrow(TypeError);
    expect(() => formatODataFilter(eq('a b', 1))).toThrow(TypeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const RESERVED_WORDS = new Set(['and', 'or', 'not', 'eq', 'ne', 'gt', 'ge', 'lt', 'le', 'true', 'false', 'null']);

const fieldArb = fc
  .oneof(
    fc.constantFrom('name', 'user/first_name', 'utc_date_time', 'contains', 'guid', 'DateTime', '_'),
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}(\/[A-Za-z_][A-Za-z0-9_]{0,4})?$/),
  )
  .filter((field) => !RESERVED_WORDS.has(field.toLowerCase()));

const trickyString = fc.string({ unit: fc.constantFrom("'", "''", ' ', 'a', 'Z', 'é', '😀', '%', '\\', '(', ')', ','), maxLength: 8 });
const stringValueArb = fc.oneof(fc.string({ unit: 'binary', maxLength: 10 }), trickyString);

const valueArb: fc.Arbitrary<FilterValue> = fc.oneof(
  stringValueArb,
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  // Date-times come back from the parser as plain strings, so normalised ones round-trip as such.
  fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString()),
);

const leafArb: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({ op: fc.constantFrom('eq', 'ne', 'gt', 'ge', 'lt', 'le'), field: fieldArb, value: valueArb }),
  fc.record({ op: fc.constantFrom('contains', 'startswith', 'endswith'), field: fieldArb, value: stringValueArb }),
);

function treeArb(depth: number): fc.Arbitrary<Filter> {
  if (depth === 0) return leafArb;
  const sub = treeArb(depth - 1);
  return fc.oneof(
    { weight: 2, arbitrary: leafArb },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('and' as const, 'or' as const), fc.array(sub, { minLength: 2, maxLength: 3 }))
        .map(([op, args]): Filter => ({ op, args })),
    },
    { weight: 1, arbitrary: sub.map((arg): Filter => ({ op: 'not', arg })) },
  );
}

const formattableTree = treeArb(4).filter((tree) => formatODataFilter(tree).length <= MAX_FILTER_LENGTH);

function parsesOrFailsCleanly(text: string): void {
  const started = performance.now();
  try {
    parseODataFilter(text);
  } catch (error) {
    if (!(error instanceof ODataError)) throw error;
    expect(error.position).toBeGreaterThanOrEqual(0);
    expect(error.position).toBeLessThanOrEqual(text.length);
  }
  expect(performance.now() - started).toBeLessThan(1000);
}

const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom('(', ')', "'", ' ', ',', 'eq', 'not ', 'and', '-', '0', 'T', ':', 'x', '/') }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }) }),
);

type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never;

function mutate(text: string, mutations: Mutation[]): string {
  let out = text;
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    if (m.kind === 'insert') out = out.slice(0, at) + m.text + out.slice(at);
    else if (m.kind === 'delete') out = out.slice(0, at) + out.slice(at + m.length);
    else out = out.slice(0, at) + m.text + out.slice(at + m.text.length);
  }
  return out;
}

const tokenSoup = fc
  .array(
    fc.constantFrom(
      '(', ')', ',', ' ', "'", "''", 'eq', 'ne', 'lt', 'and', 'or', 'not', 'name', 'user/x', 'contains', 'substringof', 'startswith',
      '1', '-', '-2.5', '1e5', 'true', 'null', "DateTime'", 'guid', "'x'", '2019-01-01T00:00:00Z', '2019-01-01',
      '0f8fad5b-d9cb-469f-a165-70867728950e', 'T', 'Z', ':', '.', '/', '\t',
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

describe('properties', () => {
  it('formatODataFilter output parses back to an equal tree', () => {
    fc.assert(
      fc.property(formattableTree, (tree) => {
        expect(parseODataFilter(formatODataFilter(tree))).toEqual(tree);
      }),
      { numRuns: 1000 },
    );
  });

  it('formatting is canonical: format(parse(format(t))) equals format(t)', () => {
    fc.assert(
      fc.property(formattableTree, (tree) => {
        const text = formatODataFilter(tree);
        expect(formatODataFilter(parseODataFilter(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary text either parses or throws ODataError, promptly', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), parsesOrFailsCleanly), { numRuns: 1000 });
    fc.assert(fc.property(fc.string({ maxLength: 200 }), parsesOrFailsCleanly), { numRuns: 1000 });
    fc.assert(fc.property(tokenSoup, parsesOrFailsCleanly), { numRuns: 2000 });
  });

  it('mutated valid filters either parse or throw ODataError, promptly', () => {
    fc.assert(
      fc.property(formattableTree, fc.array(mutationArb, { minLength: 1, maxLength: 5 }), (tree, mutations) => {
        parsesOrFailsCleanly(mutate(formatODataFilter(tree), mutations));
      }),
      { numRuns: 2000 },
    );
  });

  it('$orderby and paging never throw anything but ODataError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), tokenSoup), (text) => {
        try {
          parseODataOrderBy(text);
        } catch (error) {
          if (!(error instanceof ODataError)) throw error;
        }
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), ($top, $skip) => {
        try {
          const { top, skip } = parseODataPaging({ $top, $skip }, { defaultTop: 50, maxTop: 500 });
          expect(Number.isInteger(top) && top >= 0 && top <= 500).toBe(true);
          expect(Number.isInteger(skip) && skip >= 0).toBe(true);
        } catch (error) {
          if (!(error instanceof ODataError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  });
});
