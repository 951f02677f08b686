// What the cloud holds of each local record, as the flat field map the outbox and the merge work on.
// Device state a hub reports (online, battery, locked state) is not here: the cloud learns it from the
// IQ, not from an admin, so it is never a change to send or a conflict.
import { type CloudKind, type Fields, type Json } from '../domain/cloud.ts';
import type { TimeScheduleFields } from '../domain/model.ts';
import { stmt, type ReadDb } from '../store/db.ts';
import { schedulesOfGroup } from '../store/repos/access-groups.ts';
import { getIq } from '../store/repos/iqs.ts';
import { getLock } from '../store/repos/locks.ts';
import { getTag } from '../store/repos/tags.ts';
import { getUser } from '../store/repos/users.ts';
import { normalized } from './conflicts.ts';

export const USER_FIELDS = [
  'first_name',
  'last_name',
  'email',
  'alias',
  'phone',
  'blocked',
  'valid_from',
  'valid_until',
  'remote_access',
  'toggle_easy_office_mode',
  'toggle_manual_office_mode',
  'override_privacy_mode',
] as const;
export const TAG_FIELDS = ['tag_number', 'kind', 'user_id', 'blocked', 'lost_or_stolen'] as const;
export const LOCK_FIELDS = ['customer_reference', 'iq_id', 'easy_office_mode_schedule'] as const;
export const IQ_FIELDS = ['mac', 'customer_reference', 'time_zone'] as const;

/**
 * What a field holds locally when a record does not set it. The cloud may leave out a false flag or an
 * empty name; filled in, it compares equal to the local record that holds them.
 */
export const UNSET: Readonly<Record<string, Json>> = {
  first_name: '',
  last_name: '',
  blocked: false,
  remote_access: false,
  toggle_easy_office_mode: false,
  toggle_manual_office_mode: false,
  override_privacy_mode: false,
  lost_or_stolen: false,
  kind: 'card',
  customer_reference: '',
};

const FIELDS_OF = { user: USER_FIELDS, tag: TAG_FIELDS, lock: LOCK_FIELDS, iq: IQ_FIELDS } as const;

/** A record's fields in the form its local projection has: every scalar field, unset ones filled in. */
export function completed(kind: CloudKind, fields: Fields): Fields {
  if (kind === 'access_group') return normalized({ customer_reference: '', ...fields });
  return pick({ ...Object.fromEntries(FIELDS_OF[kind].map((f) => [f, UNSET[f] ?? null])), ...normalized(fields) }, FIELDS_OF[kind]);
}

/** Membership and schedule fields of an access group: `<prefix><id>`. */
export const GROUP_PREFIXES = { lock: 'lock:', user: 'user:', schedule: 'time_schedule:' } as const;

const pick = (record: object, fields: readonly string[]): Fields => normalized(Object.fromEntries(fields.map((f) => [f, ((record as Record<string, unknown>)[f] ?? null) as Json])));

export function scheduleFields(s: TimeScheduleFields): Json {
  const { monday, tuesday, wednesday, thursday, friday, saturday, sunday, holiday, special_1, special_2, start_time, end_time, start_date, end_date } = s;
  return { monday, tuesday, wednesday, thursday, friday, saturday, sunday, holiday, special_1, special_2, start_time, end_time, start_date, end_date };
}

/** The record's cloud fields now, or null when it does not exist. */
export function cloudFields(db: ReadDb, kind: CloudKind, id: string): Fields | null {
  switch (kind) {
    case 'user': {
      const u = getUser(db, id);
      return u && pick(u, USER_FIELDS);
    }
    case 'tag': {
      const t = getTag(db, id);
      return t && pick(t, TAG_FIELDS);
    }
    case 'lock': {
      const l = getLock(db, id);
      return l && pick(l, LOCK_FIELDS);
    }
    case 'iq': {
      const q = getIq(db, id);
      return q && pick(q, IQ_FIELDS);
    }
    case 'access_group': {
      const name = stmt(db, 'SELECT customer_reference FROM access_groups WHERE id = ?').pluck().get(id) as string | undefined;
      if (name === undefined) return null;
      const out: Record<string, Json> = { customer_reference: name };
      for (const l of stmt(db, 'SELECT lock_id FROM access_group_locks WHERE access_group_id = ?').pluck().all(id) as string[]) out[GROUP_PREFIXES.lock + l] = true;
      for (const u of stmt(db, 'SELECT user_id FROM access_group_users WHERE access_group_id = ?').pluck().all(id) as string[]) out[GROUP_PREFIXES.user + u] = true;
      for (const s of schedulesOfGroup(db, id)) out[GROUP_PREFIXES.schedule + s.id] = scheduleFields(s);
      return out;
    }
  }
}

const TABLES: Record<CloudKind, string> = { iq: 'iqs', lock: 'locks', user: 'users', tag: 'tags', access_group: 'access_groups' };

export function allIds(db: ReadDb, kind: CloudKind): string[] {
  return stmt(db, `SELECT id FROM ${TABLES[kind]} ORDER BY pk`).pluck().all() as string[];
}

/** The groups a user is a member of now (a membership change may be logged against the user alone). */
export function groupsWithUser(db: ReadDb, userId: string): string[] {
  return stmt(db, 'SELECT access_group_id FROM access_group_users WHERE user_id = ?').pluck().all(userId) as string[];
}
