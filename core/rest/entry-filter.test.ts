// The audit-trail lists' $filter and paging options: what is translated to the contract, and what is
// refused with a message that says what can be filtered.
import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../audit/query.ts';
import { GatehouseError } from '../contract/errors.ts';
import { parseODataFilter } from '../query/odata.ts';
import { describeFilterFields, ENTRY_FILTER_FIELDS, INCIDENT_FILTER_FIELDS, translateKeysetFilter } from './entry-filter.ts';
import { keysetNextPageLink, keysetQuery } from './odata-input.ts';

const entries = (text: string) => translateKeysetFilter(parseODataFilter(text), ENTRY_FILTER_FIELDS, 'Entries');
const incidents = (text: string) => translateKeysetFilter(parseODataFilter(text), INCIDENT_FILTER_FIELDS, 'Incidents');

function refusal(fn: () => unknown): GatehouseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatehouseError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('translateKeysetFilter: entries', () => {
  it('no filter is no condition', () => {
    expect(translateKeysetFilter(undefined, ENTRY_FILTER_FIELDS, 'Entries')).toEqual({ fields: {}, empty: false });
  });

  it('eq on every id and text field, and on the enums with their values', () => {
    const f = entries(
      "lock_id eq 'L' and iq_id eq 'I' and user_id eq 'U' and tag_id eq 'T' and tag_number eq '0000001001' and event_category eq 'lock_rejected' and event_detail eq 'no_access' and access_by eq 'tag'",
    );
    expect(f).toEqual({
      fields: { lock_id: 'L', iq_id: 'I', user_id: 'U', tag_id: 'T', tag_number: '0000001001', event_category: 'lock_rejected', event_detail: 'no_access', access_by: 'tag' },
      empty: false,
    });
  });

  it('a value on the left reads the same; GUIDs may be unquoted', () => {
    expect(entries("'L' eq lock_id").fields).toEqual({ lock_id: 'L' });
    expect(entries('lock_id eq 0e7e1dd9-e749-4b6d-9ca9-2b59f9ff58b8').fields).toEqual({ lock_id: '0e7e1dd9-e749-4b6d-9ca9-2b59f9ff58b8' });
  });

  it('parentheses and nested and-groups flatten (the CLP SDK wraps each condition)', () => {
    expect(entries("(lock_id eq 'L') and ((event_category eq 'lock_opened') and (utc_date_time ge DateTime'2026-11-01T00:00:00Z'))").fields).toEqual({
      lock_id: 'L',
      event_category: 'lock_opened',
      from: '2026-11-01T00:00:00.000Z',
    });
  });

  it('utc_date_time: ge is from, lt is until; gt and le move by one millisecond', () => {
    expect(entries("utc_date_time ge DateTime'2026-11-01T00:00:00Z' and utc_date_time lt DateTime'2026-11-02T00:00:00Z'").fields).toEqual({
      from: '2026-11-01T00:00:00.000Z',
      until: '2026-11-02T00:00:00.000Z',
    });
    expect(entries("utc_date_time gt DateTime'2026-11-01T00:00:00Z' and utc_date_time le DateTime'2026-11-02T00:00:00Z'").fields).toEqual({
      from: '2026-11-01T00:00:00.001Z',
      until: '2026-11-02T00:00:00.001Z',
    });
  });

  it('utc_date_time: a bare ISO literal, no offset meaning UTC, another offset converted, a quoted string', () => {
    expect(entries('utc_date_time ge 2026-11-01T00:00:00Z').fields.from).toBe('2026-11-01T00:00:00.000Z');
    expect(entries("utc_date_time ge DateTime'2026-11-01T00:00:00'").fields.from).toBe('2026-11-01T00:00:00.000Z');
    expect(entries("utc_date_time ge datetimeoffset'2026-11-01T01:00:00+01:00'").fields.from).toBe('2026-11-01T00:00:00.000Z');
    expect(entries("utc_date_time lt '2026-11-01T00:00:00.250Z'").fields.until).toBe('2026-11-01T00:00:00.250Z');
  });

  it('several bounds keep the narrowest range; the value on the left mirrors the operator', () => {
    expect(
      entries("utc_date_time ge DateTime'2026-11-01T00:00:00Z' and utc_date_time ge DateTime'2026-11-03T00:00:00Z' and utc_date_time lt DateTime'2026-11-10T00:00:00Z' and utc_date_time le DateTime'2026-11-05T00:00:00Z'").fields,
    ).toEqual({ from: '2026-11-03T00:00:00.000Z', until: '2026-11-05T00:00:00.001Z' });
    expect(entries("DateTime'2026-11-01T00:00:00Z' le utc_date_time").fields).toEqual({ from: '2026-11-01T00:00:00.000Z' });
  });

  it('contradictions match nothing rather than fail: two values for a field, an empty range', () => {
    expect(entries("lock_id eq 'A' and lock_id eq 'B'").empty).toBe(true);
    expect(entries("lock_id eq 'A' and lock_id eq 'A'")).toEqual({ fields: { lock_id: 'A' }, empty: false });
    expect(entries("utc_date_time ge DateTime'2026-11-02T00:00:00Z' and utc_date_time lt DateTime'2026-11-01T00:00:00Z'").empty).toBe(true);
    // "After T and up to T" is empty too (a poller whose window has not moved).
    expect(entries("utc_date_time gt DateTime'2026-11-01T00:00:00Z' and utc_date_time le DateTime'2026-11-01T00:00:00Z'").empty).toBe(true);
    expect(entries("utc_date_time ge DateTime'2026-11-01T00:00:00Z' and utc_date_time le DateTime'2026-11-01T00:00:00Z'").empty).toBe(false);
  });

  const refused: Array<[string, string, RegExp]> = [
    ["lock_id eq 'A' or lock_id eq 'B'", 'or', /'or' is not supported/],
    ["not (lock_id eq 'A')", 'not', /'not' is not supported/],
    ["contains(lock_customer_reference,'North')", 'a function', /contains\(\) is not supported/],
    ["lock_customer_reference eq 'North'", 'a field that is not indexed', /'lock_customer_reference' is not a field entries can be filtered by/],
    ["local_date_time ge '2026-11-01T00:00:00'", 'local_date_time', /'local_date_time' is not a field/],
    ["user/id eq 'U'", "KS's nested name", /'user\/id' is not a field/],
    ["lock_id ne 'A'", 'ne', /lock_id takes eq, not 'ne'/],
    ["lock_id gt 'A'", 'a range on an id', /lock_id takes eq, not 'gt'/],
    ["utc_date_time eq DateTime'2026-11-01T00:00:00Z'", 'eq on the time', /utc_date_time takes ge, gt, le, lt, not 'eq'/],
    ['utc_date_time ge 5', 'a number for the time', /date-time such as DateTime/],
    ["utc_date_time ge 'yesterday'", 'text for the time', /not 'yesterday'/],
    ["event_category eq 'door_exploded'", 'an enum value that does not exist', /event_category is one of lock_opened, .*not 'door_exploded'/],
    ['tag_number eq 1001', 'a number for a string', /tag_number is compared with a quoted string/],
    ['lock_id eq null', 'null', /not null/],
    ['event_detail eq true', 'a boolean for an enum', /not true/],
  ];
  it.each(refused)('refuses %s (%s) with 1102 and what entries can be filtered by', (text, _what, message) => {
    const e = refusal(() => entries(text));
    expect(e.code).toBe('invalid_filter');
    expect(e.message).toMatch(message);
    expect(e.message).toContain('Entries can be filtered by lock_id, iq_id, user_id, tag_id, tag_number, event_category, event_detail, access_by (eq) and utc_date_time (ge, gt, le, lt)');
    expect(e.issues).toEqual([{ path: '$filter', message: expect.any(String) }]);
  });

  it('an or hidden inside an and-group is refused too', () => {
    expect(refusal(() => entries("lock_id eq 'A' and (event_category eq 'lock_opened' or event_category eq 'lock_rejected')")).message).toMatch(/'or'/);
  });
});

describe('translateKeysetFilter: incidents', () => {
  it('incident_type, lock_id, iq_id, acknowledged and a time range', () => {
    expect(
      incidents("incident_type eq 'door_left_open' and lock_id eq 'L' and iq_id eq 'I' and acknowledged eq false and utc_date_time lt DateTime'2026-11-01T00:00:00Z'"),
    ).toEqual({ fields: { incident_type: 'door_left_open', lock_id: 'L', iq_id: 'I', acknowledged: false, until: '2026-11-01T00:00:00.000Z' }, empty: false });
    expect(incidents('acknowledged eq true').fields).toEqual({ acknowledged: true });
    expect(incidents('acknowledged eq true and acknowledged eq false').empty).toBe(true);
  });

  it('refuses what incidents cannot be filtered by, naming what they can', () => {
    for (const [text, message] of [
      ["acknowledged eq 'yes'", /acknowledged is compared with true or false/],
      ["incident_type eq 'fire'", /incident_type is one of door_left_open/],
      ["user_id eq 'U'", /'user_id' is not a field incidents can be filtered by/],
      ["incident_type ne 'tamper'", /incident_type takes eq, not 'ne'/],
    ] as const) {
      const e = refusal(() => incidents(text));
      expect(e.code, text).toBe('invalid_filter');
      expect(e.message, text).toMatch(message);
      expect(e.message, text).toContain('Incidents can be filtered by incident_type, lock_id, iq_id, acknowledged (eq) and utc_date_time (ge, gt, le, lt)');
    }
  });

  it('describeFilterFields groups fields by operators', () => {
    expect(describeFilterFields(INCIDENT_FILTER_FIELDS)).toBe('incident_type, lock_id, iq_id, acknowledged (eq) and utc_date_time (ge, gt, le, lt)');
  });
});

describe('keysetQuery', () => {
  const token = encodeCursor({ utc_ms: Date.parse('2026-11-01T00:00:00Z'), seq: 42 });
  const q = (query: Record<string, string | string[]>, header?: string | string[]) => keysetQuery(query, header, 'Entries');
  const refused = (query: Record<string, string | string[]>, header?: string | string[]) => refusal(() => q(query, header));

  it('defaults: newest first, 100 a page, no count, no token', () => {
    expect(q({})).toEqual({ order: 'desc', limit: 100, with_count: false });
  });

  it('$top, $orderby asc/desc (local_date_time sorts the same, for the old CLP SDK), counts on request', () => {
    expect(q({ $top: '1000', $orderby: 'utc_date_time asc' })).toMatchObject({ limit: 1000, order: 'asc' });
    expect(q({ $orderby: 'utc_date_time' }).order).toBe('asc');
    expect(q({ $orderby: 'local_date_time desc' }).order).toBe('desc');
    expect(q({ $inlinecount: 'allpages' }).with_count).toBe(true);
    expect(q({ $inlinecount: 'none' }).with_count).toBe(false);
    expect(q({ $count: 'true' }).with_count).toBe(true);
    expect(q({ $count: 'false', $format: 'json' }).with_count).toBe(false);
  });

  it('the token comes from the CLP-Continuation-Token header, continuation_token or $continuationToken', () => {
    expect(q({}, token).cursor).toBe(token);
    expect(q({ continuation_token: token }).cursor).toBe(token);
    expect(q({ $continuationToken: token }).cursor).toBe(token);
    expect(q({ continuation_token: token }, token).cursor).toBe(token);
    expect(q({ continuation_token: '' }, '  ').cursor).toBeUndefined();
  });

  it('other query parameters are ignored (the CLP SDK sends ref=phpsdk)', () => {
    expect(q({ ref: 'phpsdk' })).toEqual({ order: 'desc', limit: 100, with_count: false });
  });

  it('parses $filter (translation is translateKeysetFilter)', () => {
    expect(q({ $filter: "lock_id eq 'L'" }).filter).toEqual({ op: 'eq', field: 'lock_id', value: 'L' });
    expect(q({ $filter: '  ' }).filter).toBeUndefined();
  });

  it.each([
    [{ $skip: '100' }, 'validation', /continuation token, not \$skip/],
    [{ $skip: '0' }, 'validation', /\$skip/],
    [{ $search: 'x' }, 'validation', /no \$search/],
    [{ $expand: 'x' }, 'validation', /Unknown query option '\$expand'/],
    [{ $top: '0' }, 'validation', /\$top: must be a whole number from 1 to 1000/],
    [{ $top: '1001' }, 'validation', /\$top/],
    [{ $top: '-1' }, 'validation', /\$top/],
    [{ $top: 'ten' }, 'validation', /\$top/],
    [{ $top: ['1', '2'] }, 'validation', /'\$top' is given more than once/],
    [{ $inlinecount: 'some' }, 'validation', /\$inlinecount: must be allpages or none/],
    [{ $count: 'yes' }, 'validation', /\$count: must be true or false/],
    [{ $filter: 'lock_id eq' }, 'invalid_filter', /The OData filter format is invalid: Unexpected end of input/],
    [{ $orderby: 'lock_id desc' }, 'invalid_filter', /Cannot sort by 'lock_id': Entries are sorted by utc_date_time only/],
    [{ $orderby: 'utc_date_time desc, id' }, 'invalid_filter', /sorted by utc_date_time only/],
    [{ $orderby: 'utc_date_time sideways' }, 'invalid_filter', /\$orderby is invalid/],
    [{ continuation_token: 'not a token' }, 'validation', /continuation_token: 'not a token' \(continuation_token\) is not a continuation token/],
    [{ continuation_token: 'AAAA' }, 'validation', /is not a continuation token/],
    [{ continuation_token: 'x'.repeat(101) }, 'validation', /is not a continuation token/],
  ] as Array<[Record<string, string | string[]>, string, RegExp]>)('refuses %j', (query, code, message) => {
    const e = refused(query);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });

  it('refuses a bad token in the header, and two different tokens', () => {
    expect(refused({}, 'garbage!').message).toMatch(/\(CLP-Continuation-Token\) is not a continuation token/);
    const other = encodeCursor({ utc_ms: 1, seq: 1 });
    expect(refused({ continuation_token: other }, token).message).toMatch(/two different continuation tokens/);
  });

  it('keysetNextPageLink keeps the options and replaces the token', () => {
    const link = keysetNextPageLink('http://h/v1.1/sites/s/entries', { $filter: "lock_id eq 'L'", $top: '5', continuation_token: 'old', $continuationToken: 'old', ref: 'x' }, token);
    const url = new URL(link);
    expect(url.pathname).toBe('/v1.1/sites/s/entries');
    expect(Object.fromEntries(url.searchParams)).toEqual({ $filter: "lock_id eq 'L'", $top: '5', ref: 'x', continuation_token: token });
    expect(link).toContain('$top=5');
  });
});
