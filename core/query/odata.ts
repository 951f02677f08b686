// OData query options ($filter, $orderby, $top, $skip) for the CLP-compatible REST API.
// Input comes straight from request URLs, so every failure is an ODataError carrying the offset
// of the problem, and the limits below keep a hostile query from costing real CPU or stack.
import type { ComparisonOp, Filter, FilterValue, OrderBy, StringFunction } from './filter.ts';

export const MAX_FILTER_LENGTH = 4000;
export const MAX_FILTER_DEPTH = 32;
export const MAX_FILTER_COMPARISONS = 200;
export const MAX_ORDERBY_ITEMS = 32;
export const MAX_SKIP = 10_000_000;

export class ODataError extends Error {
  override readonly name = 'ODataError';
  /** Character offset (UTF-16 index) of the problem in the option's text. */
  readonly position: number;

  constructor(message: string, position: number) {
    super(message);
    this.position = position;
  }
}

// ---------------------------------------------------------------------------------------------
// Date-times

// Offset optional: CLP clients send DateTime'2019-01-01T00:00:00' meaning UTC (the API's fields
// are utc_*), and reading it as server-local time would make results depend on the host's zone.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?$/i;

/** Canonical UTC form (`toISOString()`) of an ISO-8601 date-time, or undefined if it isn't one. */
export function normalizeDateTime(text: string): string | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => Number(part ?? '0')) as [
    number, number, number, number, number, number,
  ];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Number(((m[7] ?? '') + '000').slice(0, 3));
  // setUTCFullYear rather than Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined; // 2019-02-30
  date.setUTCHours(hour, minute, second, ms);
  const zone = (m[8] ?? 'Z').toUpperCase();
  if (zone !== 'Z') {
    const offsetHours = Number(zone.slice(1, 3));
    const offsetMinutes = Number(zone.slice(4, 6));
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    const sign = zone.startsWith('-') ? -1 : 1;
    date.setTime(date.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000);
  }
  // Outside 0000-9999 toISOString switches to the ±YYYYYY form, which neither we nor a TEXT sort handle.
  const utcYear = date.getUTCFullYear();
  if (utcYear < 0 || utcYear > 9999) return undefined;
  return date.toISOString();
}

// ---------------------------------------------------------------------------------------------
// Lexer

type LiteralKind = 'string' | 'number' | 'boolean' | 'null' | 'datetime' | 'guid';

type Token =
  | { kind: '(' | ')' | ',' | 'eof' | 'word'; pos: number; text: string }
  | { kind: 'literal'; pos: number; text: string; literal: LiteralKind; value: FilterValue };

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![A-Za-z0-9_])/iy;
const GUID_EXACT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Anything that starts like a date is read to its end so a bad one is reported whole.
const DATE_LIKE = /\d{4}-\d[0-9A-Za-z:.+-]*/y;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const NUMBER_TAIL = /[A-Za-z0-9_.]*/y;
const WORD = /[A-Za-z_][A-Za-z0-9_]*(?:\/[A-Za-z_][A-Za-z0-9_]*)*/y;
const WHITESPACE = /\s/;
const DATE_TIME_HINT = 'expected YYYY-MM-DDThh:mm[:ss[.fff]] with an optional Z or ±hh:mm offset';

function matchAt(re: RegExp, src: string, at: number): string | undefined {
  re.lastIndex = at;
  return re.exec(src)?.[0];
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function readQuoted(src: string, start: number): { value: string; end: number } {
  let value = '';
  let from = start + 1;
  for (;;) {
    const quote = src.indexOf("'", from);
    if (quote < 0) throw new ODataError(`Unterminated string starting at position ${start}`, start);
    value += src.slice(from, quote);
    if (src[quote + 1] !== "'") return { value, end: quote + 1 };
    value += "'";
    from = quote + 2;
  }
}

function dateTimeToken(text: string, pos: number, raw: string): Token {
  const iso = normalizeDateTime(text);
  if (iso === undefined) {
    throw new ODataError(`Invalid date-time literal '${clip(text)}' at position ${pos}: ${DATE_TIME_HINT}`, pos);
  }
  return { kind: 'literal', literal: 'datetime', value: iso, pos, text: raw };
}

function typedLiteral(src: string, pos: number, prefix: string): Token {
  const { value, end } = readQuoted(src, pos + prefix.length);
  const raw = src.slice(pos, end);
  if (prefix.toLowerCase() === 'guid') {
    if (!GUID_EXACT.test(value)) {
      throw new ODataError(`Invalid guid literal '${clip(value)}' at position ${pos}: expected 8-4-4-4-12 hex digits`, pos);
    }
    return { kind: 'literal', literal: 'guid', value, pos, text: raw };
  }
  return dateTimeToken(value, pos, raw);
}

const TYPED_PREFIXES = new Set(['datetime', 'datetimeoffset', 'guid']);

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src.charAt(i);
    if (WHITESPACE.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c, pos: i, text: c });
      i++;
      continue;
    }
    if (c === "'") {
      const { value, end } = readQuoted(src, i);
      tokens.push({ kind: 'literal', literal: 'string', value, pos: i, text: src.slice(i, end) });
      i = end;
      continue;
    }
    const guid = matchAt(GUID, src, i);
    if (guid !== undefined) {
      tokens.push({ kind: 'literal', literal: 'guid', value: guid, pos: i, text: guid });
      i += guid.length;
      continue;
    }
    const date = matchAt(DATE_LIKE, src, i);
    if (date !== undefined) {
      tokens.push(dateTimeToken(date, i, date));
      i += date.length;
      continue;
    }
    const num = matchAt(NUMBER, src, i);
    if (num !== undefined) {
      const tail = matchAt(NUMBER_TAIL, src, i + num.length) ?? '';
      const value = Number(num);
      if (tail !== '' || !Number.isFinite(value)) {
        const what = tail !== '' ? 'Invalid number literal' : 'Number literal out of range:';
        throw new ODataError(`${what} '${clip(num + tail)}' at position ${i}`, i);
      }
      tokens.push({ kind: 'literal', literal: 'number', value, pos: i, text: num });
      i += num.length;
      continue;
    }
    const word = matchAt(WORD, src, i);
    if (word !== undefined) {
      const lower = word.toLowerCase();
      if (src[i + word.length] === "'" && TYPED_PREFIXES.has(lower)) {
        const token = typedLiteral(src, i, word);
        tokens.push(token);
        i += token.text.length;
        continue;
      }
      if (lower === 'true' || lower === 'false') {
        tokens.push({ kind: 'literal', literal: 'boolean', value: lower === 'true', pos: i, text: word });
      } else if (lower === 'null') {
        tokens.push({ kind: 'literal', literal: 'null', value: null, pos: i, text: word });
      } else {
        tokens.push({ kind: 'word', pos: i, text: word });
      }
      i += word.length;
      continue;
    }
    throw new ODataError(`Unexpected character '${c}' at position ${i}`, i);
  }
  tokens.push({ kind: 'eof', pos: src.length, text: '' });
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// $filter parser

const COMPARISON_OPS: ReadonlySet<string> = new Set<ComparisonOp>(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS: ReadonlySet<string> = new Set(['contains', 'startswith', 'endswith', 'substringof']);
// true/false/null are literals already; these cannot be field names either, so `eq 'x'` is
// reported as a misplaced operator rather than as a field called "eq".
const RESERVED: ReadonlySet<string> = new Set(['and', 'or', 'not', ...COMPARISON_OPS]);
const MIRROR: Record<ComparisonOp, ComparisonOp> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };
const OPERATOR_LIST = 'an operator (eq, ne, gt, ge, lt, le)';
const CONDITION_START = "a field name, literal, function, 'not' or '('";

type Operand = { kind: 'field'; name: string } | { kind: 'value'; value: FilterValue };

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of input';
  if (t.kind === 'literal' && t.literal === 'string') return `string ${clip(t.text)}`;
  return `token '${clip(t.text)}'`;
}

function unexpected(t: Token, expected: string): ODataError {
  return new ODataError(`Unexpected ${describe(t)} at position ${t.pos}: expected ${expected}`, t.pos);
}

function keywordOf(t: Token): string | undefined {
  return t.kind === 'word' ? t.text.toLowerCase() : undefined;
}

function isFieldToken(t: Token): boolean {
  return t.kind === 'word' && !RESERVED.has(t.text.toLowerCase());
}

class FilterParser {
  private readonly tokens: Token[];
  private index = 0;
  private depth = 0;
  private comparisons = 0;

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  parse(): Filter {
    const filter = this.parseOr();
    const rest = this.peek();
    if (rest.kind !== 'eof') {
      throw unexpected(rest, rest.kind === ')' ? "'and', 'or' or end of input (unbalanced ')')" : "'and', 'or' or end of input");
    }
    return filter;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.index++;
    return t;
  }

  private expect(kind: '(' | ')' | ',', context: string): Token {
    const t = this.next();
    if (t.kind !== kind) throw unexpected(t, `'${kind}' ${context}`);
    return t;
  }

  private enter(at: Token): void {
    if (++this.depth > MAX_FILTER_DEPTH) {
      throw new ODataError(
        `Filter nested too deeply at position ${at.pos}: at most ${MAX_FILTER_DEPTH} levels of parentheses and 'not' are allowed`,
        at.pos,
      );
    }
  }

  private countComparison(at: Token): void {
    if (++this.comparisons > MAX_FILTER_COMPARISONS) {
      throw new ODataError(
        `Too many conditions at position ${at.pos}: at most ${MAX_FILTER_COMPARISONS} comparisons and function calls are allowed`,
        at.pos,
      );
    }
  }

  // and/or chains become one n-ary node; a parenthesised group stays its own node, so the
  // fully parenthesised output of formatODataFilter reads back as the same tree.
  private parseOr(): Filter {
    const args = [this.parseAnd()];
    while (keywordOf(this.peek()) === 'or') {
      this.next();
      args.push(this.parseAnd());
    }
    return args.length === 1 ? args[0]! : { op: 'or', args };
  }

  private parseAnd(): Filter {
    const args = [this.parseUnary()];
    while (keywordOf(this.peek()) === 'and') {
      this.next();
      args.push(this.parseUnary());
    }
    return args.length === 1 ? args[0]! : { op: 'and', args };
  }

  // OData ranks `not` above comparisons, which read literally makes `not a eq 1` mean
  // `(not a) eq 1`, which has no meaning here (no boolean-valued fields as conditions); the only
  // sensible reading, and what users mean, is not(a eq 1).
  private parseUnary(): Filter {
    const t = this.peek();
    if (keywordOf(t) !== 'not') return this.parsePrimary();
    this.next();
    this.enter(t);
    const arg = this.parseUnary();
    this.depth--;
    return { op: 'not', arg };
  }

  private parsePrimary(): Filter {
    const t = this.peek();
    if (t.kind === '(') {
      this.next();
      this.enter(t);
      const inner = this.parseOr();
      const close = this.next();
      if (close.kind !== ')') {
        throw unexpected(close, close.kind === 'eof' ? `')' to close '(' at position ${t.pos}` : `'and', 'or' or ')' to close '(' at position ${t.pos}`);
      }
      this.depth--;
      return inner;
    }
    const keyword = keywordOf(t);
    if (keyword !== undefined && FUNCTIONS.has(keyword) && this.peek(1).kind === '(') return this.parseFunction();
    return this.parseComparison();
  }

  private parseFunction(): Filter {
    const nameToken = this.next();
    const name = nameToken.text.toLowerCase();
    this.expect('(', `after '${nameToken.text}'`);
    let field: string;
    let value: string;
    if (name === 'substringof') {
      value = this.expectString(`a quoted string as the first argument of ${nameToken.text}()`);
      this.expect(',', 'between the arguments');
      field = this.expectField(`a field name as the second argument of ${nameToken.text}()`);
    } else {
      field = this.expectField(`a field name as the first argument of ${nameToken.text}()`);
      this.expect(',', 'between the arguments');
      value = this.expectString(`a quoted string as the second argument of ${nameToken.text}()`);
    }
    this.expect(')', `to close ${nameToken.text}(`);
    this.countComparison(nameToken);
    const op: StringFunction = name === 'substringof' ? 'contains' : (name as StringFunction);
    const call: Filter = { op, field, value };
    return this.parseBooleanSuffix(call);
  }

  // OData v3 clients write `substringof('x', name) eq true`; accept eq/ne with a boolean.
  private parseBooleanSuffix(call: Filter): Filter {
    const opToken = this.peek();
    const op = keywordOf(opToken);
    if (op === undefined || !COMPARISON_OPS.has(op)) return call;
    this.next();
    const rhs = this.next();
    if ((op !== 'eq' && op !== 'ne') || rhs.kind !== 'literal' || typeof rhs.value !== 'boolean') {
      throw new ODataError(
        `Unexpected comparison at position ${opToken.pos}: a function result can only be compared with eq/ne true or false`,
        opToken.pos,
      );
    }
    return (op === 'eq') === rhs.value ? call : { op: 'not', arg: call };
  }

  private expectField(expected: string): string {
    const t = this.next();
    if (!isFieldToken(t)) throw unexpected(t, expected);
    return t.text;
  }

  private expectString(expected: string): string {
    const t = this.next();
    if (t.kind !== 'literal' || t.literal !== 'string') throw unexpected(t, expected);
    return t.value as string;
  }

  private parseComparison(): Filter {
    const start = this.peek();
    const left = this.parseOperand(CONDITION_START);
    const opToken = this.next();
    const opWord = keywordOf(opToken);
    if (opWord === undefined || !COMPARISON_OPS.has(opWord)) throw unexpected(opToken, OPERATOR_LIST);
    const op = opWord as ComparisonOp;
    const rightToken = this.peek();
    const right = this.parseOperand(`a value after '${opToken.text}'`);
    this.countComparison(start);
    if (left.kind === 'field' && right.kind === 'value') return { op, field: left.name, value: right.value };
    if (left.kind === 'value' && right.kind === 'field') return { op: MIRROR[op], field: right.name, value: left.value };
    if (left.kind === 'field' && right.kind === 'field') {
      throw new ODataError(
        `Unsupported comparison at position ${rightToken.pos}: cannot compare field '${left.name}' with field '${right.name}'; compare a field with a literal value`,
        rightToken.pos,
      );
    }
    throw new ODataError(`Invalid comparison at position ${start.pos}: one side must be a field name`, start.pos);
  }

  private parseOperand(expected: string): Operand {
    const t = this.next();
    if (t.kind === 'literal') return { kind: 'value', value: t.value };
    if (isFieldToken(t)) return { kind: 'field', name: t.text };
    throw unexpected(t, expected);
  }
}

/** Parses an OData `$filter` expression. Throws ODataError, and nothing else, on any bad input. */
export function parseODataFilter(text: string): Filter {
  checkLength('$filter', text);
  return new FilterParser(tokenize(text)).parse();
}

function checkLength(option: string, text: string): void {
  if (text.length > MAX_FILTER_LENGTH) {
    throw new ODataError(
      `${option} is too long: ${text.length} characters (at most ${MAX_FILTER_LENGTH} are allowed)`,
      MAX_FILTER_LENGTH,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// $orderby

/** Parses `$orderby=field [asc|desc], ...`; direction defaults to asc. */
export function parseODataOrderBy(text: string): OrderBy[] {
  checkLength('$orderby', text);
  if (text.trim() === '') throw new ODataError('$orderby is empty: expected a field name', 0);
  const tokens = tokenize(text);
  const items: OrderBy[] = [];
  const seen = new Set<string>();
  let i = 0;
  for (;;) {
    const fieldToken = tokens[i++]!;
    if (!isFieldToken(fieldToken)) throw unexpected(fieldToken, 'a field name');
    if (seen.has(fieldToken.text)) {
      throw new ODataError(`Field '${fieldToken.text}' appears more than once in $orderby (position ${fieldToken.pos})`, fieldToken.pos);
    }
    if (items.length === MAX_ORDERBY_ITEMS) {
      throw new ODataError(`Too many $orderby fields at position ${fieldToken.pos}: at most ${MAX_ORDERBY_ITEMS} are allowed`, fieldToken.pos);
    }
    seen.add(fieldToken.text);
    const directionWord = keywordOf(tokens[i]!);
    const hasDirection = directionWord === 'asc' || directionWord === 'desc';
    if (hasDirection) i++;
    items.push({ field: fieldToken.text, direction: directionWord === 'desc' ? 'desc' : 'asc' });
    const separator = tokens[i++]!;
    if (separator.kind === 'eof') return items;
    if (separator.kind !== ',') {
      throw unexpected(separator, hasDirection ? "',' or end of input" : "'asc', 'desc', ',' or end of input");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// $top / $skip

export interface PagingLimits {
  defaultTop: number;
  maxTop: number;
}

export function parseODataPaging(
  query: { $top?: string; $skip?: string },
  limits: PagingLimits,
): { top: number; skip: number } {
  return {
    top: query.$top === undefined ? limits.defaultTop : parseCount('$top', query.$top, limits.maxTop),
    skip: query.$skip === undefined ? 0 : parseCount('$skip', query.$skip, MAX_SKIP),
  };
}

function parseCount(option: string, raw: unknown, max: number): number {
  // A repeated query parameter arrives as an array; that is as wrong as a non-number.
  if (typeof raw !== 'string' || !/^[0-9]+$/.test(raw)) {
    const shown = typeof raw === 'string' ? `'${clip(raw)}'` : 'more than one value';
    const position = typeof raw === 'string' ? Math.max(0, raw.search(/[^0-9]/)) : 0;
    throw new ODataError(`${option} must be a non-negative integer, got ${shown} (position ${position})`, position);
  }
  const value = Number(raw);
  if (value > max) throw new ODataError(`${option} must be at most ${max}, got ${clip(raw)}`, 0);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\/[A-Za-z_][A-Za-z0-9_]*)*$/;
const LITERAL_WORDS = new Set(['true', 'false', 'null']);

function formatField(field: string): string {
  const lower = field.toLowerCase();
  if (!FIELD_NAME.test(field) || RESERVED.has(lower) || LITERAL_WORDS.has(lower)) {
    throw new TypeError(`Cannot write field name '${field}' as OData`);
  }
  return field;
}

function formatString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function formatValue(value: FilterValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return formatString(value);
  if (!Number.isFinite(value)) throw new TypeError(`Cannot write number ${value} as OData`);
  // String(-0) is "0"; keep the sign so the text reads back as the same value.
  return Object.is(value, -0) ? '-0' : String(value);
}

/**
 * Canonical, fully parenthesised OData text for a filter; parseODataFilter reads it back as an
 * equal tree (for trees within the parser's limits and with and/or nodes of two or more args:
 * a one-arg and/or is written as its arg, and an empty one has no OData form and throws).
 */
export function formatODataFilter(f: Filter): string {
  switch (f.op) {
    case 'and':
    case 'or':
      if (f.args.length === 0) throw new TypeError(`Cannot write an empty '${f.op}' as OData`);
      if (f.args.length === 1) return formatODataFilter(f.args[0]!);
      return f.args.map((arg) => `(${formatODataFilter(arg)})`).join(` ${f.op} `);
    case 'not':
      return `not (${formatODataFilter(f.arg)})`;
    case 'contains':
    case 'startswith':
    case 'endswith':
      return `${f.op}(${formatField(f.field)},${formatString(f.value)})`;
    default:
      return `${formatField(f.field)} ${f.op} ${formatValue(f.value)}`;
  }
}
