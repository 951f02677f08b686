import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import type { ComparisonOp, Filter, FilterValue } from './filter.ts';
import { FilterFieldError, filterToSql, orderByToSql, type FieldMap } from './filter-sql.ts';
import { parseODataFilter } from './odata.ts';

const STATES = ['active', 'suspended', 'gone'] as const;

const FIELDS: FieldMap = {
  name: { column: 't.name', type: 'string' },
  nick: { column: 't.nick', type: 'string' },
  'user/full_name': { column: "t.name || ' ' || coalesce(t.nick, '')", type: 'string' },
  score: { column: 't.score', type: 'number' },
  blocked: { column: 't.blocked', type: 'boolean' },
  state: { column: 't.state', type: 'enum', values: STATES },
  created: { column: 't.created', type: 'datetime' },
  seen: { column: 't.seen', type: 'datetime', storage: 'epoch_ms' },
  secret: { column: 't.secret', type: 'string', sortable: false },
};

const sql = (text: string) => filterToSql(parseODataFilter(text), FIELDS);

function fieldError(run: () => unknown): FilterFieldError {
  try {
    run();
  } catch (error) {
    if (error instanceof FilterFieldError) return error;
    throw error;
  }
  throw new Error('expected a FilterFieldError');
}

describe('filterToSql: comparisons', () => {
  it('binds values as parameters', () => {
    expect(sql("name eq 'Ann'")).toEqual({ sql: 't.name = ?', params: ['Ann'] });
    expect(sql('score gt 2.5')).toEqual({ sql: 't.score > ?', params: [2.5] });
    expect(sql('score le -1')).toEqual({ sql: 't.score <= ?', params: [-1] });
    expect(sql("state eq 'active'")).toEqual({ sql: 't.state = ?', params: ['active'] });
  });

  it('stores booleans as 0/1', () => {
    expect(filterToSql({ op: 'eq', field: 'blocked', value: true }, { blocked: { column: 'col', type: 'boolean' } })).toEqual({
      sql: 'col = ?',
      params: [1],
    });
    expect(sql('blocked ne false')).toEqual({ sql: 't.blocked IS NOT ?', params: [0] });
  });

  it('makes ne null-safe so that it also matches NULLs', () => {
    expect(sql("nick ne 'x'")).toEqual({ sql: 't.nick IS NOT ?', params: ['x'] });
  });

  it('compares with null through IS [NOT] NULL', () => {
    expect(sql('nick eq null')).toEqual({ sql: 't.nick IS NULL', params: [] });
    expect(sql('nick ne null')).toEqual({ sql: 't.nick IS NOT NULL', params: [] });
    expect(sql('not (nick eq null)')).toEqual({ sql: 't.nick IS NOT NULL', params: [] });
    const error = fieldError(() => sql('nick gt null'));
    expect(error.message).toBe("Cannot compare field 'nick' with null using 'gt'; only eq and ne accept null");
    expect(error.field).toBe('nick');
  });

  it('normalises date-times, and converts them to epoch ms for epoch storage', () => {
    expect(sql("created ge DateTime'2019-01-01T01:00:00+01:00'")).toEqual({ sql: 't.created >= ?', params: ['2019-01-01T00:00:00.000Z'] });
    expect(sql("created lt '2019-01-01T00:00:00Z'")).toEqual({ sql: 't.created < ?', params: ['2019-01-01T00:00:00.000Z'] });
    expect(sql('seen ge 2019-01-01T00:00:00Z')).toEqual({ sql: 't.seen >= ?', params: [1546300800000] });
  });

  it('parenthesises composite column expressions', () => {
    expect(sql("user/full_name eq 'Ann B'")).toEqual({ sql: "(t.name || ' ' || coalesce(t.nick, '')) = ?", params: ['Ann B'] });
    expect(sql('user/full_name eq null').sql).toBe("(t.name || ' ' || coalesce(t.nick, '')) IS NULL");
  });
});

describe('filterToSql: logic', () => {
  it('joins and/or and keeps parameters in order', () => {
    expect(sql("name eq 'a' or score gt 1 and state eq 'gone'")).toEqual({
      sql: '(t.name = ? OR (t.score > ? AND t.state = ?))',
      params: ['a', 1, 'gone'],
    });
  });

  it('pushes not down to null-aware leaves instead of emitting SQL NOT', () => {
    expect(sql("not (nick eq 'x')")).toEqual({ sql: 't.nick IS NOT ?', params: ['x'] });
    expect(sql("not (nick ne 'x')")).toEqual({ sql: 't.nick = ?', params: ['x'] });
    expect(sql('not (score gt 3)')).toEqual({ sql: '(t.score IS NULL OR t.score <= ?)', params: [3] });
    expect(sql("not (name eq 'a' and score ge 1)")).toEqual({
      sql: '(t.name IS NOT ? OR (t.score IS NULL OR t.score < ?))',
      params: ['a', 1],
    });
    expect(sql("not not (nick eq 'x')")).toEqual({ sql: 't.nick = ?', params: ['x'] });
  });

  it('treats empty and/or as true/false', () => {
    expect(filterToSql({ op: 'and', args: [] }, FIELDS).sql).toBe('1');
    expect(filterToSql({ op: 'or', args: [] }, FIELDS).sql).toBe('0');
    expect(filterToSql({ op: 'not', arg: { op: 'or', args: [] } }, FIELDS).sql).toBe('1');
    expect(filterToSql({ op: 'and', args: [{ op: 'eq', field: 'name', value: 'a' }] }, FIELDS).sql).toBe('t.name = ?');
  });
});

describe('filterToSql: string functions', () => {
  it('uses instr for contains and LIKE with escapes for prefixes and suffixes', () => {
    expect(sql("contains(name,'An')")).toEqual({ sql: 'instr(lower(t.name), lower(?)) > 0', params: ['An'] });
    expect(sql("startswith(name,'50%_\\x')")).toEqual({ sql: "lower(t.name) LIKE lower(?) ESCAPE '\\'", params: ['50\\%\\_\\\\x%'] });
    expect(sql("endswith(name,'_a')")).toEqual({ sql: "lower(t.name) LIKE lower(?) ESCAPE '\\'", params: ['%\\_a'] });
  });

  it('keeps NULLs in negated functions', () => {
    expect(sql("not contains(nick,'a')").sql).toBe('(t.nick IS NULL OR instr(lower(t.nick), lower(?)) = 0)');
    expect(sql("not startswith(nick,'a')").sql).toBe("(t.nick IS NULL OR lower(t.nick) NOT LIKE lower(?) ESCAPE '\\')");
  });

  it('rejects functions on non-string fields and NUL characters', () => {
    expect(fieldError(() => sql("contains(score,'1')")).message).toBe("contains() needs a string field, but 'score' is a number");
    expect(fieldError(() => sql("startswith(state,'a')")).message).toBe("startswith() needs a string field, but 'state' is an enum");
    expect(fieldError(() => filterToSql({ op: 'endswith', field: 'name', value: 'a\0b' }, FIELDS)).message).toBe(
      "endswith() on 'name': the value must not contain NUL characters",
    );
  });
});

describe('filterToSql: field and type checks', () => {
  it('rejects unknown fields, listing the allowed ones', () => {
    const error = fieldError(() => sql("password eq 'x'"));
    expect(error.name).toBe('FilterFieldError');
    expect(error.field).toBe('password');
    expect(error.message).toBe(
      "Unknown field 'password' in $filter; allowed fields: name, nick, user/full_name, score, blocked, state, created, seen, secret",
    );
  });

  it('does not mistake prototype members for fields', () => {
    expect(fieldError(() => sql('constructor eq 1')).message).toMatch(/^Unknown field 'constructor'/);
    expect(fieldError(() => sql('toString eq 1')).message).toMatch(/^Unknown field 'toString'/);
    expect(fieldError(() => filterToSql({ op: 'eq', field: '__proto__', value: 1 }, FIELDS)).message).toMatch(/^Unknown field '__proto__'/);
  });

  it.each([
    ['name eq 5', "Field 'name' is a string; expected a quoted string, got 5"],
    ["score eq '5'", "Field 'score' is a number; expected a number, got '5'"],
    ['blocked eq 1', "Field 'blocked' is a boolean; expected true or false, got 1"],
    ['blocked gt false', "Field 'blocked' is a boolean; only eq and ne apply, not 'gt'"],
    ["state eq 'Active'", "Field 'state' is an enum; expected one of 'active', 'suspended', 'gone', got 'Active'"],
    ["state lt 'gone'", "Field 'state' is an enum; only eq and ne apply, not 'lt'"],
    ["created gt 'yesterday'", "Field 'created' is a date-time; expected an ISO-8601 date-time such as 2019-01-01T00:00:00Z, got 'yesterday'"],
    ['seen gt 5', "Field 'seen' is a date-time; expected an ISO-8601 date-time such as 2019-01-01T00:00:00Z, got 5"],
  ])('%s', (text, message) => {
    const error = fieldError(() => sql(text));
    expect(error.message).toBe(message);
  });

  it('never puts user text into the SQL', () => {
    const evil = "'); DROP TABLE t; --";
    for (const text of [
      `name eq '${evil.replaceAll("'", "''")}'`,
      `contains(name,'${evil.replaceAll("'", "''")}')`,
      `not endswith(nick,'${evil.replaceAll("'", "''")}')`,
      `'${evil.replaceAll("'", "''")}' ne nick`,
    ]) {
      const result = sql(text);
      expect(result.sql).not.toContain('DROP');
      expect(result.sql).not.toContain('--');
      expect(JSON.stringify(result.params)).toContain('DROP TABLE t');
    }
    expect(fieldError(() => filterToSql({ op: 'eq', field: 'x; DROP TABLE t', value: 1 }, FIELDS)).field).toBe('x; DROP TABLE t');
  });
});

describe('orderByToSql', () => {
  it('maps fields to columns and appends the tie-breaker in the last direction', () => {
    expect(orderByToSql([{ field: 'name', direction: 'asc' }], FIELDS, 't.id')).toBe('t.name ASC, t.id ASC');
    expect(
      orderByToSql(
        [
          { field: 'score', direction: 'asc' },
          { field: 'created', direction: 'desc' },
        ],
        FIELDS,
        't.id',
      ),
    ).toBe('t.score ASC, t.created DESC, t.id DESC');
    expect(orderByToSql([], FIELDS, 't.id')).toBe('t.id ASC');
    expect(orderByToSql([{ field: 'user/full_name', direction: 'desc' }], FIELDS, 't.id')).toBe(
      "(t.name || ' ' || coalesce(t.nick, '')) DESC, t.id DESC",
    );
  });

  it('rejects unknown and unsortable fields', () => {
    expect(fieldError(() => orderByToSql([{ field: 'secret', direction: 'asc' }], FIELDS, 't.id')).message).toBe(
      "Field 'secret' cannot be used in $orderby; sortable fields: name, nick, user/full_name, score, blocked, state, created, seen",
    );
    expect(fieldError(() => orderByToSql([{ field: 'nope', direction: 'asc' }], FIELDS, 't.id')).message).toBe(
      "Unknown field 'nope' in $orderby; allowed fields: name, nick, user/full_name, score, blocked, state, created, seen",
    );
    const bad = [{ field: 'name', direction: 'sideways' }] as unknown as Parameters<typeof orderByToSql>[0];
    expect(fieldError(() => orderByToSql(bad, FIELDS, 't.id')).message).toBe("Invalid sort direction for field 'name': expected asc or desc");
  });
});

// ---------------------------------------------------------------------------------------------
// Property: the SQL selects exactly the rows a plain JS evaluation of the same tree selects.

interface Row {
  id: number;
  name: string;
  nick: string | null;
  score: number | null;
  blocked: boolean | null;
  state: string | null;
  created: string | null; // ISO
  seen: string | null; // ISO here, epoch ms in the table
  secret: string | null;
}

type FieldName = keyof typeof FIELDS;

// Small alphabets so generated values often hit generated rows; they include LIKE's and SQL's
// special characters, case pairs and non-ASCII (whose case SQLite does not fold).
const alphabet = fc.constantFrom('a', 'b', 'A', 'B', '%', '_', '\\', "'", ' ', 'é', 'É', '😀');
const shortString = fc.string({ unit: alphabet, maxLength: 3 });
const numberArb = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(0.5, -1.25, 1e10, -0), fc.double({ min: -5, max: 5, noNaN: true }));
const DATES = ['1999-12-31T23:59:59.999Z', '2019-01-01T00:00:00.000Z', '2019-01-01T00:00:00.001Z', '2019-06-15T12:00:00.000Z', '2030-01-01T00:00:00.000Z'];
const dateArb = fc.constantFrom(...DATES);
// Same instants written the other ways the parser and filterToSql accept.
const dateValueArb = fc.oneof(
  dateArb,
  fc.constantFrom('2019-01-01T01:00:00+01:00', '2019-06-15T12:00:00Z', '2018-12-31T19:00:00-05:00', '2019-01-01T00:00'),
);

const rowArb = fc.record({
  name: shortString,
  nick: fc.option(shortString),
  score: fc.option(numberArb),
  blocked: fc.option(fc.boolean()),
  state: fc.option(fc.constantFrom(...STATES)),
  created: fc.option(dateArb),
  seen: fc.option(dateArb),
  secret: fc.option(shortString),
});

const ORDER_OPS: ComparisonOp[] = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'];
const EQUALITY_OPS: ComparisonOp[] = ['eq', 'ne'];

function comparison(fields: FieldName[], ops: ComparisonOp[], value: fc.Arbitrary<FilterValue>): fc.Arbitrary<Filter> {
  return fc.oneof(
    fc.record({ op: fc.constantFrom(...ops), field: fc.constantFrom(...fields), value }),
    fc.record({ op: fc.constantFrom<ComparisonOp>('eq', 'ne'), field: fc.constantFrom(...fields), value: fc.constant(null) }),
  );
}

const sqlLeafArb: fc.Arbitrary<Filter> = fc.oneof(
  comparison(['name', 'nick', 'user/full_name'], ORDER_OPS, shortString),
  fc.record({
    op: fc.constantFrom('contains' as const, 'startswith' as const, 'endswith' as const),
    field: fc.constantFrom('name', 'nick', 'user/full_name'),
    value: shortString,
  }),
  comparison(['score'], ORDER_OPS, numberArb),
  comparison(['blocked'], EQUALITY_OPS, fc.boolean()),
  comparison(['state'], EQUALITY_OPS, fc.constantFrom(...STATES)),
  comparison(['created', 'seen'], ORDER_OPS, dateValueArb),
);

function sqlTreeArb(depth: number): fc.Arbitrary<Filter> {
  if (depth === 0) return sqlLeafArb;
  const sub = sqlTreeArb(depth - 1);
  return fc.oneof(
    { weight: 2, arbitrary: sqlLeafArb },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('and' as const, 'or' as const), fc.array(sub, { maxLength: 3 }))
        .map(([op, args]): Filter => ({ op, args })),
    },
    { weight: 1, arbitrary: sub.map((arg): Filter => ({ op: 'not', arg })) },
  );
}

// --- reference evaluator: two-valued OData semantics, written independently of the SQL. ---

function fieldValue(row: Row, field: string): string | number | boolean | null {
  switch (field) {
    case 'user/full_name':
      return `${row.name} ${row.nick ?? ''}`;
    case 'name':
    case 'nick':
    case 'score':
    case 'blocked':
    case 'state':
    case 'created':
    case 'seen':
    case 'secret':
      return row[field];
    default:
      throw new Error(`no such field ${field}`);
  }
}

const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

// SQLite's BINARY collation compares UTF-8 bytes, i.e. code points; JS < compares UTF-16 units.
function compareStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function compareValues(field: string, actual: string | number | boolean, wanted: string | number | boolean): number {
  if (field === 'created' || field === 'seen') return Date.parse(actual as string) - Date.parse(wanted as string);
  if (typeof actual === 'number' && typeof wanted === 'number') return actual - wanted;
  if (typeof actual === 'string' && typeof wanted === 'string') return compareStrings(actual, wanted);
  return actual === wanted ? 0 : 1;
}

function evaluate(f: Filter, row: Row): boolean {
  switch (f.op) {
    case 'and':
      return f.args.every((arg) => evaluate(arg, row));
    case 'or':
      return f.args.some((arg) => evaluate(arg, row));
    case 'not':
      return !evaluate(f.arg, row);
    case 'contains':
    case 'startswith':
    case 'endswith': {
      const actual = fieldValue(row, f.field);
      if (actual === null) return false;
      const haystack = asciiLower(actual as string);
      const needle = asciiLower(f.value);
      if (f.op === 'contains') return haystack.includes(needle);
      return f.op === 'startswith' ? haystack.startsWith(needle) : haystack.endsWith(needle);
    }
    default: {
      const actual = fieldValue(row, f.field);
      if (f.value === null) return f.op === 'eq' ? actual === null : actual !== null;
      if (actual === null) return f.op === 'ne';
      const c = compareValues(f.field, actual, f.value);
      const results: Record<ComparisonOp, boolean> = { eq: c === 0, ne: c !== 0, gt: c > 0, ge: c >= 0, lt: c < 0, le: c <= 0 };
      return results[f.op];
    }
  }
}

describe('filterToSql against SQLite', () => {
  let db: Database.Database;

  beforeAll(() => {
    db = new Database(':memory:');
    db.exec(`CREATE TABLE t (
      id INTEGER PRIMARY KEY, name TEXT NOT NULL, nick TEXT, score REAL, blocked INTEGER,
      state TEXT, created TEXT, seen INTEGER, secret TEXT)`);
  });
  afterAll(() => db.close());

  function load(rows: Omit<Row, 'id'>[]): Row[] {
    const insert = db.prepare(
      'INSERT INTO t (id, name, nick, score, blocked, state, created, seen, secret) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const withIds = rows.map((row, i) => ({ ...row, id: i + 1 }));
    db.transaction(() => {
      db.exec('DELETE FROM t');
      for (const r of withIds) {
        insert.run(r.id, r.name, r.nick, r.score, r.blocked === null ? null : Number(r.blocked), r.state, r.created, r.seen === null ? null : Date.parse(r.seen), r.secret);
      }
    })();
    return withIds;
  }

  function selectIds(filter: Filter): number[] {
    const { sql: where, params } = filterToSql(filter, FIELDS);
    return (db.prepare(`SELECT t.id FROM t WHERE ${where} ORDER BY t.id`).all(...params) as { id: number }[]).map((r) => r.id);
  }

  it('selects the same rows as the reference evaluator', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 12 }), sqlTreeArb(3), (rows, filter) => {
        const loaded = load(rows);
        const expected = loaded.filter((row) => evaluate(filter, row)).map((row) => row.id);
        expect(selectIds(filter)).toEqual(expected);
      }),
      { numRuns: 1500 },
    );
  });

  it('keeps NULL rows under not, as documented', () => {
    load([
      { name: 'a', nick: null, score: null, blocked: null, state: null, created: null, seen: null, secret: null },
      { name: 'b', nick: 'x', score: 5, blocked: true, state: 'active', created: DATES[1]!, seen: DATES[1]!, secret: null },
    ]);
    expect(selectIds(parseODataFilter("nick ne 'x'"))).toEqual([1]);
    expect(selectIds(parseODataFilter("not (nick eq 'x')"))).toEqual([1]);
    expect(selectIds(parseODataFilter('not (score gt 1)'))).toEqual([1]);
    expect(selectIds(parseODataFilter("not contains(nick,'x')"))).toEqual([1]);
    expect(selectIds(parseODataFilter('score gt 1 or score le 1'))).toEqual([2]);
    expect(selectIds(parseODataFilter('blocked ne true'))).toEqual([1]);
    expect(selectIds(parseODataFilter("seen ge DateTime'2019-01-01T00:00:00Z'"))).toEqual([2]);
  });

  it('never puts generated string values into the SQL text', () => {
    const marked = fc.string({ unit: fc.constantFrom("'", ';', '-', ')', '"', 'x'), maxLength: 6 }).map((s) => `§${s}`);
    const leaf: fc.Arbitrary<Filter> = fc.oneof(
      fc.record({ op: fc.constantFrom<ComparisonOp>(...ORDER_OPS), field: fc.constantFrom('name', 'nick'), value: marked }),
      fc.record({ op: fc.constantFrom('contains' as const, 'startswith' as const, 'endswith' as const), field: fc.constant('name'), value: marked }),
    );
    fc.assert(
      fc.property(fc.array(leaf, { minLength: 1, maxLength: 4 }), fc.boolean(), (args, negate) => {
        const tree: Filter = negate ? { op: 'not', arg: { op: 'or', args } } : { op: 'and', args };
        const { sql: text, params } = filterToSql(tree, FIELDS);
        expect(text).not.toContain('§');
        expect(params.filter((p) => typeof p === 'string' && p.includes('§'))).toHaveLength(args.length);
        // The statement is still valid SQL whatever the values were.
        expect(() => db.prepare(`SELECT 1 FROM t WHERE ${text}`).all(...params)).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });
});
