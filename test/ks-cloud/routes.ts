// The site-scoped KS Connect routes of the mock (/v1.1/sites/{site_id}/...), as plain functions of
// the request. Shapes follow domain.md §1.4-1.8; docs/ks-cloud-mock.md lists the choices made where
// it is silent.
import { randomUUID } from 'node:crypto';
import { matches, parseFilter } from './filter.ts';
import {
  iqRef,
  KsFail,
  makeEomSchedule,
  makeGroup,
  makeIq,
  makeLock,
  makeSchedule,
  makeTag,
  makeUser,
  one,
  patchIq,
  patchTag,
  patchUser,
  removeGroup,
  removeIq,
  removeLock,
  removeUser,
  requireOtp,
  str,
  touchGroup,
  touchLock,
  type CloudAccessGroup,
  type CloudEntry,
  type CloudSite,
  type CloudUser,
  type Json,
} from './store.ts';

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

export { KsFail };

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

function group(s: CloudSite, id: string, r: RouteRequest): CloudAccessGroup {
  const g = s.accessGroups.get(id);
  if (!g) throw new KsFail(404, '2202', 'Access group not found');
  if (!settled(s, id, r.now)) throw new KsFail(403, '2203', 'Operation cannot be executed');
  return g;
}



const iso = (now: number) => new Date(now).toISOString();

export function route(s: CloudSite, r: RouteRequest): RouteAnswer {
  const [a, id, b, id2, c] = r.segments;
  const m = r.method;
  const now = r.now;
  const ok = (body: unknown, status = 200): RouteAnswer => ({ status, body });
  if (a === undefined) {
    if (m === 'GET') return ok({ ...s.site, subscribed_user_amount: s.seats, active_user_amount: [...s.users.values()].filter((u) => u.subscription_state === 'subscribed').length });
  } else if (a === 'users') {
    if (id === undefined) {
      if (m === 'GET') return listPage(s.users.values(), r);
      if (m === 'POST') {
        const u = makeUser(s, r.body, now);
        s.users.set(u.id, u);
        fresh(s, r, u.id, u.user.id);
        return ok(u, 201);
      }
    } else if (b === undefined) {
      const u = siteUser(s, id, r);
      if (m === 'GET') return ok(u);
      if (m === 'PATCH') return ok(patchUser(u, r.body, now));
      if (m === 'DELETE') {
        removeUser(s, u, now);
        return { status: 202 };
      }
    } else if (b === 'subscription' && m === 'PATCH') {
      const u = siteUser(s, id, r);
      if ('subscription_state' in r.body || (r.body.state !== 'subscribed' && r.body.state !== 'suspended')) {
        throw new KsFail(400, '1101', "Invalid value of parameter 'state'");
      }
      u.subscription_state = r.body.state;
      u.updated_at = iso(now);
      return ok(u);
    } else if (b === 'keys' && m === 'GET') {
      siteUser(s, id, r);
      return listPage([], r);
    }
  } else if (a === 'tags') {
    // Real KS registers tags only through a lock's tag registration; these writes are the mock's
    // stand-in for that (Gatehouse registers tags at its own hubs and encoder).
    if (id === undefined && m === 'GET') return listPage(s.tags.values(), r);
    if (id === undefined && m === 'POST') {
      if (typeof r.body.user_id === 'string') siteUser(s, r.body.user_id, r);
      const t = makeTag(s, r.body, now);
      s.tags.set(t.id, t);
      return ok(t, 201);
    }
    if (id !== undefined && b === undefined) {
      const t = one(s.tags, id, 'Tag');
      if (m === 'GET') return ok(t);
      if (m === 'PATCH') {
        if (typeof r.body.user_id === 'string') siteUser(s, r.body.user_id, r);
        return ok(patchTag(s, t, r.body, now));
      }
      if (m === 'DELETE') {
        s.tags.delete(id);
        return { status: 204 };
      }
    }
  } else if (a === 'iqs') {
    if (id === undefined && m === 'GET') return listPage(s.iqs.values(), r);
    if (id === undefined && m === 'POST') {
      const iq = makeIq(s, r.body, now);
      s.iqs.set(iq.id, iq);
      fresh(s, r, iq.id);
      return ok(iq, 201);
    }
    if (id !== undefined && b === undefined) {
      const iq = one(s.iqs, id, 'IQ');
      if (m === 'GET') return ok(iq);
      if (m === 'PATCH') return ok(patchIq(iq, r.body, now));
      if (m === 'DELETE') {
        removeIq(s, id);
        return { status: 204 };
      }
    }
  } else if (a === 'locks') {
    if (id === undefined && m === 'GET') return listPage(s.locks.values(), r);
    if (id === undefined && m === 'POST') {
      // Clay's provisioning flow (domain.md §1.4 b); adding a lock is a hardware change, so it needs the OTP.
      const ref = str(r.body.customer_reference, 'customer_reference');
      const iq = iqRef(s, r.body.iq_id);
      requireOtp(s, r.body.otp, now);
      const lock = makeLock(ref, iq, now);
      s.locks.set(lock.id, lock);
      return ok(lock, 201);
    }
    if (id !== undefined && b === undefined) {
      const lock = one(s.locks, id, 'Lock');
      if (m === 'GET') return ok(lock);
      if (m === 'PATCH') {
        const ref = 'customer_reference' in r.body ? str(r.body.customer_reference, 'customer_reference') : lock.customer_reference;
        const iq = 'iq_id' in r.body ? iqRef(s, r.body.iq_id) : lock.iq;
        // Moving a lock to another IQ (or off one) is a hardware change: OTP. A rename is not.
        if ((iq?.id ?? null) !== (lock.iq?.id ?? null)) requireOtp(s, r.body.otp, now);
        Object.assign(lock, { customer_reference: ref, iq });
        touchLock(lock, now);
        return ok(lock);
      }
      if (m === 'DELETE') {
        requireOtp(s, r.query.get('otp'), now);
        removeLock(s, id, now);
        return { status: 204 };
      }
    }
    if (id !== undefined && b === 'locking' && m === 'PATCH') {
      const lock = one(s.locks, id, 'Lock');
      requireOtp(s, r.body.otp, now);
      const state = r.body.locked_state;
      if (!['none', 'locked', 'office_mode', 'uncertain', 'unlocked'].includes(state as string)) throw new KsFail(400, '1101', "Invalid value of parameter 'locked_state'");
      lock.locked_state = state as string;
      return { status: 204 };
    }
    if (id !== undefined && b === 'easy_office_mode_schedule' && id2 === undefined) {
      const lock = one(s.locks, id, 'Lock');
      if (m === 'GET') return ok(lock.easy_office_mode_schedule);
      if (m === 'PUT') {
        lock.easy_office_mode_schedule = makeEomSchedule(r.body);
        touchLock(lock, now);
        return ok(lock.easy_office_mode_schedule);
      }
      if (m === 'DELETE') {
        if (lock.easy_office_mode_schedule !== null) {
          lock.easy_office_mode_schedule = null;
          touchLock(lock, now);
        }
        return { status: 204 };
      }
    }
  } else if (a === 'access_groups') {
    if (id === undefined) {
      if (m === 'GET') return listPage(s.accessGroups.values(), r);
      if (m === 'POST') {
        const g = makeGroup(s, r.body.customer_reference, now);
        fresh(s, r, g.id);
        return ok(g, 201);
      }
    } else if (b === undefined) {
      const g = group(s, id, r);
      if (m === 'GET') return ok(g);
      if (m === 'PATCH') {
        g.customer_reference = str(r.body.customer_reference, 'customer_reference');
        g.updated_at = iso(now);
        return ok(g);
      }
      if (m === 'DELETE') {
        removeGroup(s, id);
        return { status: 204 };
      }
    } else if (b === 'locks') {
      group(s, id, r);
      const locks = s.groupLocks.get(id)!;
      if (id2 === undefined && m === 'GET') return listPage([...locks].map((l) => s.locks.get(l)).filter((l) => l !== undefined), r);
      if (id2 === undefined && m === 'POST') {
        const lockId = str(r.body.lock_id, 'lock_id');
        one(s.locks, lockId, 'Lock');
        if (!locks.has(lockId)) {
          locks.add(lockId);
          touchGroup(s, id, now);
        }
        return { status: 201 };
      }
      if (id2 !== undefined && m === 'DELETE') {
        if (!locks.delete(id2)) throw new KsFail(404, '2202', 'Lock not found');
        touchGroup(s, id, now);
        return { status: 204 };
      }
    } else if (b === 'users') {
      group(s, id, r);
      const members = s.groupUsers.get(id)!;
      if (id2 === undefined && m === 'GET') return listPage([...s.users.values()].filter((u) => members.has(u.user.id)), r);
      if (id2 === undefined && m === 'POST') {
        const u = platformUser(s, str(r.body.user_id, 'user_id'), r);
        if (!members.has(u.user.id)) {
          members.add(u.user.id);
          touchGroup(s, id, now);
        }
        return { status: 201 };
      }
      if (id2 !== undefined && m === 'DELETE') {
        platformUser(s, id2, r);
        if (members.delete(id2)) touchGroup(s, id, now);
        return { status: 204 };
      }
    } else if (b === 'time_schedules') {
      group(s, id, r);
      const schedules = s.schedules.get(id)!;
      if (id2 === undefined && m === 'GET') return listPage(schedules.values(), r);
      if (id2 === undefined && m === 'POST') {
        const ts = makeSchedule(r.body, randomUUID());
        schedules.set(ts.id, ts);
        touchGroup(s, id, now);
        return ok(ts, 201);
      }
      if (id2 !== undefined && c === undefined) {
        const ts = one(schedules, id2, 'Time schedule');
        if (m === 'GET') return ok(ts);
        if (m === 'PATCH') {
          const next = makeSchedule(r.body, id2, ts);
          schedules.set(id2, next);
          touchGroup(s, id, now);
          return ok(next);
        }
        if (m === 'DELETE') {
          schedules.delete(id2);
          touchGroup(s, id, now);
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
