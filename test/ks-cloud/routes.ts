// The site-scoped KS Connect routes of the mock (/v1.1/sites/{site_id}/...), as plain functions of
// the request. Shapes follow domain.md §1.4-1.8; docs/ks-cloud-mock.md lists the choices made where
// it is silent.
import { randomUUID } from 'node:crypto';
import { matches, parseFilter } from './filter.ts';
import { makeUser, type CloudEntry, type CloudSite, type CloudUser, type Json } from './store.ts';

export interface RouteRequest {
  method: string;
  /** Segments after /v1.1/sites/{site_id}. */
  segments: string[];
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Json;
  /** This route's absolute URL without query, for next_page_link. */
  url: string;
  now: number;
  /** The duplicate-delivery fault fired: a list page repeats the last item of the previous one. */
  duplicate: boolean;
  settleMs: number;
}

export interface RouteAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export class KsFail extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_TOP = 100;
const MAX_TOP = 1000;

function top(q: URLSearchParams): number {
  const raw = q.get('$top');
  if (raw === null) return DEFAULT_TOP;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new KsFail(400, '1101', "Invalid value of parameter '$top'");
  return Math.min(Number(raw), MAX_TOP);
}

function filtered<T>(items: Iterable<T>, q: URLSearchParams): T[] {
  const f = parseFilter(q.get('$filter'));
  const all = [...items];
  return f ? all.filter((x) => matches(x, f)) : all;
}

/** {items, next_page_link, count}, paged by $top/$skip carried in next_page_link. */
function listPage<T>(items: Iterable<T>, r: RouteRequest): RouteAnswer {
  const all = filtered(items, r.query);
  const n = top(r.query);
  const skip = Number(r.query.get('$skip') ?? '0');
  const from = r.duplicate && skip > 0 ? skip - 1 : skip;
  let next: string | null = null;
  if (skip + n < all.length) {
    const link = new URL(r.url);
    r.query.forEach((v, k) => link.searchParams.set(k, v));
    link.searchParams.set('$top', String(n));
    link.searchParams.set('$skip', String(skip + n));
    next = link.toString();
  }
  return { status: 200, body: { items: all.slice(from, skip + n), next_page_link: next, count: all.length } };
}

const token = (e: CloudEntry) => Buffer.from(JSON.stringify([e.utc_date_time, e.id])).toString('base64url');

function keyOf(t: string): [string, string] {
  try {
    const k = JSON.parse(Buffer.from(t, 'base64url').toString()) as unknown;
    if (Array.isArray(k) && k.length === 2 && typeof k[0] === 'string' && typeof k[1] === 'string') return [k[0], k[1]];
  } catch {
    // fall through to the refusal
  }
  throw new KsFail(400, '1101', "Invalid value of parameter 'CLP-Continuation-Token'");
}

/** Entries and incidents: keyset pages continued by the CLP-Continuation-Token header. */
function keysetPage(rows: CloudEntry[], r: RouteRequest): RouteAnswer {
  if (r.query.has('$skip')) throw new KsFail(400, '1101', "Invalid value of parameter '$skip'");
  const orderby = r.query.get('$orderby') ?? 'utc_date_time desc';
  if (orderby !== 'utc_date_time desc' && orderby !== 'utc_date_time asc' && orderby !== 'utc_date_time') {
    throw new KsFail(400, '1102', 'The OData filter format is invalid');
  }
  const dir = orderby.endsWith('desc') ? -1 : 1;
  const cmp = (a: CloudEntry, b: CloudEntry) => dir * (a.utc_date_time.localeCompare(b.utc_date_time) || a.id.localeCompare(b.id));
  const all = filtered(rows, r.query).sort(cmp);
  const header = r.headers['clp-continuation-token'];
  const cont = typeof header === 'string' && header !== '' ? keyOf(header) : undefined;
  let from = 0;
  if (cont) {
    const at = { utc_date_time: cont[0], id: cont[1] } as CloudEntry;
    from = all.findIndex((e) => cmp(e, at) > 0);
    if (from < 0) from = all.length;
  }
  const page = all.slice(from, from + top(r.query));
  const last = page.at(-1);
  const next = from + page.length < all.length && last ? token(last) : null;
  const items = r.duplicate && from > 0 ? [all[from - 1]!, ...page] : page;
  return { status: 200, body: { items, next_page_link: null, count: null, continuation_token: next } };
}

function settled(s: CloudSite, id: string, now: number): boolean {
  const at = s.visibleAt.get(id);
  return at === undefined || now >= at;
}

function fresh(s: CloudSite, r: RouteRequest, ...ids: string[]): void {
  for (const id of ids) s.visibleAt.set(id, r.now + r.settleMs);
}

function siteUser(s: CloudSite, id: string, r: RouteRequest): CloudUser {
  const u = s.users.get(id);
  if (!u || !settled(s, u.id, r.now)) throw new KsFail(404, '2202', 'User not found');
  return u;
}

function platformUser(s: CloudSite, platformId: string, r: RouteRequest): CloudUser {
  for (const u of s.users.values()) if (u.user.id === platformId && settled(s, platformId, r.now)) return u;
  throw new KsFail(404, '2202', 'User not found');
}

function group(s: CloudSite, id: string, r: RouteRequest): Json & { id: string } {
  const g = s.accessGroups.get(id);
  if (!g) throw new KsFail(404, '2202', 'Access group not found');
  if (!settled(s, id, r.now)) throw new KsFail(403, '2203', 'Operation cannot be executed');
  return g;
}

function one<T>(map: Map<string, T>, id: string, what: string): T {
  const v = map.get(id);
  if (v === undefined) throw new KsFail(404, '2202', `${what} not found`);
  return v;
}

function requireOtp(s: CloudSite, otp: unknown): void {
  if (otp !== s.otp) throw new KsFail(404, '2202', 'Otp is invalid');
}

const str = (v: unknown, field: string): string => {
  if (typeof v !== 'string' || v === '') throw new KsFail(400, '1101', `Invalid value of parameter '${field}'`);
  return v;
};

const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

function schedule(body: Json, id: string, base?: Json): Json & { id: string } {
  const ts: Json & { id: string } = { ...base, id };
  for (const d of DAYS) if (d in body || !base) ts[d] = body[d] === true;
  for (const k of ['start_time', 'end_time', 'start_date', 'end_date']) if (k in body || !base) ts[k] = (body[k] as string | null | undefined) ?? null;
  if (!DAYS.some((d) => ts[d] === true)) throw new KsFail(400, '1101', 'At least one day should be selected');
  return ts;
}

export function route(s: CloudSite, r: RouteRequest): RouteAnswer {
  const [a, id, b, id2, c] = r.segments;
  const m = r.method;
  const ok = (body: unknown, status = 200): RouteAnswer => ({ status, body });
  if (a === undefined) {
    if (m === 'GET') return ok({ ...s.site, subscribed_user_amount: s.seats, active_user_amount: [...s.users.values()].filter((u) => u.subscription_state === 'subscribed').length });
  } else if (a === 'users') {
    if (id === undefined) {
      if (m === 'GET') return listPage(s.users.values(), r);
      if (m === 'POST') {
        const u = makeUser(s, r.body);
        s.users.set(u.id, u);
        fresh(s, r, u.id, u.user.id);
        return ok(u, 201);
      }
    } else if (b === undefined) {
      const u = siteUser(s, id, r);
      if (m === 'GET') return ok(u);
      if (m === 'PATCH') {
        for (const k of ['alias', 'blocked', 'override_privacy_mode', 'toggle_easy_office_mode', 'toggle_manual_office_mode', 'use_pin']) if (k in r.body) u[k] = r.body[k];
        for (const k of ['first_name', 'last_name', 'email'] as const) if (k in r.body) u.user[k] = (r.body[k] as string | null) ?? null;
        return ok(u);
      }
      if (m === 'DELETE') {
        s.users.delete(u.id);
        for (const members of s.groupUsers.values()) members.delete(u.user.id);
        return { status: 202 };
      }
    } else if (b === 'subscription' && m === 'PATCH') {
      const u = siteUser(s, id, r);
      if ('subscription_state' in r.body || (r.body.state !== 'subscribed' && r.body.state !== 'suspended')) {
        throw new KsFail(400, '1101', "Invalid value of parameter 'state'");
      }
      u.subscription_state = r.body.state;
      return ok(u);
    } else if (b === 'keys' && m === 'GET') {
      siteUser(s, id, r);
      return listPage([], r);
    }
  } else if (a === 'tags' && m === 'GET') {
    return id === undefined ? listPage(s.tags.values(), r) : ok(one(s.tags, id, 'Tag'));
  } else if (a === 'iqs') {
    if (id === undefined && m === 'GET') return listPage(s.iqs.values(), r);
    if (id === undefined && m === 'POST') {
      const iq = { id: randomUUID(), customer_reference: str(r.body.customer_reference, 'customer_reference'), time_zone: str(r.body.time_zone, 'time_zone'), online: false, data_sync_state: 'pending' };
      str(r.body.activation_code, 'activation_code');
      s.iqs.set(iq.id, iq);
      fresh(s, r, iq.id);
      return ok(iq, 201);
    }
    if (id !== undefined && m === 'GET') return ok(one(s.iqs, id, 'IQ'));
  } else if (a === 'locks') {
    if (id === undefined && m === 'GET') return listPage(s.locks.values(), r);
    if (id !== undefined && b === undefined && m === 'GET') return ok(one(s.locks, id, 'Lock'));
    if (id !== undefined && b === undefined && m === 'DELETE') {
      one(s.locks, id, 'Lock');
      requireOtp(s, r.query.get('otp'));
      s.locks.delete(id);
      for (const locks of s.groupLocks.values()) locks.delete(id);
      return { status: 204 };
    }
    if (id !== undefined && b === 'locking' && m === 'PATCH') {
      const lock = one(s.locks, id, 'Lock');
      requireOtp(s, r.body.otp);
      const state = r.body.locked_state;
      if (!['none', 'locked', 'office_mode', 'uncertain', 'unlocked'].includes(state as string)) throw new KsFail(400, '1101', "Invalid value of parameter 'locked_state'");
      lock.locked_state = state;
      return { status: 204 };
    }
  } else if (a === 'access_groups') {
    if (id === undefined) {
      if (m === 'GET') return listPage(s.accessGroups.values(), r);
      if (m === 'POST') {
        const g = { id: randomUUID(), customer_reference: str(r.body.customer_reference, 'customer_reference') };
        s.accessGroups.set(g.id, g);
        s.groupLocks.set(g.id, new Set());
        s.groupUsers.set(g.id, new Set());
        s.schedules.set(g.id, new Map());
        fresh(s, r, g.id);
        return ok(g, 201);
      }
    } else if (b === undefined) {
      const g = group(s, id, r);
      if (m === 'GET') return ok(g);
      if (m === 'PATCH') {
        g.customer_reference = str(r.body.customer_reference, 'customer_reference');
        return ok(g);
      }
      if (m === 'DELETE') {
        for (const map of [s.accessGroups, s.groupLocks, s.groupUsers, s.schedules]) map.delete(id);
        return { status: 204 };
      }
    } else if (b === 'locks') {
      group(s, id, r);
      const locks = s.groupLocks.get(id)!;
      if (id2 === undefined && m === 'GET') return listPage([...locks].map((l) => s.locks.get(l)).filter((l) => l !== undefined), r);
      if (id2 === undefined && m === 'POST') {
        const lockId = str(r.body.lock_id, 'lock_id');
        one(s.locks, lockId, 'Lock');
        locks.add(lockId);
        return { status: 201 };
      }
      if (id2 !== undefined && m === 'DELETE') return locks.delete(id2) ? { status: 204 } : one(new Map(), id2, 'Lock');
    } else if (b === 'users') {
      group(s, id, r);
      const members = s.groupUsers.get(id)!;
      if (id2 === undefined && m === 'GET') return listPage([...s.users.values()].filter((u) => members.has(u.user.id)), r);
      if (id2 === undefined && m === 'POST') {
        const u = platformUser(s, str(r.body.user_id, 'user_id'), r);
        members.add(u.user.id);
        return { status: 201 };
      }
      if (id2 !== undefined && m === 'DELETE') {
        platformUser(s, id2, r);
        members.delete(id2);
        return { status: 204 };
      }
    } else if (b === 'time_schedules') {
      group(s, id, r);
      const schedules = s.schedules.get(id)!;
      if (id2 === undefined && m === 'GET') return listPage(schedules.values(), r);
      if (id2 === undefined && m === 'POST') {
        const ts = schedule(r.body, randomUUID());
        schedules.set(ts.id, ts);
        return ok(ts, 201);
      }
      if (id2 !== undefined && c === undefined) {
        const ts = one(schedules, id2, 'Time schedule');
        if (m === 'GET') return ok(ts);
        if (m === 'PATCH') {
          const next = schedule(r.body, id2, ts);
          schedules.set(id2, next);
          return ok(next);
        }
        if (m === 'DELETE') {
          schedules.delete(id2);
          return { status: 204 };
        }
      }
    }
  } else if (a === 'entries' && id === undefined && m === 'GET') {
    return keysetPage(s.entries, r);
  } else if (a === 'incidents' && id === undefined && m === 'GET') {
    return keysetPage(s.incidents, r);
  }
  throw new KsFail(405, '1100', `${m} is not supported on this route`);
}
