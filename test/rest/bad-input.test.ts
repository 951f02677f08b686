// Bad input on every route of the REST API is refused with 400 and a CLP error body that says what was
// wrong, and leaves the database byte-for-byte as it was. The cases are generated from the route table
// (core/rest/routes.ts) and the contract, so a new route is covered without touching this file; routes
// whose input cannot be derived get hand-written cases below, and a check fails when a route has none.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contract, type ContractName } from '../../core/contract/contract.ts';
import { can } from '../../core/contract/permissions.ts';
import { DATABASE_FILE } from '../../core/host/data-dir.ts';
import { startHost, type RunningHost } from '../../core/host/host.ts';
import { ROUTES, type RestRoute } from '../../core/rest/routes.ts';

const PREFIXES = ['/v1.1', '/v1.2'] as const;
const OWNER_PASSWORD = 'correct horse battery';
const LONG_ID = 'x'.repeat(100);
const UNKNOWN_FIELD = 'definitely_not_a_field';

let host: RunningHost;
let dataDir: string;
let site: string;
let owner: string;
let auditor: string;
/** Real ids for each route's path parameters, looked up once before the first hash. */
const realParams = new Map<RestRoute, Record<string, string>>();

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { ErrorCode?: unknown; Message?: unknown; Errors?: unknown };
  text: string;
}

interface Send {
  method: string;
  path: string;
  token?: string | null;
  /** Raw request body (sent as-is, so it can be broken JSON). */
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

async function send(r: Send): Promise<Reply> {
  const headers: Record<string, string> = { ...r.headers };
  if (r.token) headers.authorization = `Bearer ${r.token}`;
  if (r.body !== undefined) headers['content-type'] = r.contentType ?? 'application/json';
  const res = await fetch(host.url + r.path, { method: r.method, headers, body: r.body });
  const text = await res.text();
  let body: Reply['body'];
  try {
    body = text ? (JSON.parse(text) as Reply['body']) : {};
  } catch {
    body = {};
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** SHA-256 of the database file and its write-ahead log: any write shows up in one of them. */
function dbHash(): string {
  const h = createHash('sha256');
  for (const f of [DATABASE_FILE, `${DATABASE_FILE}-wal`]) {
    const file = join(dataDir, f);
    h.update(`${f}:`);
    h.update(existsSync(file) ? readFileSync(file) : Buffer.from('(absent)'));
  }
  return h.digest('hex');
}

const paramNames = (route: RestRoute) => [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
const fill = (route: RestRoute, params: Record<string, string>) => route.path.replace(/:(\w+)/g, (_, p: string) => encodeURIComponent(params[p]!));
const routeUrl = (prefix: string, route: RestRoute, params: Record<string, string>, siteId = site) => `${prefix}/sites/${siteId}${fill(route, params)}`;
const label = (route: RestRoute) => `${route.method} ${route.path || '/'}`;

function inputKeys(name: ContractName): string[] | null {
  const schema = contract[name].input as unknown as { shape?: Record<string, unknown> };
  return schema.shape ? Object.keys(schema.shape) : null;
}
const isList = (route: RestRoute) => route.method === 'GET' && (inputKeys(route.name) ?? []).includes('top');
/** The audit-trail lists, paged with a continuation token instead of $skip. */
const isKeysetList = (route: RestRoute) => route.method === 'GET' && (inputKeys(route.name) ?? []).includes('cursor');
const hasBody = (route: RestRoute) => route.method === 'POST' || route.method === 'PATCH' || route.method === 'PUT';

/** For `/a/:x/b/:y`: x is the first item of GET /a, y the first item of GET /a/{x}/b (a fresh UUID when there is none). */
async function lookUpParams(route: RestRoute, cache: Map<string, string>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let collection = '';
  for (const seg of route.path.split('/').filter(Boolean)) {
    if (!seg.startsWith(':')) {
      collection += `/${seg}`;
      continue;
    }
    let id = cache.get(collection);
    if (id === undefined) {
      const r = await send({ method: 'GET', path: `/v1.1/sites/${site}${collection}?$top=1`, token: owner });
      const items = (r.body as { items?: Array<{ id?: unknown }> }).items;
      id = typeof items?.[0]?.id === 'string' ? items[0].id : randomUUID();
      cache.set(collection, id);
    }
    out[seg.slice(1)] = id;
    collection += `/${id}`;
  }
  return out;
}

interface Case {
  what: string;
  method: string;
  path: string;
  body?: string;
  contentType?: string;
  token?: string | null;
  status?: number;
  code?: string;
  /** Something the error (Message or Errors) must name. */
  names?: string | RegExp;
  headers?: Record<string, string>;
}

async function expectRefused(c: Case): Promise<void> {
  const r = await send({ method: c.method, path: c.path, body: c.body, contentType: c.contentType, headers: c.headers, token: c.token === undefined ? owner : c.token });
  const where = `${c.what}: ${c.method} ${c.path} → ${r.status} ${r.text.slice(0, 300)}`;
  expect(r.status, where).toBe(c.status ?? 400);
  expect(typeof r.body.ErrorCode, where).toBe('string');
  expect(r.body.ErrorCode, where).toMatch(/^\d{4}$/);
  if (c.code) expect(r.body.ErrorCode, where).toBe(c.code);
  expect(typeof r.body.Message, where).toBe('string');
  expect((r.body.Message as string).trim().length, where).toBeGreaterThan(0);
  if (c.names !== undefined) {
    const said = `${r.body.Message as string} ${JSON.stringify(r.body.Errors ?? [])}`;
    if (typeof c.names === 'string') expect(said, where).toContain(c.names);
    else expect(said, where).toMatch(c.names);
  }
}

/** Cases derived from the shape of a route: OData options, path ids, request bodies. */
function generatedCases(route: RestRoute, prefix: string): Case[] {
  const params = realParams.get(route)!;
  const url = routeUrl(prefix, route, params);
  const base = { method: route.method, path: url };
  const cases: Case[] = [];
  if (isList(route)) {
    const q = (query: string) => `${url}?${query}`;
    cases.push(
      { ...base, what: 'malformed $filter', path: q('$filter=online%20eq'), code: '1102', names: /filter/i },
      { ...base, what: 'unbalanced $filter', path: q("$filter=(id%20eq%20'a'"), code: '1102', names: /filter/i },
      { ...base, what: 'unknown $filter field', path: q('$filter=no_such_field%20eq%201'), code: '1102', names: 'no_such_field' },
      { ...base, what: 'unknown $orderby field', path: q('$orderby=no_such_field%20desc'), code: '1102', names: 'no_such_field' },
      { ...base, what: '$top=-1', path: q('$top=-1'), names: '$top' },
      { ...base, what: '$top=abc', path: q('$top=abc'), names: '$top' },
      { ...base, what: '$top over the maximum', path: q('$top=1001'), names: '$top' },
      { ...base, what: '$skip=x', path: q('$skip=x'), names: '$skip' },
      { ...base, what: 'repeated $top', path: q('$top=1&$top=2'), names: '$top' },
      { ...base, what: 'unknown $option', path: q('$expand=everything'), names: '$expand' },
      { ...base, what: '$search too long', path: q(`$search=${'a'.repeat(201)}`), names: '$search' },
    );
  }
  if (isKeysetList(route)) {
    const q = (query: string) => `${url}?${query.replace(/ /g, '%20')}`;
    const what = /can be filtered by .*utc_date_time \(ge, gt, le, lt\), with conditions joined by 'and'/;
    cases.push(
      { ...base, what: 'malformed $filter', path: q('$filter=lock_id eq'), code: '1102', names: /filter/i },
      { ...base, what: 'unbalanced $filter', path: q("$filter=(lock_id eq 'a'"), code: '1102', names: /filter/i },
      { ...base, what: 'unknown $filter field', path: q('$filter=no_such_field eq 1'), code: '1102', names: /no_such_field.*can be filtered by/ },
      { ...base, what: "'or' in $filter", path: q("$filter=lock_id eq 'a' or lock_id eq 'b'"), code: '1102', names: what },
      { ...base, what: "'not' in $filter", path: q("$filter=not (lock_id eq 'a')"), code: '1102', names: what },
      { ...base, what: 'unsupported operator ne', path: q("$filter=lock_id ne 'a'"), code: '1102', names: /lock_id takes eq, not 'ne'/ },
      { ...base, what: 'a string function', path: q("$filter=contains(lock_id,'a')"), code: '1102', names: what },
      { ...base, what: 'eq on utc_date_time', path: q("$filter=utc_date_time eq DateTime'2026-01-01T00:00:00Z'"), code: '1102', names: 'utc_date_time' },
      { ...base, what: 'utc_date_time compared with text', path: q("$filter=utc_date_time ge 'yesterday'"), code: '1102', names: 'utc_date_time' },
      { ...base, what: 'a date that does not exist', path: q("$filter=utc_date_time ge DateTime'2026-02-30T00:00:00Z'"), code: '1102', names: /date-time/ },
      { ...base, what: 'an id longer than 64 characters in $filter', path: q(`$filter=lock_id eq '${LONG_ID}'`), code: '1101', names: /lock_id.*(64|too big)/i },
      { ...base, what: 'unknown $orderby field', path: q('$orderby=no_such_field desc'), code: '1102', names: 'no_such_field' },
      { ...base, what: 'two $orderby fields', path: q('$orderby=utc_date_time desc, id'), code: '1102', names: /sorted by utc_date_time only/ },
      { ...base, what: 'bad $orderby direction', path: q('$orderby=utc_date_time sideways'), code: '1102', names: '$orderby' },
      { ...base, what: '$top=0', path: q('$top=0'), code: '1101', names: '$top' },
      { ...base, what: '$top=-1', path: q('$top=-1'), code: '1101', names: '$top' },
      { ...base, what: '$top=abc', path: q('$top=abc'), code: '1101', names: '$top' },
      { ...base, what: '$top over the maximum', path: q('$top=1001'), code: '1101', names: '$top' },
      { ...base, what: 'repeated $top', path: q('$top=1&$top=2'), code: '1101', names: '$top' },
      { ...base, what: '$skip', path: q('$skip=100'), code: '1101', names: /\$skip.*continuation token/ },
      { ...base, what: '$skip=0', path: q('$skip=0'), code: '1101', names: /continuation token/ },
      { ...base, what: '$search', path: q('$search=abc'), code: '1101', names: '$search' },
      { ...base, what: 'unknown $option', path: q('$expand=everything'), code: '1101', names: '$expand' },
      { ...base, what: 'bad $inlinecount', path: q('$inlinecount=sometimes'), code: '1101', names: '$inlinecount' },
      { ...base, what: 'bad $count', path: q('$count=maybe'), code: '1101', names: '$count' },
      { ...base, what: 'continuation_token not issued here', path: q('continuation_token=not-a-token'), code: '1101', names: 'continuation_token' },
      { ...base, what: 'continuation_token of base64 garbage', path: q('continuation_token=AAAAAAAA'), code: '1101', names: 'continuation_token' },
      { ...base, what: 'bad CLP-Continuation-Token header', headers: { 'CLP-Continuation-Token': 'definitely!not*a+token' }, code: '1101', names: 'CLP-Continuation-Token' },
      { ...base, what: 'two different tokens', path: q('continuation_token=MS4x'), headers: { 'CLP-Continuation-Token': 'Mi4y' }, code: '1101', names: /two different continuation tokens/ },
    );
  }
  for (const p of paramNames(route)) {
    if (p === 'site_id') continue;
    cases.push({ ...base, what: `100-character :${p}`, path: routeUrl(prefix, route, { ...params, [p]: LONG_ID }), names: /64|too long|too big/i });
  }
  if (hasBody(route)) {
    cases.push(
      { ...base, what: 'JSON array body', body: '[{"a":1}]', names: /object/i },
      { ...base, what: 'JSON string body', body: '"just a string"', names: /object/i },
      { ...base, what: 'JSON number body', body: '42', names: /object/i },
      { ...base, what: 'invalid JSON', body: '{"customer_reference": "x",', code: '1100', names: /JSON/ },
      { ...base, what: 'unknown field', body: JSON.stringify({ [UNKNOWN_FIELD]: 1 }), names: UNKNOWN_FIELD },
    );
    // Wrong type: the first field of the command's input that is not an id, given an object.
    const key = (inputKeys(route.name) ?? []).find((k) => !/(^|_)id$/.test(k) && !paramNames(route).includes(k));
    if (key) cases.push({ ...base, what: `wrong type for ${key}`, body: JSON.stringify({ [key]: { nested: [1] } }), names: key });
  }
  return cases;
}

/** Cases that need to know what a route's input means. Keyed by `METHOD path` as in ROUTES. */
function specificCases(route: RestRoute, prefix: string): Case[] {
  const params = realParams.get(route)!;
  const url = routeUrl(prefix, route, params);
  const m = route.method;
  const json = (what: string, body: unknown, names: string | RegExp): Case => ({ what, method: m, path: url, body: JSON.stringify(body), names });
  const query = (what: string, q: string, names: string | RegExp): Case => ({ what, method: m, path: `${url}?${q}`, names });
  const lock = realParams.get(ROUTES.find((r) => r.path === '/locks/:id' && r.method === 'GET')!)!.id!;
  const user = realParams.get(ROUTES.find((r) => r.path === '/users/:id' && r.method === 'GET')!)!.id!;
  switch (`${m} ${route.path}`) {
    case 'PATCH ':
      return [json('time zone that does not exist', { time_zone: 'Mars/Olympus_Mons' }, 'time_zone'), json('empty name', { customer_reference: '   ' }, 'customer_reference')];
    case 'POST /iqs':
      return [json('missing mac', { customer_reference: 'IQ' }, 'mac'), json('bad mac', { customer_reference: 'IQ', mac: 'not-a-mac' }, 'mac')];
    case 'PATCH /iqs/:id':
      return [json('subscribed as a string', { subscribed: 'yes' }, 'subscribed')];
    case 'POST /locks':
      return [json('missing customer_reference', {}, 'customer_reference'), json('unknown lock_type', { customer_reference: 'Door', lock_type: 'portcullis' }, 'lock_type')];
    case 'PATCH /locks/:id':
      return [json('negative offline key limit', { offline_access_keys_limit: -1 }, 'offline_access_keys_limit')];
    case 'PATCH /locks/:id/locking':
      return [json('missing locked_state', {}, 'locked_state'), json('unknown locked_state', { locked_state: 'open' }, 'locked_state')];
    case 'PATCH /locks/:id/offline_keys':
      return [json('nothing to add or remove', {}, 'add_ids'), json('add_ids not an array', { add_ids: 'tag' }, 'add_ids')];
    case 'PUT /locks/:id/easy_office_mode_schedule':
      return [json('no day selected', { start_time: '08:00', end_time: '12:00' }, /day/), json('bad time', { monday: true, start_time: '8 am', end_time: '12:00' }, 'start_time')];
    case 'POST /users':
      return [json('no name at all', {}, /name/), json('first_name a number', { first_name: 42 }, 'first_name'), json('date without offset', { first_name: 'A', valid_until: '2030-01-01' }, 'valid_until')];
    case 'PATCH /users/:id':
      return [json('blocked as a string', { blocked: 'yes' }, 'blocked'), json('bad e-mail', { email: 'not-an-email' }, 'email')];
    case 'POST /tags':
      return [json('short tag number', { tag_number: '12' }, 'tag_number'), json('bad card uid', { card_uid: 'zz' }, 'card_uid')];
    case 'PATCH /tags/:id':
      return [json('unknown kind', { kind: 'implant' }, 'kind')];
    case 'POST /access_groups':
      return [json('missing customer_reference', {}, 'customer_reference'), json('lock_ids not an array', { customer_reference: 'G', lock_ids: lock }, 'lock_ids')];
    case 'PATCH /access_groups/:id':
      return [json('name too long', { customer_reference: 'g'.repeat(201) }, 'customer_reference')];
    case 'POST /access_groups/:id/locks':
    case 'PATCH /access_groups/:id/locks':
    case 'POST /access_groups/:id/users':
    case 'PATCH /access_groups/:id/users':
      return [json('nothing to add or remove', {}, 'add_ids'), json('lock_id/user_id a number', { [route.path.endsWith('locks') ? 'lock_id' : 'user_id']: 7 }, 'add_ids')];
    case 'POST /access_groups/:id/time_schedules':
      return [json('missing times', { monday: true }, 'start_time'), json('hour 25', { monday: true, start_time: '25:00', end_time: '10:00' }, 'start_time')];
    case 'PATCH /access_groups/:id/time_schedules/:ts':
    case 'PUT /access_groups/:id/time_schedules/:ts':
      return [json('day flag as a string', { monday: true, tuesday: 'yes', start_time: '08:00', end_time: '09:00' }, 'tuesday'), json('end before start date', { monday: true, start_time: '08:00', end_time: '09:00', start_date: '2027-01-02', end_date: '2027-01-01' }, 'end_date')];
    case 'POST /holiday_calendars':
      return [json('30 February', { customer_reference: 'Cal', dates: [{ date: '2026-02-30' }] }, 'date'), json('unknown day_type', { customer_reference: 'Cal', dates: [{ date: '2026-12-25', day_type: 'party' }] }, 'day_type')];
    case 'PATCH /holiday_calendars/:id':
      return [json('remove_dates not dates', { remove_dates: ['tomorrow'] }, 'remove_dates')];
    case 'GET /entries':
      return [
        query('an event_category that does not exist', "$filter=event_category%20eq%20'door_exploded'", /event_category is one of/),
        query('an access_by that does not exist', "$filter=access_by%20eq%20'telepathy'", /access_by is one of/),
        query('a tag number of the wrong form', "$filter=tag_number%20eq%20'12'", 'tag_number'),
        query('a tag number as a number', '$filter=tag_number%20eq%201001', /tag_number is compared with a quoted string/),
        query('user_id eq null', '$filter=user_id%20eq%20null', 'user_id'),
        query('an incident field', "$filter=incident_type%20eq%20'tamper'", /'incident_type' is not a field entries can be filtered by/),
      ];
    case 'GET /incidents':
      return [
        query('acknowledged as a string', "$filter=acknowledged%20eq%20'yes'", /acknowledged is compared with true or false/),
        query('an incident_type that does not exist', "$filter=incident_type%20eq%20'fire'", /incident_type is one of/),
        query('an entry field', "$filter=event_category%20eq%20'lock_opened'", /'event_category' is not a field incidents can be filtered by/),
      ];
    case 'GET /entries/:id':
    case 'GET /incidents/:id':
      return [{ what: 'an id that is not a number', method: m, path: routeUrl(prefix, route, { id: 'abc' }), names: /id: 'abc' is not an? (entry|incident) id/ }];
    case 'PATCH /incidents/:id':
      return [
        json('acknowledged false', { acknowledged: false }, /acknowledged: an acknowledgement cannot be withdrawn/),
        json('no acknowledged', { comment: 'seen' }, 'acknowledged'),
        json('acknowledged as a string', { acknowledged: 'true' }, 'acknowledged'),
        json('comment a number', { acknowledged: true, comment: 42 }, 'comment'),
        json('comment too long', { acknowledged: true, comment: 'c'.repeat(1001) }, 'comment'),
        { what: 'an id that is not a number', method: m, path: routeUrl(prefix, route, { id: 'abc' }), body: JSON.stringify({ acknowledged: true }), names: /is not an incident id/ },
      ];
    case 'GET /access_check':
      return [
        query('no lock_id', '', 'lock_id'),
        query('neither person nor tag', `lock_id=${lock}`, 'tag_number'),
        query('both person and tag', `lock_id=${lock}&user_id=${user}&tag_number=0000001001`, 'tag_number'),
        query('short tag number', `lock_id=${lock}&tag_number=12`, 'tag_number'),
        query('instant without offset', `lock_id=${lock}&user_id=${user}&at=2026-01-01T10:00:00`, 'at'),
        query('privacy_mode not a boolean', `lock_id=${lock}&user_id=${user}&privacy_mode=maybe`, 'privacy_mode'),
      ];
    default:
      return [];
  }
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bad-input-'));
  host = await startHost({ dataDir, port: 0, host: '127.0.0.1', demo: true, ownerPassword: OWNER_PASSWORD, version: 'test', log: () => {} });
  site = (await send({ method: 'GET', path: '/api/health' })).body.site_id as string;
  const token = async (username: string, password: string) =>
    (await send({ method: 'POST', path: '/connect/token', body: new URLSearchParams({ grant_type: 'password', username, password }).toString(), contentType: 'application/x-www-form-urlencoded' })).body.access_token as string;
  owner = await token('owner', OWNER_PASSWORD);
  auditor = await token('auditor', 'demo-auditor-pass');
  expect(owner).toBeTruthy();
  expect(auditor).toBeTruthy();
  // Warm-up: an authenticated read, then the ids every route's path needs.
  expect((await send({ method: 'GET', path: `/v1.1/sites/${site}`, token: owner })).status).toBe(200);
  const cache = new Map<string, string>();
  for (const route of ROUTES) realParams.set(route, await lookUpParams(route, cache));
});

afterAll(async () => {
  await host?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('bad input is refused with 400 and changes nothing', () => {
  let before: string;
  beforeAll(() => {
    before = dbHash();
  });

  it('every route has at least one case about its own input (unless it takes none)', () => {
    const uncovered = ROUTES.filter((r) => generatedCases(r, '/v1.1').length + specificCases(r, '/v1.1').length === 0 && (inputKeys(r.name)?.length ?? 1) > 0);
    expect(uncovered.map(label), 'add cases for these routes to specificCases()').toEqual([]);
  });

  for (const prefix of PREFIXES) {
    it(`every route under ${prefix}: OData options, ids, bodies`, async () => {
      let n = 0;
      for (const route of ROUTES) {
        for (const c of [...generatedCases(route, prefix), ...specificCases(route, prefix)]) {
          await expectRefused({ ...c, what: `${label(route)}: ${c.what}` });
          n++;
        }
      }
      expect(n).toBeGreaterThan(ROUTES.length * 2);
      expect(dbHash()).toBe(before);
    });

    it(`every route under ${prefix}: a site_id that is not a UUID is 400, an unknown one 404`, async () => {
      for (const route of ROUTES) {
        const params = realParams.get(route)!;
        const body = hasBody(route) ? '{}' : undefined;
        await expectRefused({ what: `${label(route)}: site uid`, method: route.method, path: routeUrl(prefix, route, params, 'GH1234567890'), body, code: '1101', names: 'site_id' });
        await expectRefused({ what: `${label(route)}: unknown site`, method: route.method, path: routeUrl(prefix, route, params, randomUUID()), body, status: 404, code: '2202', names: /site/i });
      }
      expect(dbHash()).toBe(before);
    });

    it(`every route under ${prefix}: no token is 401 1500, a bad token too`, async () => {
      for (const route of ROUTES) {
        const path = routeUrl(prefix, route, realParams.get(route)!);
        const body = hasBody(route) ? '{}' : undefined;
        await expectRefused({ what: `${label(route)}: no token`, method: route.method, path, body, token: null, status: 401, code: '1500', names: /Bearer/ });
        await expectRefused({ what: `${label(route)}: bad token`, method: route.method, path, body, token: 'not-a-token', status: 401, code: '1500', names: /token/i });
      }
      expect(dbHash()).toBe(before);
    });

    it(`every write route under ${prefix}: an auditor gets 403 2203`, async () => {
      const writes = ROUTES.filter((r) => contract[r.name].permission !== null && !can('auditor', contract[r.name].permission!));
      expect(writes.length).toBeGreaterThan(20);
      for (const route of writes) {
        const path = routeUrl(prefix, route, realParams.get(route)!);
        await expectRefused({ what: `${label(route)}: auditor`, method: route.method, path, body: hasBody(route) ? '{}' : undefined, token: auditor, status: 403, code: '2203', names: contract[route.name].permission! });
      }
      expect(dbHash()).toBe(before);
    });
  }

  it('unknown routes are 404 with a CLP error body', async () => {
    const lock = realParams.get(ROUTES.find((r) => r.path === '/locks/:id')!)!.id!;
    for (const [method, path] of [
      ['GET', `/v1.1/sites/${site}/no_such_resource`],
      ['GET', `/v1.3/sites/${site}/locks`],
      ['GET', `/v2/sites/${site}/locks`],
      ['POST', `/v1.1/sites/${site}/locks/${lock}`],
      ['PUT', `/v1.2/sites/${site}/users`],
      ['GET', '/api/no_such_thing'],
      ['GET', '/connect/token'],
    ] as const) {
      await expectRefused({ what: 'unknown route', method, path, status: 404, names: path.split('/').at(-1)! });
    }
    expect(dbHash()).toBe(before);
  });

  it('/api/export/entries: bad input is 400 with a CLP error body before anything is streamed', async () => {
    const path = (q: string) => `/api/export/entries?${q}`;
    const cases: Case[] = [
      { what: 'unknown format', method: 'GET', path: path('format=xlsx'), code: '1101', names: 'format' },
      { what: 'format twice', method: 'GET', path: path('format=csv&format=jsonl'), code: '1101', names: 'format' },
      { what: 'unknown parameter', method: 'GET', path: path(`${UNKNOWN_FIELD}=1`), code: '1101', names: UNKNOWN_FIELD },
      { what: 'an OData option', method: 'GET', path: path('$top=10'), code: '1101', names: '$top' },
      { what: 'lock_id too long', method: 'GET', path: path(`lock_id=${LONG_ID}`), code: '1101', names: /lock_id.*(64|too big)/i },
      { what: 'empty lock_id', method: 'GET', path: path('lock_id='), code: '1101', names: 'lock_id' },
      { what: 'from without an offset', method: 'GET', path: path('from=2026-01-01T00:00:00'), code: '1101', names: 'from' },
      { what: 'from not a date', method: 'GET', path: path('from=yesterday'), code: '1101', names: 'from' },
      { what: 'until before from', method: 'GET', path: path('from=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z'), code: '1101', names: 'until' },
      { what: 'unknown event_category', method: 'GET', path: path('event_category=door_exploded'), code: '1101', names: 'event_category' },
      { what: 'short tag number', method: 'GET', path: path('tag_number=12'), code: '1101', names: 'tag_number' },
      { what: 'no token', method: 'GET', path: path('format=csv'), token: null, status: 401, code: '1500', names: /Bearer/ },
      { what: 'bad token', method: 'GET', path: path('format=csv'), token: 'not-a-token', status: 401, code: '1500', names: /token/i },
    ];
    for (const c of cases) {
      await expectRefused({ ...c, what: `/api/export/entries: ${c.what}` });
      const r = await send({ method: 'GET', path: c.path, token: c.token === undefined ? owner : c.token });
      expect(r.headers.get('content-type'), c.what).toMatch(/^application\/json/);
      expect(r.headers.get('content-disposition'), c.what).toBeNull();
    }
    expect(dbHash()).toBe(before);
  });

  it('/connect/token: bad requests are 400 with an OAuth error and a CLP error', async () => {
    const form = 'application/x-www-form-urlencoded';
    const cases: Array<Omit<Case, 'method' | 'path'>> = [
      { what: 'invalid JSON', body: '{"grant_type":', code: '1100', names: /JSON/ },
      { what: 'JSON array', body: '[]', names: 'grant_type' },
      { what: 'JSON string', body: '"password"', names: 'grant_type' },
      { what: 'grant_type a number', body: '{"grant_type":5}', names: 'grant_type' },
      { what: 'no grant_type', body: 'username=owner&password=x', contentType: form, names: 'grant_type' },
      { what: 'unknown grant_type', body: 'grant_type=implicit', contentType: form, names: 'implicit' },
      { what: 'password grant without password', body: 'grant_type=password&username=owner', contentType: form, names: 'password' },
      { what: 'password grant without username', body: 'grant_type=password&password=x', contentType: form, names: 'username' },
      { what: 'username too long', body: `grant_type=password&username=${'u'.repeat(101)}&password=x`, contentType: form, names: 'username' },
      { what: 'client_credentials without secret', body: 'grant_type=client_credentials&client_id=abc', contentType: form, names: 'client_secret' },
      { what: 'client_id too long', body: `grant_type=client_credentials&client_id=${'c'.repeat(101)}&client_secret=x`, contentType: form, names: 'client_id' },
    ];
    for (const c of cases) {
      await expectRefused({ ...c, method: 'POST', path: '/connect/token', token: null });
      const r = await send({ method: 'POST', path: '/connect/token', body: c.body, contentType: c.contentType });
      if (c.code !== '1100') expect(typeof r.body.error, c.what).toBe('string');
    }
    expect(dbHash()).toBe(before);
  });

  it('/api/rpc/{name}: bad input for every contract command and query is 400', async () => {
    const names = Object.keys(contract) as ContractName[];
    for (const name of names) {
      const path = `/api/rpc/${name}`;
      await expectRefused({ what: `${name}: array input`, method: 'POST', path, body: '[]', names: /object|array/i });
      await expectRefused({ what: `${name}: unknown field`, method: 'POST', path, body: JSON.stringify({ [UNKNOWN_FIELD]: 1 }), names: UNKNOWN_FIELD });
      await expectRefused({ what: `${name}: invalid JSON`, method: 'POST', path, body: '{', code: '1100', names: /JSON/ });
      const perm = contract[name].permission;
      if (perm && !can('auditor', perm)) {
        await expectRefused({ what: `${name}: auditor`, method: 'POST', path, body: '{}', token: auditor, status: 403, code: '2203', names: perm });
      }
    }
    await expectRefused({ what: 'unknown command', method: 'POST', path: '/api/rpc/locks.explode', body: '{}', names: 'locks.explode' });
    await expectRefused({ what: 'string input', method: 'POST', path: '/api/rpc/users.create', body: '"Ada"', names: /object|string/i });
    await expectRefused({ what: 'wrong type', method: 'POST', path: '/api/rpc/users.create', body: '{"first_name":42}', names: 'first_name' });
    await expectRefused({ what: 'long id', method: 'POST', path: '/api/rpc/locks.get', body: JSON.stringify({ id: LONG_ID }), names: 'id' });
    await expectRefused({ what: 'no token', method: 'POST', path: '/api/rpc/site.get', body: '{}', token: null, status: 401, code: '1500' });
    expect(dbHash()).toBe(before);
  });
});
