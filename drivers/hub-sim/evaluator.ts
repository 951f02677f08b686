// Offline decisions from the active table, as hub firmware takes them: the checks of
// docs/access-rules.md in their order, schedules in the local wall time of the table's zone (read from
// the header's transition list, never from an IANA database), holiday day types, validity windows,
// offline-access keys and privacy mode. The hub refuses outright outside the table's validity window.
import { checkPresentedCard, type CredentialRefusal } from '../mifare/credential.ts';
import { toHex } from './bytes.ts';
import { TAG_FLAG, USER_FLAG, type DayType, type GroupEntry, type Header, type HubTable, type LockEntry, type Rule, type TagEntry } from './table.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** CLP's denial reasons (entry event_detail values), as the core's decide() gives them. */
export type ClpDenial =
  | 'unknown_tag'
  | 'no_access'
  | 'blocked'
  | 'suspended'
  | 'expired'
  | 'not_yet_valid'
  | 'privacy_mode'
  | 'offline'
  | 'holiday'
  | 'outside_schedule';

/**
 * Refusals only a hub has: it holds no table, the instant is outside the table's window, or the lock is
 * not in it; or the lock is in tag registration mode, where a card is reported, never decided (no entry
 * is filed for this one: see SimulatedHub.presentTag); or, with a site key, the card's credential sector
 * is not a genuine, current credential of this tag (`invalid_credential`, the finer cause beside it).
 */
export type HubRefusal = 'no_table' | 'outside_table_window' | 'lock_not_in_table' | 'tag_registration' | 'invalid_credential';

export type DenyReason = ClpDenial | HubRefusal;

/** Finer cause behind some reasons (CLP's `blocked` covers three different things). */
export type DenyCause =
  | 'tag_blocked'
  | 'tag_lost_or_stolen'
  | 'user_blocked'
  | 'unreadable_tag_number'
  | 'uid_not_in_table'
  | 'uid_mismatch'
  /** The card's UID is the tag's, but its credential sector is missing, forged, another site's, … (docs/credentials.md). */
  | CredentialRefusal;

/** The site's card credential check: when a hub has it, a card presented by UID must carry a genuine credential sector. */
export interface CardCheck {
  siteKey: Uint8Array;
  siteId: string;
}

export interface Credential {
  /** Tag number as printed: up to 10 decimal digits. */
  tagNumber?: string;
  /** Card UID as read from the card. */
  uid?: Uint8Array;
  /**
   * The card's credential sector (MIFARE Classic sector 1, blocks 4–7, 64 bytes) as the card holds it;
   * absent or null for a card without one. Only looked at by a hub with a CardCheck.
   */
  sector?: Uint8Array | null;
}

export type Presented = string | Uint8Array | Credential;

export interface Grant {
  granted: true;
  reason: 'access' | 'offline';
  /** pk of the access group and time schedule that granted (null for offline and schedule-less groups). */
  groupPk: number | null;
  schedulePk: number | null;
  tagNumber: string;
  userPk: number;
  userFlags: number;
}

export interface Denial {
  granted: false;
  reason: DenyReason;
  cause: DenyCause | null;
  /** The tag number when the credential could be read as one. */
  tagNumber: string | null;
  /** The card UID in upper-case hex when one was presented. */
  cardUid: string | null;
  userPk: number | null;
  userFlags: number;
}

export type Decision = Grant | Denial;

export interface DoorState {
  privacy: boolean;
  /** The lock cannot reach the hub: only offline-access keys open it. */
  offline: boolean;
}

/** The refusal of a hub that has nothing to decide with (no table, or the lock is not in it). */
export function refusal(reason: HubRefusal, presented: Presented): Denial {
  const cred = normalizeCredential(presented);
  const tagNumber = cred.tagNumber !== undefined && /^\d{1,10}$/.test(cred.tagNumber) ? formatTagNumber(Number(cred.tagNumber)) : null;
  return { granted: false, reason, cause: null, tagNumber, cardUid: cred.uid ? toHex(cred.uid).toUpperCase() : null, userPk: null, userFlags: 0 };
}

export function normalizeCredential(p: Presented): Credential {
  if (typeof p === 'string') return { tagNumber: p };
  if (p instanceof Uint8Array) return { uid: p };
  return p;
}

export const formatTagNumber = (n: number): string => String(n).padStart(10, '0');

// ── Zone arithmetic over the header's transition list ────────────────────────────────────────────

export class ZoneClock {
  private readonly ats: number[];
  private readonly offsets: number[];

  constructor(header: Pick<Header, 'initialOffset' | 'transitions'>) {
    // Segment i is [ats[i], ats[i+1]) with offsets[i]; segment 0 starts at −∞ with the initial offset.
    this.ats = [-Infinity, ...header.transitions.map((t) => t.at)];
    this.offsets = [header.initialOffset, ...header.transitions.map((t) => t.offset)];
  }

  /** Index of the segment an instant falls in. */
  private segment(t: number): number {
    let lo = 0;
    let hi = this.ats.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.ats[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** UTC offset in minutes at an instant. */
  offsetAt(t: number): number {
    return this.offsets[this.segment(t)]!;
  }

  /** Local wall clock (ms, read as UTC) at an instant. */
  wall(t: number): number {
    return t + this.offsetAt(t) * MINUTE_MS;
  }

  localDay(t: number): number {
    return Math.floor(this.wall(t) / DAY_MS);
  }

  /**
   * The instant a local wall time names. A wall time that occurs twice (fall-back overlap) takes its
   * first occurrence. One that does not occur (spring-forward gap) becomes, with 'clamp', the instant
   * the gap ends; with 'shift', the instant it would be with the offset from before the gap (as far
   * past the jump as the wall time is past the gap's start).
   */
  instantOf(wall: number, mode: 'clamp' | 'shift'): number {
    const first = this.segment(wall - DAY_MS);
    const last = this.segment(wall + DAY_MS);
    let best = Infinity;
    for (let i = first; i <= last; i++) {
      const t = wall - this.offsets[i]! * MINUTE_MS;
      if (this.segment(t) === i && t < best) best = t;
    }
    if (best !== Infinity) return best;
    // A gap: the transition whose jump carries the wall clock over `wall`.
    for (let i = first + 1; i <= last; i++) {
      const at = this.ats[i]!;
      if (at + this.offsets[i - 1]! * MINUTE_MS <= wall && wall < at + this.offsets[i]! * MINUTE_MS)
        return mode === 'clamp' ? at : wall - this.offsets[i - 1]! * MINUTE_MS;
    }
    return wall - this.offsets[first]! * MINUTE_MS;
  }
}

/** 0 = Monday … 6 = Sunday for a local day number (1970-01-01 was a Thursday). */
export const weekdayOf = (day: number): number => (((day + 3) % 7) + 7) % 7;

const DAY_TYPE_BIT: Record<DayType, number> = { holiday: 1 << 7, special_1: 1 << 8, special_2: 1 << 9 };

type DayTypeOf = (day: number) => DayType | null;
const NO_CALENDAR: DayTypeOf = () => null;

/** The instants [start, end) of the window a rule opens on local date `day`. */
export function windowOn(zone: ZoneClock, rule: Rule, day: number): [number, number] {
  const startWall = day * DAY_MS + rule.startSec * 1000;
  // The inclusive end second closes one second later; an end before the start runs into the next day.
  const endDay = rule.endSec < rule.startSec ? day + 1 : day;
  const endWall = endDay * DAY_MS + (rule.endSec + 1) * 1000;
  const start = zone.instantOf(startWall, 'clamp');
  const end = zone.instantOf(endWall, 'clamp');
  if (end > start) return [start, end];
  // Wholly inside a spring-forward gap: moved past the gap rather than lost.
  return [zone.instantOf(startWall, 'shift'), zone.instantOf(endWall, 'shift')];
}

/** The instants [from, until) a rule's date bounds allow (±Infinity when open-ended). */
function ruleBounds(zone: ZoneClock, rule: Rule): [number, number] {
  return [
    rule.fromWall === null ? -Infinity : zone.instantOf(rule.fromWall, 'clamp'),
    rule.untilWall === null ? Infinity : zone.instantOf(rule.untilWall, 'clamp'),
  ];
}

export type Verdict = 'open' | 'holiday' | 'closed';

/**
 * Whether a schedule is open at `t`. The window containing `t` started on t's local date or the day
 * before; the day after is looked at too, because in a fall-back overlap t's wall date can lag the
 * date of a window that has already begun. A date's day type replaces its weekday; `holiday` means a
 * window would have been open by weekday but the date's day type is not selected.
 */
export function verdictAt(zone: ZoneClock, rule: Rule, t: number, dayTypeOf: DayTypeOf): Verdict {
  const [from, until] = ruleBounds(zone, rule);
  if (t < from || t >= until) return 'closed';
  const today = zone.localDay(t);
  let holiday = false;
  for (let d = today - 1; d <= today + 1; d++) {
    const weekdayBit = 1 << weekdayOf(d);
    const dayType = dayTypeOf(d);
    const selected = (rule.mask & (dayType ? DAY_TYPE_BIT[dayType] : weekdayBit)) !== 0;
    const byWeekday = (rule.mask & weekdayBit) !== 0;
    if (!selected && !byWeekday) continue;
    const [start, end] = windowOn(zone, rule, d);
    if (t < start || t >= end) continue;
    if (selected) return 'open';
    holiday = true;
  }
  return holiday ? 'holiday' : 'closed';
}

// ── The evaluator ─────────────────────────────────────────────────────────────────────────────────

export class Evaluator {
  readonly zone: ZoneClock;
  private readonly dayTypes = new Map<number, DayTypeOf>();

  constructor(
    readonly table: HubTable,
    private readonly cards: CardCheck | null = null,
  ) {
    this.zone = new ZoneClock(table.header);
    for (const [pk, days] of table.calendars) this.dayTypes.set(pk, days.size ? (d) => days.get(d) ?? null : NO_CALENDAR);
  }

  covers(t: number): boolean {
    return t >= this.table.header.validFrom && t < this.table.header.validUntil;
  }

  lock(lockId: string): LockEntry | undefined {
    return this.table.locksById.get(lockId);
  }

  decide(lockId: string, presented: Presented, t: number, door: DoorState): Decision {
    const cred = normalizeCredential(presented);
    const cardUid = cred.uid ? toHex(cred.uid).toUpperCase() : null;
    const deny = (reason: DenyReason, cause: DenyCause | null = null, tagNumber: string | null = null, user?: { pk: number; flags: number }): Denial => ({
      granted: false,
      reason,
      cause,
      tagNumber,
      cardUid,
      userPk: user?.pk ?? null,
      userFlags: user?.flags ?? 0,
    });
    const lock = this.table.locksById.get(lockId);
    if (!lock) return refusal('lock_not_in_table', presented);
    if (!this.covers(t)) return refusal('outside_table_window', presented);

    const found = this.identify(cred);
    if ('cause' in found) return deny('unknown_tag', found.cause, found.tagNumber);
    const { number } = found;
    const tagNumber = formatTagNumber(number);
    const tag: TagEntry | undefined = this.table.tags.get(number);
    if (!tag) return deny(this.table.registry.has(number) ? 'no_access' : 'unknown_tag', null, tagNumber);
    if (cred.uid && tag.uid && cardUid !== toHex(tag.uid).toUpperCase()) return deny('unknown_tag', 'uid_mismatch', tagNumber);
    if (this.cards && cred.uid) {
      // A card read at the reader (not a number typed in): its credential must be genuine, this tag's, and current.
      const check = checkPresentedCard(this.cards.siteKey, this.cards.siteId, cred.uid, cred.sector ?? null, { tagNumber, minIssueCounter: tag.issueCounter });
      if (!check.ok) return deny('invalid_credential', check.reason, tagNumber);
    }
    const user = this.table.users.get(tag.userPk)!;
    const who = { pk: user.pk, flags: user.flags };

    const groups: GroupEntry[] = [];
    for (const pk of user.groupPks) {
      const g = this.table.groups.get(pk);
      if (g && g.lockPks.has(lock.pk)) groups.push(g);
    }
    const offlineKey = lock.offlineTags.has(number);
    if (groups.length === 0 && !offlineKey) return deny('no_access', null, tagNumber, who);
    if (tag.flags & TAG_FLAG.lostOrStolen) return deny('blocked', 'tag_lost_or_stolen', tagNumber, who);
    if (tag.flags & TAG_FLAG.blocked) return deny('blocked', 'tag_blocked', tagNumber, who);
    if (user.flags & USER_FLAG.blocked) return deny('blocked', 'user_blocked', tagNumber, who);
    if (user.flags & USER_FLAG.suspended) return deny('suspended', null, tagNumber, who);
    if (user.validFrom !== null && t < user.validFrom) return deny('not_yet_valid', null, tagNumber, who);
    if (user.validUntil !== null && t >= user.validUntil) return deny('expired', null, tagNumber, who);
    if (door.privacy && !(user.flags & USER_FLAG.overridePrivacy)) return deny('privacy_mode', null, tagNumber, who);

    const grant = (reason: Grant['reason'], groupPk: number | null, schedulePk: number | null): Grant => ({
      granted: true,
      reason,
      groupPk,
      schedulePk,
      tagNumber,
      userPk: user.pk,
      userFlags: user.flags,
    });
    // Offline access ignores schedules (as in KS) and is the only way in while the link is down.
    if (door.offline) return offlineKey ? grant('offline', null, null) : deny('offline', null, tagNumber, who);

    let holiday = false;
    for (const g of groups) {
      if (g.schedules.length === 0) return grant('access', g.pk, null);
      const dayTypeOf = (g.calendarPk !== 0 && this.dayTypes.get(g.calendarPk)) || NO_CALENDAR;
      for (const s of g.schedules) {
        const v = verdictAt(this.zone, s, t, dayTypeOf);
        if (v === 'open') return grant('access', g.pk, s.pk);
        if (v === 'holiday') holiday = true;
      }
    }
    return deny(groups.length === 0 ? 'no_access' : holiday ? 'holiday' : 'outside_schedule', null, tagNumber, who);
  }

  private identify(cred: Credential): { number: number } | { cause: DenyCause; tagNumber: string | null } {
    if (cred.tagNumber !== undefined) {
      if (!/^\d{1,10}$/.test(cred.tagNumber)) return { cause: 'unreadable_tag_number', tagNumber: null };
      return { number: Number(cred.tagNumber) };
    }
    if (cred.uid) {
      // The registry lists numbers only: a UID the hub holds no tag record for cannot be told apart from
      // a card that is not registered at all.
      const n = this.table.tagsByUid.get(toHex(cred.uid).toUpperCase());
      return n === undefined ? { cause: 'uid_not_in_table', tagNumber: null } : { number: n };
    }
    return { cause: 'unreadable_tag_number', tagNumber: null };
  }

  // ── Easy Office Mode schedules (L records) ──────────────────────────────────────────────────────

  /** The EOM window of a lock containing `t` (clipped to the schedule's date bounds), or null. */
  eomWindowAt(lock: LockEntry, t: number): [number, number] | null {
    if (!lock.eom) return null;
    for (const w of this.eomWindows(lock, t - 1, t)) if (t >= w[0] && t < w[1]) return w;
    return null;
  }

  /**
   * Every EOM window of a lock that overlaps (after, upTo], in order, clipped to the date bounds, with
   * touching or overlapping windows merged. EOM has no calendar: weekdays only.
   */
  eomWindows(lock: LockEntry, after: number, upTo: number): Array<[number, number]> {
    const rule = lock.eom;
    if (!rule || upTo <= after) return [];
    const [from, until] = ruleBounds(this.zone, rule);
    const out: Array<[number, number]> = [];
    const firstDay = this.zone.localDay(after) - 2;
    const lastDay = this.zone.localDay(upTo) + 1;
    for (let d = firstDay; d <= lastDay; d++) {
      if (!(rule.mask & (1 << weekdayOf(d)))) continue;
      const [s0, e0] = windowOn(this.zone, rule, d);
      const s = Math.max(s0, from);
      const e = Math.min(e0, until);
      if (e <= s || e <= after || s > upTo) continue;
      const last = out[out.length - 1];
      if (last && s <= last[1]) last[1] = Math.max(last[1], e);
      else out.push([s, e]);
    }
    return out;
  }
}
