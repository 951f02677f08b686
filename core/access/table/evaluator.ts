// Decisions from a compiled table alone: what a hub does when the PC is away. Mirrors the order of
// checks in ../decide.ts; the property tests hold the two to the same answers.
import type { DayType, DenialReason, GrantReason } from '../../domain/enums.ts';
import { evaluateSchedule, NO_HOLIDAYS, type DayTypeOf, type ScheduleRule } from '../schedule.ts';
import { transitionOffsetFn, type OffsetFn } from '../../time/zone.ts';
import type { AccessTable } from './access-table.ts';
import { TableFormatError } from './bytes.ts';
import { decodeRecord, TAG_FLAGS, USER_FLAGS, type HeaderRecord, type ScheduleEntry } from './records.ts';

export interface TableDecision {
  granted: boolean;
  reason: GrantReason | DenialReason;
  /** pk of the access group and time schedule that granted, when one did. */
  groupPk: number | null;
  schedulePk: number | null;
}

interface EvalGroup {
  pk: number;
  locks: Set<number>;
  dayTypeOf: DayTypeOf;
  schedules: ScheduleEntry[];
}

interface EvalUser {
  flags: number;
  validFrom: number | null;
  validUntil: number | null;
  groups: EvalGroup[];
}

interface EvalTag {
  flags: number;
  user: EvalUser;
}

interface EvalLock {
  pk: number;
  offline: Set<number>;
}

const deny = (reason: DenialReason): TableDecision => ({ granted: false, reason, groupPk: null, schedulePk: null });

export class TableEvaluator {
  readonly header: HeaderRecord;
  private readonly offsetAt: OffsetFn;
  private readonly tags = new Map<number, EvalTag>();
  private readonly registry = new Set<number>();
  private readonly locks = new Map<string, EvalLock>();

  constructor(table: AccessTable) {
    this.header = table.header();
    this.offsetAt = transitionOffsetFn(this.header.offsets);
    const calendars = new Map<number, Map<number, DayType>>();
    const groupRecs: Array<{ pk: number; calendarPk: number; lockPks: number[]; schedules: ScheduleEntry[] }> = [];
    const userRecs = new Map<number, { flags: number; validFrom: number | null; validUntil: number | null; groupPks: number[] }>();
    const tagRecs: Array<{ tagNumber: number; flags: number; userPk: number }> = [];
    for (const key of table.keys()) {
      const rec = decodeRecord(table.get(key)!);
      switch (rec.kind) {
        case 'registry':
          for (const n of rec.value.tagNumbers) this.registry.add(n);
          break;
        case 'calendar':
          calendars.set(rec.value.pk, new Map(rec.value.days.map((d) => [d.day, d.type])));
          break;
        case 'lock':
          this.locks.set(rec.value.id, { pk: rec.value.pk, offline: new Set(rec.value.offlineTagNumbers) });
          break;
        case 'group':
          groupRecs.push(rec.value);
          break;
        case 'user':
          userRecs.set(rec.value.pk, rec.value);
          break;
        case 'tag':
          tagRecs.push(rec.value);
          break;
        case 'header':
          break;
      }
    }
    const groups = new Map<number, EvalGroup>();
    for (const g of groupRecs) {
      const days = calendars.get(g.calendarPk);
      groups.set(g.pk, {
        pk: g.pk,
        locks: new Set(g.lockPks),
        dayTypeOf: days && days.size ? (d) => days.get(d) ?? null : NO_HOLIDAYS,
        schedules: g.schedules,
      });
    }
    const users = new Map<number, EvalUser>();
    for (const [pk, u] of userRecs) {
      users.set(pk, {
        flags: u.flags,
        validFrom: u.validFrom,
        validUntil: u.validUntil,
        groups: u.groupPks.map((g) => groups.get(g)).filter((g): g is EvalGroup => g !== undefined),
      });
    }
    for (const t of tagRecs) {
      const user = users.get(t.userPk);
      if (!user) throw new TableFormatError(`Tag ${t.tagNumber} refers to missing user record ${t.userPk}`);
      this.tags.set(t.tagNumber, { flags: t.flags, user });
    }
  }

  /** Whether `t` lies in the window this table was compiled to answer for. */
  covers(t: number): boolean {
    return t >= this.header.valid_from && t < this.header.valid_until;
  }

  decide(tagNumber: string, lockId: string, t: number, door: { privacy_mode: boolean; offline?: boolean }): TableDecision {
    const lock = this.locks.get(lockId);
    if (!lock) throw new RangeError(`Lock ${lockId} is not run by this IQ`);
    if (!this.covers(t)) throw new RangeError(`Instant ${new Date(t).toISOString()} is outside the table's window`);
    const n = Number(tagNumber);
    const tag = this.tags.get(n);
    if (!tag) return deny(this.registry.has(n) ? 'no_access' : 'unknown_tag');
    const user = tag.user;
    const hasOffline = lock.offline.has(n);
    let routed = hasOffline;
    for (const g of user.groups) if (g.locks.has(lock.pk)) routed = true;
    if (!routed) return deny('no_access');
    if (tag.flags & (TAG_FLAGS.blocked | TAG_FLAGS.lostOrStolen)) return deny('blocked');
    if (user.flags & USER_FLAGS.blocked) return deny('blocked');
    if (user.flags & USER_FLAGS.suspended) return deny('suspended');
    if (user.validFrom !== null && t < user.validFrom) return deny('not_yet_valid');
    if (user.validUntil !== null && t >= user.validUntil) return deny('expired');
    if (door.privacy_mode && !(user.flags & USER_FLAGS.overridePrivacy)) return deny('privacy_mode');
    if (door.offline) return hasOffline ? { granted: true, reason: 'offline', groupPk: null, schedulePk: null } : deny('offline');
    let any = false;
    let holiday = false;
    for (const g of user.groups) {
      if (!g.locks.has(lock.pk)) continue;
      any = true;
      if (g.schedules.length === 0) return { granted: true, reason: 'access', groupPk: g.pk, schedulePk: null };
      for (const s of g.schedules) {
        const v = evaluateSchedule(s as ScheduleRule, t, this.offsetAt, g.dayTypeOf);
        if (v === 'open') return { granted: true, reason: 'access', groupPk: g.pk, schedulePk: s.pk };
        if (v === 'holiday') holiday = true;
      }
    }
    return deny(!any ? 'no_access' : holiday ? 'holiday' : 'outside_schedule');
  }
}
