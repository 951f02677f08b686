// The mock cloud's data: one in-memory record set per site, shaped as KS Connect returns it
// (domain.md §1.5). Tests change it directly to play the second admin working in the KS web app.
import { randomUUID } from 'node:crypto';

export type Json = Record<string, unknown>;

export interface CloudUser extends Json {
  id: string;
  alias: string | null;
  blocked: boolean;
  subscription_state: 'subscribed' | 'suspended';
  user: { id: string; first_name: string | null; last_name: string | null; email: string | null; has_profile: boolean };
}

export interface CloudAccessGroup extends Json {
  id: string;
  customer_reference: string;
}

export interface CloudEntry extends Json {
  id: string;
  utc_date_time: string;
  event_category: string;
  lock_id: string | null;
  user_id: string | null;
}

export interface CloudSite {
  site: Json & { id: string };
  /** Seats (subscribed_user_amount): users created beyond it come back `suspended`, still with 201. */
  seats: number;
  /** The OTP remote openings and hardware changes must carry. */
  otp: string;
  users: Map<string, CloudUser>;
  tags: Map<string, Json & { id: string }>;
  iqs: Map<string, Json & { id: string }>;
  locks: Map<string, Json & { id: string }>;
  accessGroups: Map<string, CloudAccessGroup>;
  groupLocks: Map<string, Set<string>>;
  /** Members by PLATFORM user id. */
  groupUsers: Map<string, Set<string>>;
  schedules: Map<string, Map<string, Json & { id: string }>>;
  entries: CloudEntry[];
  incidents: CloudEntry[];
  /** When a record created through the API becomes known to routes other than its list (eventual consistency). */
  visibleAt: Map<string, number>;
}

export function newSite(init: { id?: string; seats?: number; otp?: string } = {}): CloudSite {
  const id = init.id ?? randomUUID();
  return {
    site: { id, site_uid: `DE${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`, customer_reference: 'Test site', time_zone: 'Europe/Berlin' },
    seats: init.seats ?? Infinity,
    otp: init.otp ?? '12345',
    users: new Map(),
    tags: new Map(),
    iqs: new Map(),
    locks: new Map(),
    accessGroups: new Map(),
    groupLocks: new Map(),
    groupUsers: new Map(),
    schedules: new Map(),
    entries: [],
    incidents: [],
    visibleAt: new Map(),
  };
}

export function subscribedCount(s: CloudSite): number {
  let n = 0;
  for (const u of s.users.values()) if (u.subscription_state === 'subscribed') n++;
  return n;
}

/** A site user as KS returns it, with its platform user nested under `user`. */
export function makeUser(s: CloudSite, body: Json): CloudUser {
  const first = typeof body.first_name === 'string' ? body.first_name : null;
  const last = typeof body.last_name === 'string' ? body.last_name : null;
  const email = typeof body.email === 'string' ? body.email : null;
  return {
    id: randomUUID(),
    alias: typeof body.alias === 'string' ? body.alias : null,
    blocked: body.blocked === true,
    subscription_state: subscribedCount(s) < s.seats ? 'subscribed' : 'suspended',
    override_privacy_mode: body.override_privacy_mode === true,
    toggle_easy_office_mode: body.toggle_easy_office_mode === true,
    toggle_manual_office_mode: body.toggle_manual_office_mode === true,
    use_pin: body.use_pin === true,
    roles: [],
    user: { id: randomUUID(), first_name: first, last_name: last, email, has_profile: Boolean(first || last || email) },
  };
}

/** Admin-side helpers: what a second admin would do in the KS web app, without going through the API. */
export function adminAddUser(s: CloudSite, body: Json = {}): CloudUser {
  const u = makeUser(s, body);
  s.users.set(u.id, u);
  return u;
}

export function adminAddLock(s: CloudSite, customerReference: string): Json & { id: string } {
  const lock = { id: randomUUID(), customer_reference: customerReference, locked_state: 'locked', online: true, iq: null };
  s.locks.set(lock.id, lock);
  return lock;
}

/** `count` entries one second apart from `from`, by the given lock and platform user. */
export function adminAddEntries(s: CloudSite, count: number, from: Date, lockId: string | null = null, userId: string | null = null): void {
  for (let i = 0; i < count; i++) {
    s.entries.push({
      id: randomUUID(),
      utc_date_time: new Date(from.getTime() + i * 1000).toISOString(),
      event_category: 'lock_opened',
      event_detail: null,
      access_by: 'tag',
      lock_id: lockId,
      user_id: userId,
    });
  }
}
