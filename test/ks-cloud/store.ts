// The mock cloud's data: one in-memory record set per site, shaped as KS Connect returns it
// (domain.md §1.5). Tests change it directly, or through the admin helpers below, to play the second
// admin working in the KS web app. The record rules (validation, cascades, `updated_at`) live here so
// the API routes (routes.ts) and the admin helpers share them.
import { randomUUID } from 'node:crypto';
import { computeOtp } from '../../drivers/ks-connect/otp.ts';

export type Json = Record<string, unknown>;

/** A KS error answer: `{ErrorCode, Message}` with this status. */
export class KsFail extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CloudUser extends Json {
  id: string;
  alias: string | null;
  blocked: boolean;
  subscription_state: 'subscribed' | 'suspended';
  /** Gatehouse's fields on the KS-style site user (KS itself has `expires_at`). */
  phone: string | null;
  remote_access: boolean;
  valid_from: string | null;
  valid_until: string | null;
  updated_at: string;
  user: { id: string; first_name: string | null; last_name: string | null; email: string | null; has_profile: boolean };
}

export interface CloudTag extends Json {
  id: string;
  tag_number: string;
  kind: string;
  /** The owner's SITE-user id. */
  user_id: string | null;
  blocked: boolean;
  lost_or_stolen: boolean;
  added_date: string;
  updated_at: string;
}

export interface CloudIq extends Json {
  id: string;
  customer_reference: string;
  time_zone: string;
  mac: string | null;
  online: boolean;
  data_sync_state: string;
  updated_at: string;
}

export interface CloudLock extends Json {
  id: string;
  customer_reference: string;
  iq: { id: string } | null;
  easy_office_mode_schedule: Json | null;
  locked_state: string;
  online: boolean;
  updated_at: string;
}

export interface CloudAccessGroup extends Json {
  id: string;
  customer_reference: string;
  updated_at: string;
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
  /** The IQ secret and the admin's PIN the OTP of hardware changes and remote openings is made of (otp.ts). */
  otpSecret: string;
  otpPin: string;
  users: Map<string, CloudUser>;
  tags: Map<string, CloudTag>;
  iqs: Map<string, CloudIq>;
  locks: Map<string, CloudLock>;
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

export function newSite(init: { id?: string; seats?: number; otpSecret?: string; otpPin?: string } = {}): CloudSite {
  const id = init.id ?? randomUUID();
  return {
    site: { id, site_uid: `DE${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`, customer_reference: 'Test site', time_zone: 'Europe/Berlin' },
    seats: init.seats ?? Infinity,
    otpSecret: init.otpSecret ?? 'mock-iq-secret',
    otpPin: init.otpPin ?? '1234',
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

const iso = (now: number) => new Date(now).toISOString();

// --- validation -----------------------------------------------------------------------------------

const invalid = (field: string) => new KsFail(400, '1101', `Invalid value of parameter '${field}'`);

export function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') throw invalid(field);
  return v;
}

/** A string or null when the key is there; `fallback` when it is not. */
function optStr(body: Json, field: string, fallback: string | null): string | null {
  if (!(field in body)) return fallback;
  const v = body[field];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw invalid(field);
  return v;
}

/** A boolean when the key is there (null: false); `fallback` when it is not. */
function optBool(body: Json, field: string, fallback: boolean): boolean {
  if (!(field in body)) return fallback;
  const v = body[field];
  if (v === null || v === undefined) return false;
  if (typeof v !== 'boolean') throw invalid(field);
  return v;
}

// --- OTP -------------------------------------------------------------------------------------------

/** The OTP the site's IQ secret and PIN give at `now` (what the admin's app shows). */
export function mockOtp(s: CloudSite, now: number = Date.now()): string {
  return computeOtp(s.otpSecret, s.otpPin, new Date(now));
}

/** Valid: equal to the code of any whole second from 180 s before to 5 s after `now` (3 minutes, a little clock skew). */
export function otpValid(s: CloudSite, otp: unknown, now: number): boolean {
  if (typeof otp !== 'string' || otp === '') return false;
  const sec = Math.floor(now / 1000);
  for (let k = -180; k <= 5; k++) if (computeOtp(s.otpSecret, s.otpPin, new Date((sec + k) * 1000)) === otp) return true;
  return false;
}

export function requireOtp(s: CloudSite, otp: unknown, now: number): void {
  if (!otpValid(s, otp, now)) throw new KsFail(404, '2202', 'Otp is invalid');
}

// --- time schedules ------------------------------------------------------------------------------

const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
/** Gatehouse's day-type flags (holiday calendars); KS has no such fields. */
const DAY_TYPES = ['holiday', 'special_1', 'special_2'] as const;
const TIMES = ['start_time', 'end_time', 'start_date', 'end_date'] as const;

/** The schedule fields of `body` over `base` (all of them when there is no base); at least one weekday. */
function scheduleFields(body: Json, base?: Json): Json {
  const ts: Json = { ...base };
  for (const d of [...DAYS, ...DAY_TYPES]) if (d in body || !base) ts[d] = body[d] === true;
  for (const k of TIMES) if (k in body || !base) ts[k] = optStr(body, k, null);
  if (!DAYS.some((d) => ts[d] === true)) throw new KsFail(400, '1101', 'At least one day should be selected');
  return ts;
}

/** An access group's time schedule (POST: no base; PATCH: over the stored one). */
export function makeSchedule(body: Json, id: string, base?: Json): Json & { id: string } {
  return { ...scheduleFields(body, base), id };
}

/** A lock's easy-office-mode schedule: a whole schedule (PUT) plus `eom_auto_start`, no id. */
export function makeEomSchedule(body: Json): Json {
  return { eom_auto_start: body.eom_auto_start === true, ...scheduleFields(body) };
}

// --- users ---------------------------------------------------------------------------------------

export function subscribedCount(s: CloudSite): number {
  let n = 0;
  for (const u of s.users.values()) if (u.subscription_state === 'subscribed') n++;
  return n;
}

const USER_FLAGS = ['blocked', 'override_privacy_mode', 'toggle_easy_office_mode', 'toggle_manual_office_mode', 'use_pin', 'remote_access'] as const;
const USER_STRINGS = ['alias', 'phone', 'valid_from', 'valid_until'] as const;
const USER_NESTED = ['first_name', 'last_name', 'email'] as const;

/** A site user as KS returns it, with its platform user nested under `user`. */
export function makeUser(s: CloudSite, body: Json, now: number = Date.now()): CloudUser {
  const text = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : null);
  const first = text('first_name');
  const last = text('last_name');
  const email = text('email');
  return {
    id: randomUUID(),
    alias: text('alias'),
    blocked: body.blocked === true,
    subscription_state: subscribedCount(s) < s.seats ? 'subscribed' : 'suspended',
    override_privacy_mode: body.override_privacy_mode === true,
    toggle_easy_office_mode: body.toggle_easy_office_mode === true,
    toggle_manual_office_mode: body.toggle_manual_office_mode === true,
    use_pin: body.use_pin === true,
    remote_access: body.remote_access === true,
    phone: text('phone'),
    valid_from: text('valid_from'),
    valid_until: text('valid_until'),
    roles: [],
    updated_at: iso(now),
    user: { id: randomUUID(), first_name: first, last_name: last, email, has_profile: Boolean(first || last || email) },
  };
}

/** PATCH semantics: top-level and nested (first_name, last_name, email) fields by name; null clears. */
export function patchUser(u: CloudUser, body: Json, now: number): CloudUser {
  const next: Json = {};
  for (const k of USER_FLAGS) next[k] = optBool(body, k, (u[k] as boolean | undefined) ?? false);
  for (const k of USER_STRINGS) next[k] = optStr(body, k, u[k]);
  const nested = { ...u.user };
  for (const k of USER_NESTED) nested[k] = optStr(body, k, u.user[k]);
  Object.assign(u, next);
  u.user = { ...nested, has_profile: Boolean(nested.first_name || nested.last_name || nested.email) };
  u.updated_at = iso(now);
  return u;
}

/** A user leaves its groups (the groups change) and its tags (they stay, without an owner). */
export function removeUser(s: CloudSite, u: CloudUser, now: number): void {
  s.users.delete(u.id);
  for (const [groupId, members] of s.groupUsers) if (members.delete(u.user.id)) touchGroup(s, groupId, now);
  for (const t of s.tags.values()) {
    if (t.user_id === u.id) {
      t.user_id = null;
      t.updated_at = iso(now);
    }
  }
}

// --- tags ----------------------------------------------------------------------------------------

function tagNumber(s: CloudSite, v: unknown, self?: string): string {
  if (typeof v !== 'string' || !/^\d{10}$/.test(v)) throw new KsFail(400, '1101', "Invalid value of parameter 'tag_number'");
  for (const t of s.tags.values()) if (t.tag_number === v && t.id !== self) throw new KsFail(400, '1101', "Invalid value of parameter 'tag_number': the tag is already registered");
  return v;
}

function tagKind(body: Json, fallback: string): string {
  if (!('kind' in body) || body.kind === null || body.kind === undefined) return fallback;
  return str(body.kind, 'kind');
}

/** `user_id` is checked by the caller (the API with eventual consistency, the admin without). */
export function makeTag(s: CloudSite, body: Json, now: number): CloudTag {
  return {
    id: randomUUID(),
    tag_number: tagNumber(s, body.tag_number),
    kind: tagKind(body, 'card'),
    user_id: optStr(body, 'user_id', null),
    blocked: optBool(body, 'blocked', false),
    lost_or_stolen: optBool(body, 'lost_or_stolen', false),
    added_date: iso(now),
    updated_at: iso(now),
  };
}

export function patchTag(s: CloudSite, t: CloudTag, body: Json, now: number): CloudTag {
  const next = {
    tag_number: 'tag_number' in body ? tagNumber(s, body.tag_number, t.id) : t.tag_number,
    kind: 'kind' in body ? tagKind(body, 'card') : t.kind,
    user_id: optStr(body, 'user_id', t.user_id),
    blocked: optBool(body, 'blocked', t.blocked),
    lost_or_stolen: optBool(body, 'lost_or_stolen', t.lost_or_stolen),
  };
  Object.assign(t, next, { updated_at: iso(now) });
  return t;
}

// --- IQs and locks -------------------------------------------------------------------------------

export function makeIq(s: CloudSite, body: Json, now: number): CloudIq {
  const customer_reference = str(body.customer_reference, 'customer_reference');
  const time_zone = str(body.time_zone, 'time_zone');
  // One of the two: the activation code of an IQ activated in the KS app, or the MAC of one Gatehouse commissioned.
  const hasMac = body.mac !== undefined && body.mac !== null;
  const mac = hasMac ? str(body.mac, 'mac') : null;
  if (!hasMac) str(body.activation_code, 'activation_code');
  if (mac !== null) for (const q of s.iqs.values()) if (q.mac === mac) throw new KsFail(400, '1101', "Invalid value of parameter 'mac': the IQ is already registered");
  return { id: randomUUID(), customer_reference, time_zone, mac, online: false, data_sync_state: 'pending', updated_at: iso(now) };
}

export function patchIq(q: CloudIq, body: Json, now: number): CloudIq {
  const customer_reference = 'customer_reference' in body ? str(body.customer_reference, 'customer_reference') : q.customer_reference;
  const time_zone = 'time_zone' in body ? str(body.time_zone, 'time_zone') : q.time_zone;
  Object.assign(q, { customer_reference, time_zone, updated_at: iso(now) });
  return q;
}

export function removeIq(s: CloudSite, id: string): void {
  for (const l of s.locks.values()) if (l.iq?.id === id) throw new KsFail(400, '2209', 'delete-IQ prerequisites not met');
  s.iqs.delete(id);
}

export function iqRef(s: CloudSite, v: unknown): { id: string } | null {
  if (v === null || v === undefined) return null;
  const id = str(v, 'iq_id');
  if (!s.iqs.has(id)) throw new KsFail(404, '2202', 'IQ not found');
  return { id };
}

export function makeLock(customerReference: string, iq: { id: string } | null, now: number): CloudLock {
  return { id: randomUUID(), customer_reference: customerReference, iq, easy_office_mode_schedule: null, locked_state: 'locked', online: true, updated_at: iso(now) };
}

export function touchLock(l: CloudLock, now: number): void {
  l.updated_at = iso(now);
}

/** A lock leaves the groups that held it. */
export function removeLock(s: CloudSite, id: string, now: number): void {
  s.locks.delete(id);
  for (const [groupId, locks] of s.groupLocks) if (locks.delete(id)) touchGroup(s, groupId, now);
}

// --- access groups -------------------------------------------------------------------------------

export function makeGroup(s: CloudSite, name: unknown, now: number): CloudAccessGroup {
  const g = { id: randomUUID(), customer_reference: str(name, 'customer_reference'), updated_at: iso(now) };
  s.accessGroups.set(g.id, g);
  s.groupLocks.set(g.id, new Set());
  s.groupUsers.set(g.id, new Set());
  s.schedules.set(g.id, new Map());
  return g;
}

/** A group's `updated_at` follows its locks, users and schedules too. */
export function touchGroup(s: CloudSite, id: string, now: number): void {
  const g = s.accessGroups.get(id);
  if (g) g.updated_at = iso(now);
}

export function removeGroup(s: CloudSite, id: string): void {
  for (const map of [s.accessGroups, s.groupLocks, s.groupUsers, s.schedules]) map.delete(id);
}

export function one<T>(map: Map<string, T>, id: string, what: string): T {
  const v = map.get(id);
  if (v === undefined) throw new KsFail(404, '2202', `${what} not found`);
  return v;
}

// --- the second admin (KS web app): no faults, no eventual consistency ------------------------------

export function adminAddUser(s: CloudSite, body: Json = {}, now: number = Date.now()): CloudUser {
  const u = makeUser(s, body, now);
  s.users.set(u.id, u);
  return u;
}

/** `patch` as the PATCH /users/{id} body: top-level and nested fields by name. */
export function adminUpdateUser(s: CloudSite, siteUserId: string, patch: Json, now: number = Date.now()): CloudUser {
  return patchUser(one(s.users, siteUserId, 'User'), patch, now);
}

export function adminDeleteUser(s: CloudSite, siteUserId: string, now: number = Date.now()): void {
  removeUser(s, one(s.users, siteUserId, 'User'), now);
}

export function adminAddGroup(s: CloudSite, name: string, now: number = Date.now()): CloudAccessGroup {
  return makeGroup(s, name, now);
}

export function adminRenameGroup(s: CloudSite, groupId: string, name: string, now: number = Date.now()): CloudAccessGroup {
  const g = one(s.accessGroups, groupId, 'Access group');
  g.customer_reference = str(name, 'customer_reference');
  g.updated_at = iso(now);
  return g;
}

export function adminDeleteGroup(s: CloudSite, groupId: string): void {
  one(s.accessGroups, groupId, 'Access group');
  removeGroup(s, groupId);
}

export function adminAddGroupUser(s: CloudSite, groupId: string, platformUserId: string, now: number = Date.now()): void {
  const members = one(s.groupUsers, groupId, 'Access group');
  if (![...s.users.values()].some((u) => u.user.id === platformUserId)) throw new KsFail(404, '2202', 'User not found');
  if (!members.has(platformUserId)) {
    members.add(platformUserId);
    touchGroup(s, groupId, now);
  }
}

export function adminRemoveGroupUser(s: CloudSite, groupId: string, platformUserId: string, now: number = Date.now()): void {
  if (one(s.groupUsers, groupId, 'Access group').delete(platformUserId)) touchGroup(s, groupId, now);
}

export function adminAddGroupLock(s: CloudSite, groupId: string, lockId: string, now: number = Date.now()): void {
  const locks = one(s.groupLocks, groupId, 'Access group');
  one(s.locks, lockId, 'Lock');
  if (!locks.has(lockId)) {
    locks.add(lockId);
    touchGroup(s, groupId, now);
  }
}

export function adminRemoveGroupLock(s: CloudSite, groupId: string, lockId: string, now: number = Date.now()): void {
  if (one(s.groupLocks, groupId, 'Access group').delete(lockId)) touchGroup(s, groupId, now);
}

/** A time schedule on a group (same body and rules as POST …/time_schedules). */
export function adminAddSchedule(s: CloudSite, groupId: string, body: Json, now: number = Date.now()): Json & { id: string } {
  const ts = makeSchedule(body, randomUUID());
  one(s.schedules, groupId, 'Access group').set(ts.id, ts);
  touchGroup(s, groupId, now);
  return ts;
}

/** `body` as POST /tags: tag_number (10 digits, unique), kind, user_id (site-user id), blocked, lost_or_stolen. */
export function adminAddTag(s: CloudSite, body: Json & { tag_number: string }, now: number = Date.now()): CloudTag {
  if (typeof body.user_id === 'string') one(s.users, body.user_id, 'User');
  const t = makeTag(s, body, now);
  s.tags.set(t.id, t);
  return t;
}

export function adminUpdateTag(s: CloudSite, tagId: string, patch: Json, now: number = Date.now()): CloudTag {
  const t = one(s.tags, tagId, 'Tag');
  if (typeof patch.user_id === 'string') one(s.users, patch.user_id, 'User');
  return patchTag(s, t, patch, now);
}

export function adminDeleteTag(s: CloudSite, tagId: string): void {
  one(s.tags, tagId, 'Tag');
  s.tags.delete(tagId);
}

/** `body` as POST /iqs (customer_reference, time_zone, and mac or activation_code). */
export function adminAddIq(s: CloudSite, body: Json, now: number = Date.now()): CloudIq {
  const q = makeIq(s, { time_zone: 'Europe/Berlin', ...body }, now);
  s.iqs.set(q.id, q);
  return q;
}

export function adminAddLock(s: CloudSite, customerReference: string, now: number = Date.now(), iqId: string | null = null): CloudLock {
  const lock = makeLock(customerReference, iqRef(s, iqId), now);
  s.locks.set(lock.id, lock);
  return lock;
}

export function adminUpdateLock(s: CloudSite, lockId: string, patch: { customer_reference: string }, now: number = Date.now()): CloudLock {
  const l = one(s.locks, lockId, 'Lock');
  l.customer_reference = str(patch.customer_reference, 'customer_reference');
  touchLock(l, now);
  return l;
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
