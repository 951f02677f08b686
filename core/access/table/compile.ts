// compile(iq): the access table a hub needs to decide offline for the locks it runs. The compiler keeps
// the tables of all IQs in memory and patches them record by record when a person or a tag changes (the
// common case, which must stay in milliseconds); a change to groups, schedules, calendars, locks or hubs
// recompiles the tables of the IQs it touches.
import type { DayType } from '../../domain/enums.ts';
import { DAY_MS, findTransitions, liveOffsetFn, type TransitionList } from '../../time/zone.ts';
import { toScheduleRule } from '../schedule.ts';
import type { AccessSnapshot, SnapshotGroup, SnapshotLock, SnapshotTag, SnapshotUser } from '../snapshot.ts';
import { AccessTable } from './access-table.ts';
import {
  encode,
  keyOf,
  REGISTRY_BUCKETS,
  registryBucket,
  TABLE_FORMAT,
  TAG_FLAGS,
  tagNumberToInt,
  USER_FLAGS,
} from './records.ts';

/** How far ahead a table answers: at least 400 days from any moment of the month it was compiled in. */
export const TABLE_DAYS = 440;
const MARGIN_MS = 3 * DAY_MS;

export interface TableWindow {
  from: number;
  until: number;
}

/**
 * The validity window is anchored to the start of the UTC month, so recompiling during a month yields
 * the same header (and hash) unless the model changed.
 */
export function tableWindow(now: number): TableWindow {
  const d = new Date(now);
  const monthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return { from: monthStart - MARGIN_MS, until: monthStart + TABLE_DAYS * DAY_MS };
}

/** Keys written and keys to remove while refreshing several owners at once (see tagsChanged). */
interface RefreshBatch {
  written: Set<string>;
  stale: Array<[string, string]>;
}

interface Indexes {
  iqLocks: Map<string, SnapshotLock[]>;
  groupIqs: Map<string, Set<string>>;
  /** tag id → locks holding it as an offline-access key */
  offlineLocks: Map<string, Set<string>>;
}

export class AccessCompiler {
  private readonly tables = new Map<string, AccessTable>();
  private idx!: Indexes;
  private readonly zoneCache = new Map<string, TransitionList>();
  private window: TableWindow;
  /** Where each user has records, and which keys, so a change can remove stale ones. */
  private readonly userKeys = new Map<string, Map<string, string[]>>();
  /** The reverse: users with records in each IQ's table. */
  private readonly iqUsers = new Map<string, Set<string>>();
  /** Tag state as last compiled: number and owner, to undo it when the tag changes. */
  private readonly compiledTags = new Map<string, { number: number; owner: string | null }>();
  private readonly registry: Array<Set<number>> = Array.from({ length: REGISTRY_BUCKETS }, () => new Set());
  private readonly tagRecordCache = new Map<string, Uint8Array>();
  /** Registry records as of the last full build, shared by every table built from them. */
  private registryCache: Uint8Array[] | null = null;

  constructor(
    private readonly snap: AccessSnapshot,
    now: number,
  ) {
    this.window = tableWindow(now);
  }

  get snapshot(): AccessSnapshot {
    return this.snap;
  }

  table(iqId: string): AccessTable | undefined {
    return this.tables.get(iqId);
  }

  allTables(): ReadonlyMap<string, AccessTable> {
    return this.tables;
  }

  /** Compiles every IQ from scratch. */
  compileAll(): ReadonlyMap<string, AccessTable> {
    this.tables.clear();
    this.userKeys.clear();
    this.iqUsers.clear();
    this.compiledTags.clear();
    this.tagRecordCache.clear();
    for (const set of this.registry) set.clear();
    this.registryCache = null;
    for (const tag of this.snap.tags.values()) this.trackTag(tag);
    this.idx = buildIndexes(this.snap);
    for (const iqId of this.snap.iqs.keys()) this.tables.set(iqId, this.buildIq(iqId, false));
    // Person-major: each person's groups, flags and tag records are worked out once for all their IQs.
    for (const user of this.snap.users.values()) {
      const plan = this.planUser(user);
      if (!plan) continue;
      for (const iqId of this.iqsOfUser(user)) this.writeUser(this.tables.get(iqId)!, iqId, user, undefined, plan);
    }
    return this.tables;
  }

  /** Moves the validity window forward when a new month starts; returns whether tables changed. */
  advanceClock(now: number): boolean {
    const w = tableWindow(now);
    if (w.from === this.window.from) return false;
    this.window = w;
    this.zoneCache.clear();
    this.recompileIqs(this.snap.iqs.keys());
    return true;
  }

  /**
   * Rebuilds the tables of the given IQs (and drops tables of IQs no longer in the snapshot). Use after a
   * change to groups, schedules, calendars, locks or IQs, once the snapshot holds the new state.
   */
  recompileIqs(iqIds: Iterable<string>): Set<string> {
    this.idx = buildIndexes(this.snap);
    const touched = new Set<string>();
    for (const iqId of iqIds) {
      touched.add(iqId);
      this.dropIqRecords(iqId);
      const iq = this.snap.iqs.get(iqId);
      if (!iq) {
        this.tables.delete(iqId);
        continue;
      }
      this.tables.set(iqId, this.buildIq(iqId, true));
    }
    return touched;
  }

  /** Patches the tables after people changed (snapshot already updated). Returns the IQs whose table changed. */
  usersChanged(userIds: Iterable<string>): Set<string> {
    const changed = new Set<string>();
    for (const id of userIds) this.refreshUser(id, changed);
    return changed;
  }

  /** Patches the tables after tags were added, changed or deleted (snapshot already updated). */
  tagsChanged(tagIds: Iterable<string>): Set<string> {
    const changed = new Set<string>();
    const users = new Set<string>();
    const buckets = new Set<number>();
    const locksToRefresh = new Set<string>();
    for (const tagId of tagIds) {
      const before = this.compiledTags.get(tagId);
      const now = this.snap.tags.get(tagId);
      this.tagRecordCache.delete(tagId);
      if (before?.owner) users.add(before.owner);
      if (now?.user_id) users.add(now.user_id);
      if (before) {
        this.registry[registryBucket(before.number)]!.delete(before.number);
        this.compiledTags.delete(tagId);
        buckets.add(registryBucket(before.number));
      }
      if (now) buckets.add(this.trackTag(now));
      for (const lockId of this.idx.offlineLocks.get(tagId) ?? []) locksToRefresh.add(lockId);
    }
    if (buckets.size > 0) {
      this.registryCache = null;
      const records = [...buckets].map((b) => this.registryRecord(b));
      for (const [iqId, table] of this.tables) {
        let any = false;
        for (const r of records) any = table.put(r) || any;
        if (any) changed.add(iqId);
      }
    }
    for (const lockId of locksToRefresh) {
      const lock = this.snap.locks.get(lockId);
      if (!lock?.iq_id) continue;
      if (this.tables.get(lock.iq_id)?.put(this.lockRecord(lock))) changed.add(lock.iq_id);
    }
    // A tag key can move from one refreshed owner to another (two tags swapped, or passed along), so
    // stale keys are removed only after every owner has written theirs.
    const batch: RefreshBatch = { written: new Set(), stale: [] };
    for (const u of users) this.refreshUser(u, changed, batch);
    for (const [iqId, k] of batch.stale) if (!batch.written.has(`${iqId}\n${k}`) && this.tables.get(iqId)?.delete(k)) changed.add(iqId);
    return changed;
  }

  /** Records a tag as compiled; returns its registry bucket. */
  private trackTag(tag: SnapshotTag): number {
    const number = tagNumberToInt(tag.tag_number);
    this.compiledTags.set(tag.id, { number, owner: tag.user_id });
    const bucket = registryBucket(number);
    this.registry[bucket]!.add(number);
    return bucket;
  }

  private registryRecord(bucket: number): Uint8Array {
    return encode.registry({ bucket, tagNumbers: [...this.registry[bucket]!].sort((a, b) => a - b) });
  }

  private registryRecords(): Uint8Array[] {
    if (!this.registryCache) this.registryCache = this.registry.map((_, b) => this.registryRecord(b));
    return this.registryCache;
  }

  private dropIqRecords(iqId: string): void {
    for (const u of this.iqUsers.get(iqId) ?? []) this.userKeys.get(u)?.delete(iqId);
    this.iqUsers.delete(iqId);
  }

  private noteUserIn(userId: string, iqId: string, keys: string[] | null): void {
    let perIq = this.userKeys.get(userId);
    if (!perIq) this.userKeys.set(userId, (perIq = new Map()));
    let users = this.iqUsers.get(iqId);
    if (!users) this.iqUsers.set(iqId, (users = new Set()));
    if (keys) {
      perIq.set(iqId, keys);
      users.add(userId);
    } else {
      perIq.delete(iqId);
      users.delete(userId);
    }
  }

  /** An IQ's table; with `withPeople` false, only its header, registry, locks, groups and calendars. */
  private buildIq(iqId: string, withPeople: boolean): AccessTable {
    const iq = this.snap.iqs.get(iqId)!;
    const table = new AccessTable();
    table.put(
      encode.header({
        format: TABLE_FORMAT,
        iq_id: iq.id,
        time_zone: iq.time_zone,
        valid_from: this.window.from,
        valid_until: this.window.until,
        offsets: this.transitions(iq.time_zone),
      }),
    );
    for (const r of this.registryRecords()) table.put(r);
    const locks = this.idx.iqLocks.get(iqId) ?? [];
    for (const lock of locks) table.put(this.lockRecord(lock));
    const users = new Set<string>();
    const calendars = new Set<string>();
    for (const g of this.snap.groups.values()) {
      if (!this.idx.groupIqs.get(g.id)?.has(iqId)) continue;
      table.put(this.groupRecord(g, iqId));
      if (g.calendarId) calendars.add(g.calendarId);
      if (withPeople) for (const m of g.memberIds) users.add(m);
    }
    if (withPeople)
      for (const lock of locks)
        for (const tagId of lock.offlineTagIds) {
          const owner = this.snap.tags.get(tagId)?.user_id;
          if (owner) users.add(owner);
        }
    for (const calId of calendars) {
      const cal = this.snap.calendars.get(calId);
      if (cal) table.put(this.calendarRecord(cal.pk, cal.days));
    }
    if (withPeople) {
      for (const userId of users) {
        const user = this.snap.users.get(userId);
        if (user) this.writeUser(table, iqId, user);
      }
    }
    return table;
  }

  private transitions(zone: string): TransitionList {
    let list = this.zoneCache.get(zone);
    if (!list) {
      list = findTransitions(liveOffsetFn(zone), this.window.from - MARGIN_MS, this.window.until + MARGIN_MS);
      this.zoneCache.set(zone, list);
    }
    return list;
  }

  private lockRecord(lock: SnapshotLock): Uint8Array {
    const offline: number[] = [];
    for (const tagId of lock.offlineTagIds) {
      const tag = this.snap.tags.get(tagId);
      if (tag) offline.push(tagNumberToInt(tag.tag_number));
    }
    offline.sort((a, b) => a - b);
    const eom = lock.easy_office_mode_schedule;
    return encode.lock({
      pk: lock.pk,
      id: lock.id,
      offlineTagNumbers: offline,
      eom: eom ? { ...toScheduleRule(eom), autoStart: eom.eom_auto_start } : null,
    });
  }

  private groupRecord(g: SnapshotGroup, iqId: string): Uint8Array {
    const lockPks: number[] = [];
    for (const lockId of g.lockIds) {
      const lock = this.snap.locks.get(lockId);
      if (lock && lock.iq_id === iqId) lockPks.push(lock.pk);
    }
    lockPks.sort((a, b) => a - b);
    const calendarPk = g.calendarId ? (this.snap.calendars.get(g.calendarId)?.pk ?? 0) : 0;
    return encode.group({
      pk: g.pk,
      calendarPk,
      lockPks,
      schedules: g.schedules.map((s) => ({ pk: s.pk, ...s.rule })),
    });
  }

  private calendarRecord(pk: number, days: Map<number, DayType>): Uint8Array {
    const first = Math.floor((this.window.from - MARGIN_MS) / DAY_MS) - 1;
    const last = Math.ceil((this.window.until + MARGIN_MS) / DAY_MS) + 1;
    const entries = [...days]
      .filter(([day]) => day >= first && day <= last)
      .sort((a, b) => a[0] - b[0])
      .map(([day, type]) => ({ day, type }));
    return encode.calendar({ pk, days: entries });
  }

  /** IQs where a user needs records: those of their groups' locks and of locks holding their offline keys. */
  private iqsOfUser(user: SnapshotUser): Set<string> {
    const out = new Set<string>();
    const tags = this.snap.tagsByOwner.get(user.id);
    if (!tags || tags.size === 0) return out; // no credential to present
    for (const g of user.groupIds) for (const iq of this.idx.groupIqs.get(g) ?? []) out.add(iq);
    for (const tagId of tags)
      for (const lockId of this.idx.offlineLocks.get(tagId) ?? []) {
        const iq = this.snap.locks.get(lockId)?.iq_id;
        if (iq) out.add(iq);
      }
    return out;
  }

  private refreshUser(userId: string, changed: Set<string>, batch?: RefreshBatch): void {
    const perIq = this.userKeys.get(userId);
    const user = this.snap.users.get(userId);
    const target = user ? this.iqsOfUser(user) : new Set<string>();
    const drop = (iqId: string, k: string) => {
      if (batch) batch.stale.push([iqId, k]);
      else if (this.tables.get(iqId)?.delete(k)) changed.add(iqId);
    };
    for (const [iqId, keys] of [...(perIq ?? [])]) {
      if (target.has(iqId)) continue;
      for (const k of keys) drop(iqId, k);
      this.noteUserIn(userId, iqId, null);
    }
    if (!user) {
      this.userKeys.delete(userId);
      return;
    }
    for (const iqId of target) {
      const table = this.tables.get(iqId);
      if (!table) continue;
      const before = perIq?.get(iqId) ?? [];
      const keys = this.writeUser(table, iqId, user, changed);
      if (batch) for (const k of keys) batch.written.add(`${iqId}\n${k}`);
      for (const k of before) if (!keys.includes(k)) drop(iqId, k);
    }
  }

  /** What a person contributes to any table, worked out once: keys, tag records and flags. */
  private planUser(user: SnapshotUser): UserPlan | null {
    const tagIds = this.snap.tagsByOwner.get(user.id);
    if (!tagIds || tagIds.size === 0) return null;
    let flags = 0;
    if (user.blocked) flags |= USER_FLAGS.blocked;
    if (user.subscription_state === 'suspended') flags |= USER_FLAGS.suspended;
    if (user.override_privacy_mode) flags |= USER_FLAGS.overridePrivacy;
    if (user.toggle_easy_office_mode) flags |= USER_FLAGS.toggleEasyOfficeMode;
    if (user.toggle_manual_office_mode) flags |= USER_FLAGS.toggleManualOfficeMode;
    if (user.remote_access) flags |= USER_FLAGS.remoteAccess;
    const keys: string[] = [keyOf.user(user.pk)];
    const tagRecords: Uint8Array[] = [];
    for (const tagId of tagIds) {
      const tag = this.snap.tags.get(tagId);
      if (!tag) continue;
      const n = tagNumberToInt(tag.tag_number);
      keys.push(keyOf.tag(n));
      tagRecords.push(this.tagRecord(tag, user.pk, n));
    }
    const groups: Array<{ pk: number; iqs: Set<string> | undefined }> = [];
    for (const gid of user.groupIds) {
      const g = this.snap.groups.get(gid);
      if (g) groups.push({ pk: g.pk, iqs: this.idx.groupIqs.get(gid) });
    }
    groups.sort((a, b) => a.pk - b.pk);
    return { user, flags, keys, tagRecords, groups, lastGroupPks: null, lastRecord: null };
  }

  /** Writes a person's record and their tags' records into one IQ's table; returns the keys written. */
  private writeUser(table: AccessTable, iqId: string, user: SnapshotUser, changed?: Set<string>, plan = this.planUser(user)): string[] {
    if (!plan) return [];
    const groupPks: number[] = [];
    for (const g of plan.groups) if (g.iqs?.has(iqId)) groupPks.push(g.pk);
    // People whose groups all reach the same IQs get byte-identical records there: encode once.
    let rec = plan.lastRecord;
    if (!rec || !sameNumbers(groupPks, plan.lastGroupPks!)) {
      rec = encode.user({ pk: user.pk, flags: plan.flags, validFrom: user.validFromMs, validUntil: user.validUntilMs, groupPks });
      plan.lastRecord = rec;
      plan.lastGroupPks = groupPks;
    }
    let dirty = table.put(rec, plan.keys[0]);
    for (let i = 0; i < plan.tagRecords.length; i++) dirty = table.put(plan.tagRecords[i]!, plan.keys[i + 1]) || dirty;
    if (dirty && changed) changed.add(iqId);
    this.noteUserIn(user.id, iqId, plan.keys);
    return plan.keys;
  }

  private tagRecord(tag: SnapshotTag, userPk: number, n: number): Uint8Array {
    let rec = this.tagRecordCache.get(tag.id);
    if (!rec) {
      let flags = 0;
      if (tag.blocked) flags |= TAG_FLAGS.blocked;
      if (tag.lost_or_stolen) flags |= TAG_FLAGS.lostOrStolen;
      rec = encode.tag({
        tagNumber: n,
        cardUid: tag.card_uid ? Buffer.from(tag.card_uid, 'hex') : null,
        flags,
        userPk,
        issueCounter: tag.issue_counter,
      });
      this.tagRecordCache.set(tag.id, rec);
    }
    return rec;
  }
}

interface UserPlan {
  user: SnapshotUser;
  flags: number;
  /** The user's record key, then one key per tag record. */
  keys: string[];
  tagRecords: Uint8Array[];
  groups: Array<{ pk: number; iqs: Set<string> | undefined }>;
  lastGroupPks: number[] | null;
  lastRecord: Uint8Array | null;
}

function sameNumbers(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function buildIndexes(snap: AccessSnapshot): Indexes {
  const iqLocks = new Map<string, SnapshotLock[]>();
  const offlineLocks = new Map<string, Set<string>>();
  for (const lock of snap.locks.values()) {
    if (lock.iq_id) {
      let list = iqLocks.get(lock.iq_id);
      if (!list) iqLocks.set(lock.iq_id, (list = []));
      list.push(lock);
    }
    for (const tagId of lock.offlineTagIds) {
      let set = offlineLocks.get(tagId);
      if (!set) offlineLocks.set(tagId, (set = new Set()));
      set.add(lock.id);
    }
  }
  const groupIqs = new Map<string, Set<string>>();
  for (const g of snap.groups.values()) {
    const iqs = new Set<string>();
    for (const lockId of g.lockIds) {
      const iq = snap.locks.get(lockId)?.iq_id;
      if (iq && snap.iqs.has(iq)) iqs.add(iq);
    }
    groupIqs.set(g.id, iqs);
  }
  return { iqLocks, groupIqs, offlineLocks };
}
