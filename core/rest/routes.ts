// The local CLP-compatible API as data: each route names the contract command or query it runs, how
// the request becomes the command's input and how the result is shaped the way KS Connect shapes it.
// Site-scoped routes live under /v1.1/sites/{site_id} (and /v1.2/...). docs/api.md lists them all.
import { GatehouseError } from '../contract/errors.ts';
import type { ContractName, InputOf, QueryName, ResultOf } from '../contract/contract.ts';
import type { EntryRow, IncidentRow, Page, UserDetail } from '../contract/results.ts';
import type { User } from '../domain/model.ts';
import { ENTRY_FILTER_FIELDS, INCIDENT_FILTER_FIELDS, translateKeysetFilter, type KeysetFilterFields } from './entry-filter.ts';
import { keysetNextPageLink, keysetQuery, listQuery, nextPageLink, type Query } from './odata-input.ts';

export interface RestRequest {
  params: Record<string, string>;
  query: Query;
  /** Request headers, names in lower case. */
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** Absolute URL of this route without the query string (for next_page_link). */
  baseUrl: string;
  /** Looks a person up by site-user id or platform user id (KS uses the latter for memberships). */
  resolveUserId(id: string): string;
  /** Runs a contract query as the caller, for checks a route makes before its command. */
  read<K extends QueryName>(name: K, input: InputOf<K>): ResultOf<K>;
}

export interface RestRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Path under /v1.1/sites/:site_id, or absolute when it starts with '/v1' or '/api'. */
  path: string;
  name: ContractName;
  input(req: RestRequest): unknown;
  output?(result: never, req: RestRequest): unknown;
  status?: number;
}

function body(req: RestRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw new GatehouseError('validation', 'The request body must be a JSON object', [{ path: '(body)', message: 'not an object' }]);
  return b as Record<string, unknown>;
}

/** KS nests the person's profile under `user` with the platform id; both ids are returned. */
export function restUser(u: User | UserDetail): Record<string, unknown> {
  return {
    ...u,
    user: { id: u.user_id, first_name: u.first_name, last_name: u.last_name, email: u.email, has_profile: Boolean(u.first_name || u.last_name || u.email) },
  };
}

const userAlias = (f: string) => (f.startsWith('user/') ? (f === 'user/id' ? 'user_id' : f.slice(5)) : f);

function list<K extends ContractName>(path: string, name: K, opts: { alias?: (f: string) => string; item?: (x: never) => unknown; extra?: (req: RestRequest) => Record<string, unknown> } = {}): RestRoute {
  return {
    method: 'GET',
    path,
    name,
    input: (req) => ({ ...listQuery(req.query, opts.alias), ...(opts.extra?.(req) ?? {}) }),
    output: (result: Page<unknown>, req) => {
      const q = listQuery(req.query, opts.alias);
      return {
        items: opts.item ? result.items.map((x) => opts.item!(x as never)) : result.items,
        next_page_link: nextPageLink(req.baseUrl, req.query, q, result.count),
        count: result.count,
      };
    },
  };
}

/** The cursor page of the audit-trail lists (entries.list, incidents.list). */
interface CursorPage<T> {
  items: T[];
  older_cursor: string | null;
  newer_cursor: string | null;
  count: number | null;
}

type KeysetListName = 'entries.list' | 'incidents.list';

/**
 * A list read by keyset, the way CLP serves entries and incidents: `$filter` limited to what the
 * trail's indexes answer (entry-filter.ts), pages continued by token (CLP-Continuation-Token header or
 * continuation_token), newest first unless `$orderby=utc_date_time asc`, and `count` only on request.
 */
function keysetList<K extends KeysetListName>(
  path: string,
  name: K,
  opts: { label: string; fields: KeysetFilterFields; item?: (x: never) => unknown; resolve?: (req: RestRequest, filter: Record<string, string | boolean>) => void },
): RestRoute {
  // input() and output() of one request need the same parsed options; parse once.
  const parsed = new WeakMap<RestRequest, { order: 'asc' | 'desc'; limit: number; withCount: boolean; empty: boolean; input: Record<string, unknown> }>();
  const parse = (req: RestRequest) => {
    let p = parsed.get(req);
    if (!p) {
      const k = keysetQuery(req.query, req.headers['clp-continuation-token'], opts.label);
      const f = translateKeysetFilter(k.filter, opts.fields, opts.label);
      opts.resolve?.(req, f.fields);
      // A filter that contradicts itself matches nothing: the query still runs (one row, to check the
      // caller and the values), and the answer is an empty page.
      const input = { ...f.fields, cursor: k.cursor, direction: k.order === 'desc' ? 'older' : 'newer', limit: f.empty ? 1 : k.limit, with_count: f.empty ? false : k.with_count };
      p = { order: k.order, limit: k.limit, withCount: k.with_count, empty: f.empty, input };
      parsed.set(req, p);
    }
    return p;
  };
  return {
    method: 'GET',
    path,
    name,
    input: (req) => parse(req).input,
    output: (result: CursorPage<unknown>, req) => {
      const p = parse(req);
      if (p.empty) return { items: [], next_page_link: null, count: p.withCount ? 0 : null, continuation_token: null };
      // The contract pages newest first either way; ascending pages come reversed.
      const rows = p.order === 'desc' ? result.items : [...result.items].reverse();
      let token: string | null;
      if (p.order === 'desc') token = result.older_cursor;
      else {
        // Going forward the contract always offers a cursor (to poll for new rows): look one row ahead
        // so that the last page says it is the last.
        const more = rows.length === p.limit && result.newer_cursor !== null && (req.read(name, { ...p.input, cursor: result.newer_cursor, direction: 'newer', limit: 1, with_count: false } as never) as CursorPage<unknown>).items.length > 0;
        token = more ? result.newer_cursor : null;
      }
      return {
        items: opts.item ? rows.map((x) => opts.item!(x as never)) : rows,
        next_page_link: token === null ? null : keysetNextPageLink(req.baseUrl, req.query, token),
        count: result.count,
        continuation_token: token,
      };
    },
  };
}

/** An entry as KS shows it: `user_id` is the platform user id (KS's user.id); Gatehouse adds the site-user id. */
export function restEntry(e: EntryRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'platform_user_id') continue;
    if (k === 'user_id') {
      out.user_id = e.platform_user_id;
      out.site_user_id = v;
    } else out[k] = v;
  }
  return out;
}

/** PATCH /incidents/{id}: {acknowledged: true, comment?} (a Gatehouse extension; KS incidents are read-only). */
function acknowledgeInput(req: RestRequest) {
  const id = req.params.id!;
  if (id.length > 64) throw new GatehouseError('validation', `id: an incident id has at most 64 characters, not ${id.length}`, [{ path: 'id', message: 'too long' }]);
  const b = body(req);
  const { acknowledged, comment, ...rest } = b;
  const unknown = Object.keys(rest);
  if (unknown.length) {
    const message = `Unrecognized key${unknown.length > 1 ? 's' : ''}: ${unknown.map((k) => `"${k}"`).join(', ')}; an incident takes acknowledged and comment`;
    throw new GatehouseError('validation', `(body): ${message}`, unknown.map((k) => ({ path: k, message: 'unknown field' })));
  }
  if (acknowledged !== true) {
    const message = acknowledged === false ? 'an acknowledgement cannot be withdrawn: send {"acknowledged": true}' : 'must be true (send {"acknowledged": true, "comment": …})';
    throw new GatehouseError('validation', `acknowledged: ${message}`, [{ path: 'acknowledged', message }]);
  }
  return { ids: [id], ...(comment === undefined ? {} : { comment }) };
}

const byId = (req: RestRequest) => ({ id: req.params.id });
const patch = (req: RestRequest) => ({ ...body(req), id: req.params.id });
const deleted = { status: 204, output: () => undefined };

/** The time schedule id of the path, checked like any id and required to belong to the path's group (the commands only take the schedule's id). */
function scheduleIdOf(req: RestRequest, opts: { inGroup: boolean }): string {
  const ts = req.params.ts ?? '';
  if (ts.length === 0 || ts.length > 64) throw new GatehouseError('validation', `ts: a time schedule id has 1 to 64 characters, not ${ts.length}`, [{ path: 'ts', message: 'must be 1 to 64 characters' }]);
  if (opts.inGroup && !req.read('access_groups.get', { id: req.params.id! }).time_schedules.some((t) => t.id === ts)) {
    throw new GatehouseError('not_found', `Time schedule '${ts}' does not exist in access group '${req.params.id}'`);
  }
  return ts;
}

/** CLP's {add_ids, remove_ids} or KS v1.2's single {lock_id}/{user_id} body. */
function membershipPatch(key: 'lock_id' | 'user_id', req: RestRequest, resolve: (id: string) => string) {
  const b = body(req);
  const ids = (v: unknown) => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? resolve(x) : x)) : v);
  if (key in b) {
    const { [key]: one, ...rest } = b;
    return { ...rest, id: req.params.id, add_ids: [typeof one === 'string' ? resolve(one) : one] };
  }
  return { ...b, id: req.params.id, add_ids: ids(b.add_ids), remove_ids: ids(b.remove_ids) };
}

export const ROUTES: RestRoute[] = [
  // Site
  { method: 'GET', path: '', name: 'site.get', input: () => ({}) },
  { method: 'PATCH', path: '', name: 'site.update', input: (req) => body(req) },

  // IQs
  list('/iqs', 'iqs.list'),
  { method: 'GET', path: '/iqs/:id', name: 'iqs.get', input: byId },
  { method: 'POST', path: '/iqs', name: 'iqs.create', input: body, status: 201 },
  { method: 'PATCH', path: '/iqs/:id', name: 'iqs.update', input: patch },
  { method: 'DELETE', path: '/iqs/:id', name: 'iqs.delete', input: byId, ...deleted },

  // Locks
  list('/locks', 'locks.list'),
  { method: 'GET', path: '/locks/:id', name: 'locks.get', input: byId },
  { method: 'POST', path: '/locks', name: 'locks.create', input: body, status: 201 },
  { method: 'PATCH', path: '/locks/:id', name: 'locks.update', input: patch },
  { method: 'DELETE', path: '/locks/:id', name: 'locks.delete', input: byId, ...deleted },
  { method: 'PATCH', path: '/locks/:id/locking', name: 'locks.set_locking', input: patch },
  { method: 'GET', path: '/locks/:id/offline_keys', name: 'locks.offline_keys.list', input: byId, output: (tags: unknown[]) => ({ items: tags, next_page_link: null, count: tags.length }) },
  { method: 'PATCH', path: '/locks/:id/offline_keys', name: 'locks.offline_keys.update', input: patch },
  {
    method: 'GET',
    path: '/locks/:id/easy_office_mode_schedule',
    name: 'locks.get',
    input: byId,
    output: (lock: ResultOf<'locks.get'>) => lock.easy_office_mode_schedule,
  },
  { method: 'PUT', path: '/locks/:id/easy_office_mode_schedule', name: 'locks.set_eom_schedule', input: (req) => ({ id: req.params.id, schedule: body(req) }), output: (lock: ResultOf<'locks.get'>) => lock.easy_office_mode_schedule },
  { method: 'DELETE', path: '/locks/:id/easy_office_mode_schedule', name: 'locks.set_eom_schedule', input: (req) => ({ id: req.params.id, schedule: null }), ...deleted },

  // Users (site users; `user.id` is the platform user id)
  list('/users', 'users.list', { alias: userAlias, item: restUser }),
  { method: 'GET', path: '/users/:id', name: 'users.get', input: byId, output: restUser },
  { method: 'POST', path: '/users', name: 'users.create', input: body, output: restUser, status: 201 },
  { method: 'PATCH', path: '/users/:id', name: 'users.update', input: patch, output: restUser },
  { method: 'DELETE', path: '/users/:id', name: 'users.delete', input: byId, ...deleted },

  // Tags
  list('/tags', 'tags.list'),
  { method: 'GET', path: '/tags/:id', name: 'tags.get', input: byId },
  { method: 'POST', path: '/tags', name: 'tags.create', input: body, status: 201 },
  { method: 'PATCH', path: '/tags/:id', name: 'tags.update', input: patch },
  { method: 'DELETE', path: '/tags/:id', name: 'tags.delete', input: byId, ...deleted },

  // Access groups
  list('/access_groups', 'access_groups.list'),
  { method: 'GET', path: '/access_groups/:id', name: 'access_groups.get', input: byId },
  { method: 'POST', path: '/access_groups', name: 'access_groups.create', input: body, status: 201 },
  { method: 'PATCH', path: '/access_groups/:id', name: 'access_groups.update', input: patch },
  { method: 'DELETE', path: '/access_groups/:id', name: 'access_groups.delete', input: byId, ...deleted },
  {
    method: 'GET',
    path: '/access_groups/:id/locks',
    name: 'access_groups.get',
    input: byId,
    output: (g: ResultOf<'access_groups.get'>) => ({ items: g.locks, next_page_link: null, count: g.locks.length }),
  },
  { method: 'POST', path: '/access_groups/:id/locks', name: 'access_groups.locks.update', input: (req) => membershipPatch('lock_id', req, (x) => x), status: 201 },
  { method: 'PATCH', path: '/access_groups/:id/locks', name: 'access_groups.locks.update', input: (req) => membershipPatch('lock_id', req, (x) => x) },
  { method: 'DELETE', path: '/access_groups/:id/locks/:lock_id', name: 'access_groups.locks.update', input: (req) => ({ id: req.params.id, remove_ids: [req.params.lock_id] }), ...deleted },
  list('/access_groups/:id/users', 'access_groups.users.list', { alias: userAlias, item: restUser, extra: (req) => ({ id: req.params.id }) }),
  { method: 'POST', path: '/access_groups/:id/users', name: 'access_groups.users.update', input: (req) => membershipPatch('user_id', req, req.resolveUserId), status: 201 },
  { method: 'PATCH', path: '/access_groups/:id/users', name: 'access_groups.users.update', input: (req) => membershipPatch('user_id', req, req.resolveUserId) },
  {
    method: 'DELETE',
    path: '/access_groups/:id/users/:user_id',
    name: 'access_groups.users.update',
    input: (req) => ({ id: req.params.id, remove_ids: [req.resolveUserId(req.params.user_id!)] }),
    ...deleted,
  },
  {
    method: 'GET',
    path: '/access_groups/:id/time_schedules',
    name: 'access_groups.get',
    input: byId,
    output: (g: ResultOf<'access_groups.get'>) => ({ items: g.time_schedules, next_page_link: null, count: g.time_schedules.length }),
  },
  { method: 'POST', path: '/access_groups/:id/time_schedules', name: 'access_groups.time_schedules.create', input: (req) => ({ ...body(req), access_group_id: req.params.id }), status: 201 },
  {
    method: 'GET',
    path: '/access_groups/:id/time_schedules/:ts',
    name: 'access_groups.get',
    input: (req) => {
      scheduleIdOf(req, { inGroup: false });
      return byId(req);
    },
    output: (g: ResultOf<'access_groups.get'>, req) => {
      const ts = g.time_schedules.find((t) => t.id === req.params.ts);
      if (!ts) throw new GatehouseError('not_found', `Time schedule '${req.params.ts}' does not exist in this access group`);
      return ts;
    },
  },
  { method: 'PATCH', path: '/access_groups/:id/time_schedules/:ts', name: 'access_groups.time_schedules.update', input: (req) => ({ ...body(req), id: scheduleIdOf(req, { inGroup: true }) }) },
  { method: 'PUT', path: '/access_groups/:id/time_schedules/:ts', name: 'access_groups.time_schedules.update', input: (req) => ({ ...body(req), id: scheduleIdOf(req, { inGroup: true }) }) },
  { method: 'DELETE', path: '/access_groups/:id/time_schedules/:ts', name: 'access_groups.time_schedules.delete', input: (req) => ({ id: scheduleIdOf(req, { inGroup: true }) }), ...deleted },

  // Holiday calendars (Gatehouse extension)
  { method: 'GET', path: '/holiday_calendars', name: 'holiday_calendars.list', input: () => ({}), output: (cals: unknown[]) => ({ items: cals, next_page_link: null, count: cals.length }) },
  { method: 'POST', path: '/holiday_calendars', name: 'holiday_calendars.create', input: body, status: 201 },
  { method: 'PATCH', path: '/holiday_calendars/:id', name: 'holiday_calendars.update', input: patch },
  { method: 'DELETE', path: '/holiday_calendars/:id', name: 'holiday_calendars.delete', input: byId, ...deleted },

  // Audit trail (read by keyset with continuation tokens, as CLP does)
  keysetList('/entries', 'entries.list', {
    label: 'Entries',
    fields: ENTRY_FILTER_FIELDS,
    item: restEntry,
    // KS puts the platform user id in entries; the trail keeps the site-user id. Either is accepted.
    resolve: (req, f) => {
      if (typeof f.user_id === 'string' && f.user_id.length <= 64) f.user_id = req.resolveUserId(f.user_id);
    },
  }),
  { method: 'GET', path: '/entries/:id', name: 'entries.get', input: byId, output: restEntry },
  keysetList('/incidents', 'incidents.list', { label: 'Incidents', fields: INCIDENT_FILTER_FIELDS }),
  { method: 'GET', path: '/incidents/:id', name: 'incidents.get', input: byId },
  { method: 'PATCH', path: '/incidents/:id', name: 'incidents.acknowledge', input: acknowledgeInput, output: (rows: IncidentRow[]) => rows[0] },

  // Access check: explain() for (user or tag, lock, instant) (Gatehouse extension)
  {
    method: 'GET',
    path: '/access_check',
    name: 'access.explain',
    input: (req) => {
      const q = req.query;
      const str = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : undefined);
      const bool = (k: string) => (str(k) === undefined ? undefined : str(k) === 'true' ? true : str(k) === 'false' ? false : str(k));
      const userId = str('user_id');
      return {
        lock_id: str('lock_id'),
        tag_number: str('tag_number'),
        user_id: userId === undefined ? undefined : req.resolveUserId(userId),
        at: str('at'),
        privacy_mode: bool('privacy_mode'),
        offline: bool('offline'),
      };
    },
  },
];
