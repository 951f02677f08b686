// The core's cloud port (core/cloud/port.ts) over the KS Connect client (drivers/ks-connect): how each
// kind of record is read from and written to a KS site, and how the client's KsErrors become the
// engine's CloudPortErrors. Composition root: the one place that knows both the core's port and the
// driver. Everything crossing the port is in cloud ids (a user by its site-user id, a group's members
// by their platform ids, a tag's owner by its site-user id).
import type { CloudRecord } from '../core/cloud/apply.ts';
import { CloudPortError, NEW_SCHEDULE_PREFIX, type CloudEntry, type CloudIncident, type CloudPort, type CloudPush, type PushResult } from '../core/cloud/port.ts';
import type { CloudKind, Json } from '../core/domain/cloud.ts';
import {
  collect,
  eq,
  ge,
  KsError,
  type KsConnectClient,
  type KsEasyOfficeModeSchedule,
  type KsEntry,
  type KsIncident,
  type ListOptions,
  type KsIqPatch,
  type KsLockPatch,
  type KsTagCreate,
  type KsTagPatch,
  type KsTimeScheduleInput,
  type KsUser,
  type KsUserCreate,
  type KsUserPatch,
} from '../drivers/ks-connect/index.ts';

export interface KsCloudPortOptions {
  /** The IQ's current one-time code (from its secret and the admin's PIN), or null when none is set up. */
  otp: () => string | null;
  /** For a record the cloud gives no `updated_at`. */
  now?: () => number;
}

type Fields = Record<string, Json>;

const ENTRY_PAGE = 500;

const USER_NESTED = ['first_name', 'last_name', 'email'] as const;
const USER_TOP = ['alias', 'phone', 'blocked', 'valid_from', 'valid_until', 'remote_access', 'toggle_easy_office_mode', 'toggle_manual_office_mode', 'override_privacy_mode'] as const;
const USER_KEYS = [...USER_NESTED, ...USER_TOP] as const;
const TAG_KEYS = ['tag_number', 'kind', 'user_id', 'blocked', 'lost_or_stolen'] as const;
const SCHEDULE_FLAGS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'holiday', 'special_1', 'special_2'] as const;
const SCHEDULE_TIMES = ['start_time', 'end_time', 'start_date', 'end_date'] as const;
const PREFIX = { lock: 'lock:', user: 'user:', schedule: 'time_schedule:' } as const;

const OTP_NEEDED = 'needs the IQ one-time code: enter the IQ PIN in Cloud sync settings';

/** The fields with null and undefined left out (absent is null on the port). */
function present(record: Record<string, unknown>): Fields {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== null && v !== undefined)) as Fields;
}

/** The given keys of `fields` that are there; null kept (PATCH: clear) or dropped (create). */
function pick(fields: Fields, keys: readonly string[], keepNull: boolean): Fields {
  const out: Fields = {};
  for (const k of keys) if (k in fields && (keepNull || fields[k] !== null)) out[k] = fields[k] ?? null;
  return out;
}

/** A schedule as the port carries it: every key, flags false and times null when unset. */
function scheduleOut(ts: Record<string, unknown>): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const k of SCHEDULE_FLAGS) out[k] = ts[k] === true;
  for (const k of SCHEDULE_TIMES) out[k] = typeof ts[k] === 'string' ? ts[k] : null;
  return out;
}

function scheduleIn(value: Json, doing: string): KsTimeScheduleInput {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new CloudPortError('refused', `${doing}: a time schedule must be an object`);
  return scheduleOut(value) as unknown as KsTimeScheduleInput;
}

function eomOut(s: unknown): Json {
  if (s === null || s === undefined || typeof s !== 'object') return null;
  return { ...scheduleOut(s as Record<string, unknown>), eom_auto_start: (s as Record<string, unknown>).eom_auto_start === true };
}

const sameSchedule = (a: Record<string, unknown>, b: Record<string, unknown>) => JSON.stringify(scheduleOut(a)) === JSON.stringify(scheduleOut(b));

function userFields(u: KsUser): Fields {
  return present({
    first_name: u.user.first_name,
    last_name: u.user.last_name,
    email: u.user.email,
    alias: u.alias,
    phone: u.phone,
    blocked: u.blocked,
    valid_from: u.valid_from,
    valid_until: u.valid_until,
    remote_access: u.remote_access,
    toggle_easy_office_mode: u.toggle_easy_office_mode,
    toggle_manual_office_mode: u.toggle_manual_office_mode,
    override_privacy_mode: u.override_privacy_mode,
  });
}

const isKs2202 = (e: unknown): e is KsError => e instanceof KsError && e.errorCode === '2202';

/**
 * A KsError in the engine's terms. `transient`: the network, 429/5xx after the client's own retries,
 * an answer that never came, 2202/2203 the cloud was still settling on; `auth`: sign in again;
 * `refused`: the cloud said no for good. Anything that is not a KsError (a bug) is passed on as it is.
 */
function portError(e: unknown, doing: string): unknown {
  if (e instanceof CloudPortError || !(e instanceof KsError)) return e;
  const message = `${doing}: ${e.ksMessage}`;
  if (e.status === 401 || e.errorCode === '1500' || e.errorCode === 'invalid_grant' || e.errorCode === 'invalid_client') return new CloudPortError('auth', message, { cause: e });
  // More than one new match after an unanswered create: an admin has to look, trying again will not help.
  if (e.errorCode === 'duplicate') return new CloudPortError('refused', message, { cause: e });
  if (e.status === 0 || e.status === 429 || e.status >= 500 || e.ambiguous) return new CloudPortError('transient', message, { cause: e });
  if (e.errorCode === '2202' || e.errorCode === '2203') return new CloudPortError('transient', message, { cause: e });
  return new CloudPortError('refused', message, { cause: e });
}

export function ksCloudPort(client: KsConnectClient, opts: KsCloudPortOptions): CloudPort {
  const now = opts.now ?? Date.now;
  const stamp = (updatedAt: unknown) => (typeof updatedAt === 'string' ? updatedAt : new Date(now()).toISOString());

  /** Runs `op`, turning its failure into a CloudPortError about `doing`. */
  async function step<T>(doing: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw portError(e, doing);
    }
  }

  /** Whether the cloud's list holds the record (lists see a record at once; its own route may not yet). */
  function exists(kind: CloudKind | 'platform_user', id: string, doing: string): Promise<boolean> {
    return step(doing, async () => {
      const filter = eq(kind === 'platform_user' ? 'user/id' : 'id', id);
      const list: AsyncIterable<{ id: string }> =
        kind === 'user' || kind === 'platform_user'
          ? client.users({ filter, top: 1 })
          : kind === 'tag'
            ? client.tags({ filter, top: 1 })
            : kind === 'iq'
              ? client.iqs({ filter, top: 1 })
              : kind === 'lock'
                ? client.locks({ filter, top: 1 })
                : client.accessGroups({ filter, top: 1 });
      return (await collect(list)).length > 0;
    });
  }

  type Ref = { kind: CloudKind | 'platform_user'; id: string };

  /**
   * Runs a call that may meet 404 2202, and decides what that 2202 was. `record`: the call is about
   * this record itself, and when the cloud's list no longer holds it, `gone()` says what that means
   * (not_found for an update, done for a delete). `refs`: records the call names (a member, an owner,
   * an IQ); one the cloud does not hold makes it refused. `final`: with all of them there, the 2202 is
   * still final (a refused OTP, a schedule deleted meanwhile). Otherwise the cloud is still settling
   * after a create: transient.
   */
  async function call<T>(doing: string, op: () => Promise<T>, on2202: { record?: { kind: CloudKind; id: string; gone: () => T }; refs?: (Ref | null)[]; final?: boolean } = {}): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (!isKs2202(e)) throw portError(e, doing);
      if (on2202.record && !(await exists(on2202.record.kind, on2202.record.id, doing))) return on2202.record.gone();
      for (const ref of on2202.refs ?? []) if (ref && !(await exists(ref.kind, ref.id, doing))) throw new CloudPortError('refused', `${doing}: ${e.ksMessage}`, { cause: e });
      if (on2202.final) throw new CloudPortError('refused', `${doing}: ${e.ksMessage}`, { cause: e });
      throw portError(e, doing);
    }
  }

  const notFound = (what: string, doing: string) => (): never => {
    throw new CloudPortError('not_found', `${doing}: the ${what} is no longer in the cloud`);
  };
  const done = () => undefined;

  /** Removing something already gone (404 2202) is done. */
  async function removing(doing: string, op: () => Promise<void>): Promise<void> {
    try {
      await op();
    } catch (e) {
      if (!isKs2202(e)) throw portError(e, doing);
    }
  }

  function otp(doing: string): string {
    const code = opts.otp();
    if (code === null) throw new CloudPortError('refused', `${doing}: ${OTP_NEEDED}`);
    return code;
  }

  const needId = (change: CloudPush, doing: string): string => {
    if (!change.cloud_id) throw new CloudPortError('refused', `${doing}: no cloud id`);
    return change.cloud_id;
  };

  // --- reading -------------------------------------------------------------------------------------

  async function* records(kind: CloudKind): AsyncGenerator<CloudRecord> {
    const rec = (cloud_id: string, fields: Fields, updated_at: unknown, cloud_user_id?: string): CloudRecord => ({
      kind,
      cloud_id,
      ...(cloud_user_id === undefined ? {} : { cloud_user_id }),
      fields: present(fields),
      updated_at: stamp(updated_at),
    });
    switch (kind) {
      case 'iq':
        for await (const q of client.iqs()) yield rec(q.id, { mac: q.mac, customer_reference: q.customer_reference, time_zone: q.time_zone } as Fields, q.updated_at);
        return;
      case 'lock':
        for await (const l of client.locks()) {
          yield rec(l.id, { customer_reference: l.customer_reference, iq_id: l.iq?.id ?? null, easy_office_mode_schedule: eomOut(l.easy_office_mode_schedule) }, l.updated_at);
        }
        return;
      case 'user':
        for await (const u of client.users()) yield rec(u.id, userFields(u), u.updated_at, u.user.id);
        return;
      case 'tag':
        for await (const t of client.tags()) {
          yield rec(t.id, { tag_number: t.tag_number, kind: t.kind, user_id: t.user_id, blocked: t.blocked, lost_or_stolen: t.lost_or_stolen } as Fields, t.updated_at);
        }
        return;
      case 'access_group':
        for await (const g of client.accessGroups()) {
          const fields: Fields = { customer_reference: g.customer_reference };
          try {
            for await (const l of client.accessGroupLocks(g.id)) fields[PREFIX.lock + l.id] = true;
            for await (const u of client.accessGroupUsers(g.id)) fields[PREFIX.user + u.user.id] = true;
            for await (const ts of client.timeSchedules(g.id)) fields[PREFIX.schedule + ts.id] = scheduleOut(ts);
          } catch (e) {
            // Deleted between the list and its members: it is simply absent.
            if (isKs2202(e)) continue;
            throw e;
          }
          yield rec(g.id, fields, g.updated_at);
        }
        return;
    }
  }

  // --- writing -------------------------------------------------------------------------------------

  async function pushUser(change: CloudPush, fields: Fields): Promise<PushResult> {
    if (change.operation === 'create') {
      const who = [fields.email, fields.alias, [fields.first_name, fields.last_name].filter(Boolean).join(' ')].find((x) => typeof x === 'string' && x !== '') ?? '';
      const body = pick(fields, USER_KEYS, false) as KsUserCreate;
      const r = await step(`creating user ${String(who)}`.trimEnd(), () => client.createUserOnce(body, { adoptExisting: change.retry }));
      return { cloud_id: r.user.id, cloud_user_id: r.user.user.id, suspended: r.suspended };
    }
    const id = needId(change, `${change.operation === 'update' ? 'updating' : 'deleting'} user`);
    if (change.operation === 'delete') {
      await call(`deleting user ${id}`, () => client.deleteUser(id), { record: { kind: 'user', id, gone: done } });
      return { cloud_id: id, cloud_user_id: change.cloud_user_id };
    }
    const patch = pick(fields, USER_KEYS, true) as KsUserPatch;
    if (Object.keys(patch).length === 0) return { cloud_id: id, cloud_user_id: change.cloud_user_id };
    const doing = `updating user ${id}`;
    const u = await call(doing, () => client.updateUser(id, patch), { record: { kind: 'user', id, gone: notFound('user', doing) } });
    return { cloud_id: u.id, cloud_user_id: u.user.id, suspended: u.subscription_state === 'suspended' };
  }

  async function pushTag(change: CloudPush, fields: Fields): Promise<PushResult> {
    if (change.operation === 'create') {
      const doing = `creating tag ${String(fields.tag_number ?? '')}`.trimEnd();
      if (typeof fields.tag_number !== 'string') throw new CloudPortError('refused', `${doing}: a tag needs its tag_number`);
      const body = pick(fields, TAG_KEYS, false) as unknown as KsTagCreate;
      const owner = typeof body.user_id === 'string' ? { kind: 'user' as const, id: body.user_id } : null;
      const r = await call(doing, () => client.createTagOnce(body, { adoptExisting: change.retry }), { refs: [owner] });
      return { cloud_id: r.tag.id };
    }
    const id = needId(change, `${change.operation === 'update' ? 'updating' : 'deleting'} tag`);
    if (change.operation === 'delete') {
      await call(`deleting tag ${id}`, () => client.deleteTag(id), { record: { kind: 'tag', id, gone: done } });
      return { cloud_id: id };
    }
    const patch = pick(fields, TAG_KEYS, true) as KsTagPatch;
    if (Object.keys(patch).length === 0) return { cloud_id: id };
    const doing = `updating tag ${id}`;
    const owner = typeof patch.user_id === 'string' ? { kind: 'user' as const, id: patch.user_id } : null;
    await call(doing, () => client.updateTag(id, patch), { record: { kind: 'tag', id, gone: notFound('tag', doing) }, refs: [owner] });
    return { cloud_id: id };
  }

  async function pushIq(change: CloudPush, fields: Fields): Promise<PushResult> {
    if (change.operation === 'create') {
      const doing = `registering IQ ${String(fields.mac ?? fields.customer_reference ?? '')}`.trimEnd();
      // Gatehouse's IQs are its own hubs: known by MAC, never by a KS activation code.
      if (typeof fields.mac !== 'string' || fields.mac === '') throw new CloudPortError('refused', `${doing}: an IQ needs its MAC`);
      const body = { mac: fields.mac, customer_reference: String(fields.customer_reference ?? ''), time_zone: String(fields.time_zone ?? '') };
      const r = await step(doing, () => client.addIqOnce(body, { adoptExisting: change.retry }));
      return { cloud_id: r.iq.id };
    }
    const id = needId(change, `${change.operation === 'update' ? 'updating' : 'deleting'} IQ`);
    if (change.operation === 'delete') {
      await call(`deleting IQ ${id}`, () => client.deleteIq(id), { record: { kind: 'iq', id, gone: done } });
      return { cloud_id: id };
    }
    const doing = `updating IQ ${id}`;
    if ('mac' in fields) throw new CloudPortError('refused', `${doing}: the cloud does not change an IQ's MAC`);
    const patch = pick(fields, ['customer_reference', 'time_zone'], true) as KsIqPatch;
    if (Object.keys(patch).length === 0) return { cloud_id: id };
    await call(doing, () => client.updateIq(id, patch), { record: { kind: 'iq', id, gone: notFound('IQ', doing) } });
    return { cloud_id: id };
  }

  /** PUT or DELETE a lock's easy-office-mode schedule; KsErrors are left to the caller. */
  async function applyEom(lockId: string, value: Json, doing: string): Promise<void> {
    if (value === null) return client.clearEasyOfficeModeSchedule(lockId);
    const schedule = { ...scheduleIn(value, doing), eom_auto_start: (value as Record<string, Json>).eom_auto_start === true } as KsEasyOfficeModeSchedule;
    await client.setEasyOfficeModeSchedule(lockId, schedule);
  }

  async function pushLock(change: CloudPush, fields: Fields): Promise<PushResult> {
    if (change.operation === 'create') {
      const ref = String(fields.customer_reference ?? '');
      const doing = `adding lock ${ref}`.trimEnd();
      const iqId = typeof fields.iq_id === 'string' ? fields.iq_id : null;
      const code = otp(doing);
      // A 2202 here is a refused OTP or an IQ the cloud does not have: neither gets better by waiting.
      const r = await call(doing, () => client.createLockOnce({ customer_reference: ref, iq_id: iqId, otp: code }, { adoptExisting: change.retry }), { final: true });
      const eom = fields.easy_office_mode_schedule ?? null;
      if (eom !== null) {
        const doingEom = `setting the easy office mode schedule of lock ${r.lock.id}`;
        await call(doingEom, () => applyEom(r.lock.id, eom, doingEom));
      }
      return { cloud_id: r.lock.id };
    }
    const id = needId(change, `${change.operation === 'update' ? 'updating' : 'deleting'} lock`);
    if (change.operation === 'delete') {
      const doing = `deleting lock ${id}`;
      const code = otp(doing);
      await call(doing, () => client.removeLock(id, code), { record: { kind: 'lock', id, gone: done }, final: true });
      return { cloud_id: id };
    }
    const doing = `updating lock ${id}`;
    if ('customer_reference' in fields || 'iq_id' in fields) {
      const patch: KsLockPatch = {};
      if ('customer_reference' in fields) patch.customer_reference = String(fields.customer_reference ?? '');
      // Moving a lock to another IQ (or off one) is a hardware change: it needs the OTP.
      if ('iq_id' in fields) {
        patch.iq_id = typeof fields.iq_id === 'string' ? fields.iq_id : null;
        patch.otp = otp(doing);
      }
      await call(doing, () => client.updateLock(id, patch), { record: { kind: 'lock', id, gone: notFound('lock', doing) }, final: patch.otp !== undefined });
    }
    if ('easy_office_mode_schedule' in fields) {
      const value = fields.easy_office_mode_schedule ?? null;
      const doingEom = `${value === null ? 'clearing' : 'setting'} the easy office mode schedule of lock ${id}`;
      await call(doingEom, () => applyEom(id, value, doingEom), { record: { kind: 'lock', id, gone: notFound('lock', doingEom) } });
    }
    return { cloud_id: id };
  }

  /**
   * Memberships and schedules of a group, as fields: `lock:`/`user:` true adds, null removes;
   * `time_schedule:<id>` PATCHes or DELETEs, `time_schedule:new:<local id>` POSTs (or, on a retry,
   * adopts an identical schedule an earlier attempt made). Returns local id → cloud id of new schedules.
   */
  async function applyGroupFields(groupId: string, fields: Fields, change: CloudPush): Promise<Record<string, string>> {
    const created: Record<string, string> = {};
    // Cloud schedules that are already somebody's: linked here, named in this change, or adopted/created in it.
    const taken = new Set(change.linked_schedules ?? []);
    for (const key of Object.keys(fields)) if (key.startsWith(PREFIX.schedule) && !key.startsWith(NEW_SCHEDULE_PREFIX)) taken.add(key.slice(PREFIX.schedule.length));
    let existing: Record<string, unknown>[] | undefined;
    const of = `access group ${groupId}`;
    const group = (doing: string) => ({ kind: 'access_group' as const, id: groupId, gone: notFound('access group', doing) });
    for (const [key, value] of Object.entries(fields)) {
      if (key.startsWith(PREFIX.lock)) {
        const lockId = key.slice(PREFIX.lock.length);
        if (value === true) {
          const doing = `adding lock ${lockId} to ${of}`;
          await call(doing, () => client.addLockToAccessGroup(groupId, lockId), { record: group(doing), refs: [{ kind: 'lock', id: lockId }] });
        } else await removing(`removing lock ${lockId} from ${of}`, () => client.removeLockFromAccessGroup(groupId, lockId));
      } else if (key.startsWith(PREFIX.user)) {
        const userId = key.slice(PREFIX.user.length);
        if (value === true) {
          const doing = `adding user ${userId} to ${of}`;
          await call(doing, () => client.addUserToAccessGroup(groupId, userId), { record: group(doing), refs: [{ kind: 'platform_user', id: userId }] });
        } else await removing(`removing user ${userId} from ${of}`, () => client.removeUserFromAccessGroup(groupId, userId));
      } else if (key.startsWith(NEW_SCHEDULE_PREFIX)) {
        // A schedule added and removed again before it was ever sent: nothing to do.
        if (value === null) continue;
        const localId = key.slice(NEW_SCHEDULE_PREFIX.length);
        const doing = `adding a time schedule to ${of}`;
        const input = scheduleIn(value, doing);
        if (change.retry) {
          // An earlier attempt may have created it and lost the answer: take an identical, unclaimed one.
          const reading = `reading the time schedules of ${of}`;
          existing ??= await call(reading, () => collect(client.timeSchedules(groupId)), { record: group(reading) });
          const match = existing.find((ts) => !taken.has(ts.id as string) && sameSchedule(ts, input as unknown as Record<string, unknown>));
          if (match) {
            taken.add(match.id as string);
            created[localId] = match.id as string;
            continue;
          }
        }
        const ts = await call(doing, () => client.createTimeSchedule(groupId, input), { record: group(doing) });
        taken.add(ts.id);
        created[localId] = ts.id;
      } else if (key.startsWith(PREFIX.schedule)) {
        const scheduleId = key.slice(PREFIX.schedule.length);
        if (value === null) {
          await removing(`deleting time schedule ${scheduleId} of ${of}`, () => client.deleteTimeSchedule(groupId, scheduleId));
        } else {
          const doing = `updating time schedule ${scheduleId} of ${of}`;
          // With the group still there, a 2202 is the schedule deleted in the cloud meanwhile: the pull brings that.
          await call(doing, () => client.updateTimeSchedule(groupId, scheduleId, scheduleIn(value, doing)), { record: group(doing), final: true });
        }
      }
    }
    return created;
  }

  async function pushGroup(change: CloudPush, fields: Fields): Promise<PushResult> {
    const { customer_reference: _name, ...members } = fields;
    if (change.operation === 'create') {
      const name = String(fields.customer_reference ?? '');
      const r = await step(`creating access group ${name}`.trimEnd(), () => client.createAccessGroupOnce(name, { adoptExisting: change.retry }));
      return { cloud_id: r.group.id, created_schedules: await applyGroupFields(r.group.id, members, change) };
    }
    const id = needId(change, `${change.operation === 'update' ? 'updating' : 'deleting'} access group`);
    if (change.operation === 'delete') {
      await call(`deleting access group ${id}`, () => client.deleteAccessGroup(id), { record: { kind: 'access_group', id, gone: done } });
      return { cloud_id: id };
    }
    if ('customer_reference' in fields) {
      const doing = `renaming access group ${id}`;
      const name = String(fields.customer_reference ?? '');
      await call(doing, () => client.updateAccessGroup(id, { customer_reference: name }), { record: { kind: 'access_group', id, gone: notFound('access group', doing) } });
    }
    return { cloud_id: id, created_schedules: await applyGroupFields(id, members, change) };
  }

  function toIncident(e: KsIncident): CloudIncident {
    return {
      id: e.id,
      utc_date_time: e.utc_date_time,
      incident_type: typeof e.incident_type === 'string' ? e.incident_type : e.event_category,
      lock_id: e.lock_id ?? null,
      iq_id: typeof e.iq_id === 'string' ? e.iq_id : null,
    };
  }

  /** Entries or incidents from `since`, oldest first, regrouped in pages (the client yields one at a time). */
  async function* eventPages<K, T>(since: string, what: string, read: (q: ListOptions) => AsyncIterable<K>, map: (k: K) => T): AsyncGenerator<T[]> {
    const from = new Date(since);
    if (Number.isNaN(from.getTime())) throw new CloudPortError('refused', `reading ${what}: '${since}' is not a date-time`);
    let page: T[] = [];
    try {
      for await (const e of read({ filter: ge('utc_date_time', from), orderby: 'utc_date_time asc', top: ENTRY_PAGE })) {
        page.push(map(e));
        if (page.length >= ENTRY_PAGE) {
          yield page;
          page = [];
        }
      }
    } catch (e) {
      throw portError(e, `reading ${what}`);
    }
    if (page.length > 0) yield page;
  }

  function toEntry(e: KsEntry): CloudEntry {
    return {
      id: e.id,
      utc_date_time: e.utc_date_time,
      event_category: e.event_category,
      event_detail: e.event_detail ?? null,
      access_by: e.access_by ?? null,
      lock_id: e.lock_id ?? null,
      user_id: e.user_id ?? null,
    };
  }

  return {
    async *list(kind) {
      try {
        yield* records(kind);
      } catch (e) {
        throw portError(e, `reading ${kind.replace('_', ' ')}s`);
      }
    },

    async push(change) {
      const fields: Fields = { ...(change.fields ?? {}) };
      switch (change.kind) {
        case 'user':
          return pushUser(change, fields);
        case 'tag':
          return pushTag(change, fields);
        case 'iq':
          return pushIq(change, fields);
        case 'lock':
          return pushLock(change, fields);
        case 'access_group':
          return pushGroup(change, fields);
      }
    },

    entries: (since) => eventPages(since, 'entries', (q) => client.entries(q), toEntry),
    incidents: (since) => eventPages(since, 'incidents', (q) => client.incidents(q), toIncident),
  };
}
