// The slice of the site model that access decisions need, held in memory and indexed for lookups.
// The store loads it (core/store/access-snapshot-loader.ts); decide(), explain(), compile() and the
// access diff read it. `pk` values are the store's stable integer keys: compiled tables use them as
// short ids so that a table only changes where the model changed.
import type { DayType, SubscriptionState } from '../domain/enums.ts';
import type { EasyOfficeModeSchedule, TimeScheduleFields } from '../domain/model.ts';
import type { ScheduleRule } from './schedule.ts';

export interface SnapshotIq {
  pk: number;
  id: string;
  customer_reference: string;
  time_zone: string;
}

export interface SnapshotLock {
  pk: number;
  id: string;
  customer_reference: string;
  iq_id: string | null;
  privacy_mode: boolean;
  online: boolean;
  offlineTagIds: Set<string>;
  easy_office_mode_schedule: EasyOfficeModeSchedule | null;
}

export interface SnapshotUser {
  pk: number;
  id: string;
  user_id: string;
  first_name: string;
  last_name: string;
  blocked: boolean;
  subscription_state: SubscriptionState;
  validFromMs: number | null;
  validUntilMs: number | null;
  remote_access: boolean;
  override_privacy_mode: boolean;
  toggle_easy_office_mode: boolean;
  toggle_manual_office_mode: boolean;
  /** Access groups the user is in. */
  groupIds: Set<string>;
}

export interface SnapshotTag {
  pk: number;
  id: string;
  tag_number: string;
  card_uid: string | null;
  user_id: string | null;
  blocked: boolean;
  lost_or_stolen: boolean;
  issue_counter: number;
}

export interface SnapshotSchedule {
  pk: number;
  id: string;
  fields: TimeScheduleFields;
  rule: ScheduleRule;
}

export interface SnapshotGroup {
  pk: number;
  id: string;
  customer_reference: string;
  calendarId: string | null;
  lockIds: Set<string>;
  memberIds: Set<string>;
  /** Ordered by pk so that "the schedule that granted" is deterministic. */
  schedules: SnapshotSchedule[];
}

export interface SnapshotCalendar {
  pk: number;
  id: string;
  customer_reference: string;
  days: Map<number, DayType>;
}

export interface AccessSnapshot {
  siteZone: string;
  iqs: Map<string, SnapshotIq>;
  locks: Map<string, SnapshotLock>;
  users: Map<string, SnapshotUser>;
  tags: Map<string, SnapshotTag>;
  tagsByNumber: Map<string, SnapshotTag>;
  /** Owner site-user id → ids of the tags they hold. */
  tagsByOwner: Map<string, Set<string>>;
  groups: Map<string, SnapshotGroup>;
  calendars: Map<string, SnapshotCalendar>;
}

export function emptySnapshot(siteZone: string): AccessSnapshot {
  return {
    siteZone,
    iqs: new Map(),
    locks: new Map(),
    users: new Map(),
    tags: new Map(),
    tagsByNumber: new Map(),
    tagsByOwner: new Map(),
    groups: new Map(),
    calendars: new Map(),
  };
}

/** Schedules are wall time of the lock's zone: its IQ's zone, or the site's for a lock on no IQ. */
export function lockZone(snap: AccessSnapshot, lock: SnapshotLock): string {
  const iq = lock.iq_id ? snap.iqs.get(lock.iq_id) : undefined;
  return iq?.time_zone ?? snap.siteZone;
}

/** Groups sorted by pk: the order in which decisions consider them. */
export function groupsOfUser(snap: AccessSnapshot, user: SnapshotUser): SnapshotGroup[] {
  const out: SnapshotGroup[] = [];
  for (const id of user.groupIds) {
    const g = snap.groups.get(id);
    if (g) out.push(g);
  }
  return out.sort((a, b) => a.pk - b.pk);
}

export function addTag(snap: AccessSnapshot, tag: SnapshotTag): void {
  snap.tags.set(tag.id, tag);
  snap.tagsByNumber.set(tag.tag_number, tag);
  if (tag.user_id) {
    let set = snap.tagsByOwner.get(tag.user_id);
    if (!set) snap.tagsByOwner.set(tag.user_id, (set = new Set()));
    set.add(tag.id);
  }
}

export function removeTag(snap: AccessSnapshot, tagId: string): void {
  const tag = snap.tags.get(tagId);
  if (!tag) return;
  snap.tags.delete(tagId);
  if (snap.tagsByNumber.get(tag.tag_number)?.id === tagId) snap.tagsByNumber.delete(tag.tag_number);
  if (tag.user_id) snap.tagsByOwner.get(tag.user_id)?.delete(tagId);
}
