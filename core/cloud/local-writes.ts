// Writes a record's merged cloud fields into the local model through the same repository functions
// the handlers use, and logs each change like a handler, so the access engine refreshes exactly what
// a pulled change touched and the operator log says the cloud did it.
import { randomUUID } from 'node:crypto';
import { DEVICE_STATE_IQ, deviceStateLock } from '../domain/device-state.ts';
import type { CloudKind, Fields, Json } from '../domain/cloud.ts';
import type { EasyOfficeModeSchedule, Iq, Lock, Tag, TimeSchedule, TimeScheduleFields, User } from '../domain/model.ts';
import { addGroupLock, addGroupUser, deleteAccessGroup, deleteSchedule, getAccessGroup, insertAccessGroup, insertSchedule, memberIds, removeGroupLock, removeGroupUser, updateAccessGroup, updateSchedule } from '../store/repos/access-groups.ts';
import { deleteIq, getIq, insertIq, updateIq } from '../store/repos/iqs.ts';
import { deleteLock, getLock, insertLock, setEomSchedule, updateLock } from '../store/repos/locks.ts';
import { getSite } from '../store/repos/site.ts';
import { deleteTag, getTag, insertTag, tagsOfUser, updateTag } from '../store/repos/tags.ts';
import { deleteUser, getUser, insertUser, updateUser } from '../store/repos/users.ts';
import type { CommandContext } from '../service/context.ts';
import { changedFields, sameValue } from './conflicts.ts';
import { GROUP_PREFIXES, IQ_FIELDS, LOCK_FIELDS, TAG_FIELDS, UNSET, USER_FIELDS } from './records.ts';

function assign<T extends object>(record: T, fields: readonly string[], merged: Fields): T {
  const out = { ...record } as Record<string, unknown>;
  for (const f of fields) out[f] = merged[f] ?? UNSET[f] ?? null;
  return out as T;
}

/** Makes the local record `id` hold `merged` (null: deletes it); `current` is what it holds now. */
export function writeLocal(ctx: CommandContext, kind: CloudKind, id: string, current: Fields | null, merged: Fields | null): void {
  if (merged === null) return removeLocal(ctx, kind, id);
  const now = ctx.nowIso;
  const log = (before: unknown, after: unknown, touches?: Array<{ kind: 'user' | 'tag' | 'access_group'; id: string }>) =>
    ctx.log({ target_type: kind, target_id: id, before, after, ...(touches ? { touches } : {}) });
  switch (kind) {
    case 'user': {
      const before = getUser(ctx.db, id);
      const base: User = before ?? ({ id, user_id: randomUUID(), kind: 'employee', subscription_state: 'subscribed', notes: null, created_at: now } as User);
      const after = assign({ ...base, updated_at: now }, USER_FIELDS, merged);
      if (before) updateUser(ctx.db, after);
      else insertUser(ctx.db, after);
      return log(current, merged);
    }
    case 'tag': {
      const before = getTag(ctx.db, id);
      const base: Tag = before ?? ({ id, card_uid: null, source_iq_id: null, added_date: now, issue_counter: 0, lost_or_stolen_date: null, created_at: now } as Tag);
      const after = assign({ ...base, updated_at: now }, TAG_FIELDS, merged);
      after.lost_or_stolen_date = after.lost_or_stolen ? (before?.lost_or_stolen_date ?? now) : null;
      if (before) {
        const { owner: _o, ...plain } = { ...before, ...after };
        updateTag(ctx.db, plain);
      } else insertTag(ctx.db, after);
      return log(current, merged);
    }
    case 'iq': {
      const before = getIq(ctx.db, id);
      const base: Iq = before ?? ({ id, ...DEVICE_STATE_IQ, subscribed: true, reset_date: null, firmware: null, serial: null, created_at: now } as Iq);
      const after = assign({ ...base, updated_at: now }, IQ_FIELDS, merged);
      after.time_zone ||= getSite(ctx.db)!.time_zone;
      if (before) updateIq(ctx.db, after);
      else insertIq(ctx.db, after);
      return log(current, merged);
    }
    case 'lock': {
      const before = getLock(ctx.db, id);
      const base: Lock =
        before ??
        ({ id, mac: null, lock_type: 'escutcheon', offline_access_keys_limit: 360, offline_access_keys_count: 0, floor: null, ...deviceStateLock(null), created_at: now } as Lock);
      const after = assign({ ...base, updated_at: now }, LOCK_FIELDS.filter((f) => f !== 'easy_office_mode_schedule'), merged);
      // Like locks.update: a lock moved to another IQ is pending there until that IQ confirms it.
      if (after.iq_id !== (before?.iq_id ?? null)) Object.assign(after, deviceStateLock(after.iq_id));
      if (before) updateLock(ctx.db, after);
      else insertLock(ctx.db, after);
      const eom = (merged.easy_office_mode_schedule ?? null) as EasyOfficeModeSchedule | null;
      if (!sameValue(eom as Json, (current?.easy_office_mode_schedule ?? null) as Json)) setEomSchedule(ctx.db, id, eom, now);
      return log(current, merged);
    }
    case 'access_group': {
      const before = getAccessGroup(ctx.db, id);
      const name = (merged.customer_reference ?? '') as string;
      if (!before) insertAccessGroup(ctx.db, { id, customer_reference: name, holiday_calendar_id: null, created_at: now, updated_at: now });
      else if (before.customer_reference !== name) updateAccessGroup(ctx.db, { ...before, customer_reference: name, updated_at: now });
      const people: string[] = [];
      for (const [key, value] of Object.entries(changedFields(current ?? {}, merged))) {
        if (key.startsWith(GROUP_PREFIXES.lock)) {
          const lock = key.slice(GROUP_PREFIXES.lock.length);
          if (value) addGroupLock(ctx.db, id, lock);
          else removeGroupLock(ctx.db, id, lock);
        } else if (key.startsWith(GROUP_PREFIXES.user)) {
          const user = key.slice(GROUP_PREFIXES.user.length);
          if (value) addGroupUser(ctx.db, id, user);
          else removeGroupUser(ctx.db, id, user);
          people.push(user);
        } else if (key.startsWith(GROUP_PREFIXES.schedule)) {
          const sid = key.slice(GROUP_PREFIXES.schedule.length);
          const schedule: TimeSchedule | null = value === null ? null : { ...(value as unknown as TimeScheduleFields), id: sid, access_group_id: id };
          if (!schedule) deleteSchedule(ctx.db, sid);
          else if (current?.[key] !== undefined) updateSchedule(ctx.db, schedule, now);
          else insertSchedule(ctx.db, schedule, now);
        }
      }
      return log(current, merged, [{ kind: 'access_group', id }, ...people.map((u) => ({ kind: 'user' as const, id: u }))]);
    }
  }
}

function removeLocal(ctx: CommandContext, kind: CloudKind, id: string): void {
  let touches: Array<{ kind: 'user' | 'tag' | 'access_group'; id: string }> | undefined;
  switch (kind) {
    case 'user':
      touches = [{ kind: 'user', id }, ...tagsOfUser(ctx.db, id).map((t) => ({ kind: 'tag' as const, id: t.id }))];
      deleteUser(ctx.db, id);
      break;
    case 'tag':
      deleteTag(ctx.db, id);
      break;
    case 'lock':
      deleteLock(ctx.db, id);
      break;
    case 'iq':
      deleteIq(ctx.db, id);
      break;
    case 'access_group':
      touches = [{ kind: 'access_group', id }, ...memberIds(ctx.db, id).map((u) => ({ kind: 'user' as const, id: u }))];
      deleteAccessGroup(ctx.db, id);
      break;
  }
  ctx.log({ target_type: kind, target_id: id, before: { deleted_in_cloud: true }, ...(touches ? { touches } : {}) });
}
