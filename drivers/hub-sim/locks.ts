// The virtual locks a hub runs. A lock is its own battery-powered device: its door, battery, radio
// link, privacy knob, alarms and lock state are its own and survive a reboot of the hub. What it does
// with a credential is the hub table's decision (taken for it while the radio is up; taken by the lock
// from its offline-access keys while it is down — this simulator gives both the same table data).
//
// Every behaviour returns the events it produced, in CLP's vocabulary; the hub files them in its ring,
// or in the lock's own outbox while the lock cannot reach the hub (delivered when the radio returns).
import type { EntryBody, EntryDetail, EventBody, IncidentBody, IncidentType } from './events.ts';
import type { Decision, DenyReason, Presented } from './evaluator.ts';
import { USER_FLAG } from './table.ts';

export type OfficeMode = 'none' | 'easy_office_mode' | 'manual_office_mode';
export type BatteryLevel = 'fresh' | 'low' | 'very_low';
export type LockedState = 'locked' | 'unlocked' | 'office_mode';

const BATTERY_RANK: Record<BatteryLevel, number> = { fresh: 0, low: 1, very_low: 2 };

export interface LockTimings {
  /** How long a granted opening keeps the lock released. */
  pulseMs: number;
  /** How long a door may stand open before `door_left_open` (SALTO KS: 30 s). */
  leftOpenMs: number;
}

/** What the hub lends a lock: decisions and the lock's EOM schedule, both from the active table. */
export interface LockContext {
  timings: LockTimings;
  decide(lock: VirtualLock, presented: Presented, at: number): Decision;
  /** Merged EOM windows overlapping (after, upTo]. */
  eomWindows(lock: VirtualLock, after: number, upTo: number): Array<[number, number]>;
  eomAutoStart(lock: VirtualLock): boolean;
}

export interface LockStatus {
  lock_id: string;
  locked_state: LockedState;
  office_mode: OfficeMode;
  privacy_mode: boolean;
  door_open: boolean;
  battery_level: BatteryLevel;
  /** Radio link to the hub (CLP `online`). */
  online: boolean;
  left_open_alarm: boolean;
  intrusion_alarm: boolean;
  tamper: boolean;
  /** Events the lock holds while it cannot reach the hub. */
  pending_events: number;
}

/** CLP has no entry detail for a hub that cannot decide: those refusals are filed as `no_access`. */
export function entryDetailOf(reason: DenyReason): EntryDetail {
  switch (reason) {
    case 'no_table':
    case 'outside_table_window':
    case 'lock_not_in_table':
    case 'tag_registration': // never filed as an entry (the lock reports a tag_presented); listed so the mapping is total
      return 'no_access';
    default:
      return reason;
  }
}

export class VirtualLock {
  doorOpen = false;
  openedAt: number | null = null;
  leftOpenReported = false;
  unlockedUntil = -Infinity;
  office: OfficeMode = 'none';
  /** Start of the EOM window whose auto-start was applied or overridden by a person: not auto-started again. */
  eomHandledWindow: number | null = null;
  privacy = false;
  battery: BatteryLevel = 'fresh';
  radio = true;
  tamper = false;
  intrusion = false;
  leftOpenAlarm = false;
  outbox: EventBody[] = [];

  constructor(readonly id: string) {}

  lockedState(at: number): LockedState {
    if (this.office !== 'none') return 'office_mode';
    return at < this.unlockedUntil ? 'unlocked' : 'locked';
  }

  status(at: number): LockStatus {
    return {
      lock_id: this.id,
      locked_state: this.lockedState(at),
      office_mode: this.office,
      privacy_mode: this.privacy,
      door_open: this.doorOpen,
      battery_level: this.battery,
      online: this.radio,
      left_open_alarm: this.leftOpenAlarm,
      intrusion_alarm: this.intrusion,
      tamper: this.tamper,
      pending_events: this.outbox.length,
    };
  }

  // ── Events ──────────────────────────────────────────────────────────────────────────────────────

  private entry(at: number, category: EntryBody['event_category'], detail: EntryDetail | null, fields: Partial<EntryBody> = {}): EntryBody {
    return {
      kind: 'entry',
      time: at,
      lock_id: this.id,
      event_category: category,
      event_detail: detail,
      access_by: null,
      tag_number: null,
      card_uid: null,
      actor_name: null,
      hub_reason: null,
      ...fields,
    };
  }

  private incident(at: number, type: IncidentType): IncidentBody {
    return { kind: 'incident', time: at, lock_id: this.id, incident_type: type };
  }

  // ── Behaviours ──────────────────────────────────────────────────────────────────────────────────

  /**
   * A credential at the reader. Every presentation is logged (also in office mode, where the door is
   * already open). A granted person with the right flag toggles an office mode instead of a plain
   * opening: Manual Office Mode with `hold` (held > 5 s / with the inside handle down, as KS locks
   * want it), Easy Office Mode by presenting inside the lock's EOM schedule.
   */
  present(ctx: LockContext, presented: Presented, at: number, hold: boolean): { decision: Decision; events: EventBody[] } {
    const d = ctx.decide(this, presented, at);
    const cred = { access_by: 'tag' as const, tag_number: d.tagNumber, card_uid: d.granted ? null : d.cardUid };
    const events: EventBody[] = [];
    if (d.granted) events.push(this.entry(at, 'lock_opened', d.reason === 'offline' ? 'offline' : null, cred));
    else {
      const detail = entryDetailOf(d.reason);
      events.push(this.entry(at, 'lock_rejected', detail, { ...cred, hub_reason: detail === d.reason ? d.cause : d.reason }));
      return { decision: d, events };
    }
    const eomWindow = this.eomWindowAt(ctx, at);
    if (hold && d.userFlags & USER_FLAG.toggleManualOfficeMode) {
      if (this.office === 'manual_office_mode') {
        this.office = 'none';
        this.unlockedUntil = -Infinity;
        events.push(this.entry(at, 'manual_office_mode', 'end', cred));
      } else {
        if (this.office === 'easy_office_mode') events.push(this.entry(at, 'easy_office_mode', 'end', cred));
        this.office = 'manual_office_mode';
        events.push(this.entry(at, 'manual_office_mode', 'start', cred));
      }
    } else if (d.userFlags & USER_FLAG.toggleEasyOfficeMode && this.office !== 'manual_office_mode' && eomWindow) {
      this.eomHandledWindow = eomWindow[0];
      if (this.office === 'easy_office_mode') {
        this.office = 'none';
        this.unlockedUntil = -Infinity;
        events.push(this.entry(at, 'easy_office_mode', 'end', cred));
      } else {
        this.office = 'easy_office_mode';
        events.push(this.entry(at, 'easy_office_mode', 'start', cred));
      }
    } else if (this.office === 'none') this.unlockedUntil = at + ctx.timings.pulseMs;
    return { decision: d, events };
  }

  private eomWindowAt(ctx: LockContext, at: number): [number, number] | null {
    for (const w of ctx.eomWindows(this, at - 1, at)) if (at >= w[0] && at < w[1]) return w;
    return null;
  }

  /** The door opens. From a locked door that is someone leaving with the inside handle (free egress). */
  openDoor(at: number): EventBody[] {
    if (this.doorOpen) return [];
    const locked = this.lockedState(at) === 'locked';
    this.doorOpen = true;
    this.openedAt = at;
    this.leftOpenReported = false;
    return locked ? [this.entry(at, 'lock_opened', 'inside_handle', { access_by: 'inside_handle' })] : [];
  }

  closeDoor(): EventBody[] {
    this.doorOpen = false;
    this.openedAt = null;
    this.leftOpenReported = false;
    this.leftOpenAlarm = false;
    this.intrusion = false;
    return [];
  }

  /** The door is pushed open while the lock holds it: an intrusion. On a released door it is just an opening. */
  forceDoor(at: number): EventBody[] {
    if (this.doorOpen) return [];
    if (this.lockedState(at) !== 'locked') return this.openDoor(at);
    this.doorOpen = true;
    this.openedAt = at;
    this.leftOpenReported = false;
    this.intrusion = true;
    return [this.incident(at, 'intrusion')];
  }

  tamperAlarm(at: number): EventBody[] {
    this.tamper = true;
    return [this.incident(at, 'tamper')];
  }

  clearTamper(): void {
    this.tamper = false;
  }

  /** Reports `low_battery` each time the level drops; a fresh battery reports nothing. */
  setBattery(level: BatteryLevel, at: number): EventBody[] {
    const worse = BATTERY_RANK[level] > BATTERY_RANK[this.battery];
    this.battery = level;
    return worse ? [this.incident(at, 'low_battery')] : [];
  }

  setPrivacy(on: boolean, at: number): EventBody[] {
    if (this.privacy === on) return [];
    this.privacy = on;
    return [this.entry(at, 'privacy_mode', on ? 'start' : 'end')];
  }

  loseRadio(at: number): EventBody[] {
    if (!this.radio) return [];
    this.radio = false;
    return [this.incident(at, 'lock_offline')];
  }

  /** The link is back: the hub notes it, then receives what the lock held meanwhile. */
  restoreRadio(at: number): { online: EventBody[]; held: EventBody[] } {
    if (this.radio) return { online: [], held: [] };
    this.radio = true;
    const held = this.outbox;
    this.outbox = [];
    return { online: [this.incident(at, 'lock_online')], held };
  }

  /**
   * A card at the reader while the lock is in tag registration mode: reported to the hub for enrolment,
   * not decided. The door stays as it is (no release, no office-mode toggle) and no entry is logged.
   */
  registerTag(at: number, card: { card_uid: string; tag_number: string | null }): EventBody[] {
    return [{ kind: 'tag_presented', time: at, lock_id: this.id, card_uid: card.card_uid, tag_number: card.tag_number }];
  }

  /** `throughPrivacy`: CLP's override of privacy mode, logged with detail `privacy_mode`. */
  remoteOpen(at: number, pulseMs: number, actor: string | null, throughPrivacy = false): EventBody[] {
    if (this.office === 'none') this.unlockedUntil = at + pulseMs;
    return [this.entry(at, 'lock_opened', throughPrivacy ? 'privacy_mode' : null, { access_by: 'remote', actor_name: actor })];
  }

  /** Manual Office Mode by an operator's command; setting what is already set logs nothing. */
  setManualOfficeMode(on: boolean, at: number, actor: string | null): EventBody[] {
    const remote = { access_by: 'remote' as const, actor_name: actor };
    if (on === (this.office === 'manual_office_mode')) return [];
    if (!on) {
      this.office = 'none';
      this.unlockedUntil = -Infinity;
      return [this.entry(at, 'manual_office_mode', 'end', remote)];
    }
    const out: EventBody[] = this.office === 'easy_office_mode' ? [this.entry(at, 'easy_office_mode', 'end', remote)] : [];
    this.office = 'manual_office_mode';
    return [...out, this.entry(at, 'manual_office_mode', 'start', remote)];
  }

  /**
   * Time passes over (from, to]: the door-left-open alarm fires once per opening, Easy Office Mode
   * starts at the beginning of a window when the schedule says auto-start, and any EOM ends with its
   * window (the lock locks itself).
   */
  advance(ctx: LockContext, from: number, to: number): EventBody[] {
    const out: EventBody[] = [];
    if (this.doorOpen && !this.leftOpenReported && this.openedAt !== null && this.openedAt + ctx.timings.leftOpenMs <= to) {
      this.leftOpenReported = true;
      this.leftOpenAlarm = true;
      out.push(this.incident(this.openedAt + ctx.timings.leftOpenMs, 'door_left_open'));
    }
    const autoStart = ctx.eomAutoStart(this);
    const windows = ctx.eomWindows(this, from, to);
    // An EOM begun at an instant before `from` (a caller going back in time) whose window is over.
    if (this.office === 'easy_office_mode' && !(windows[0] && windows[0][0] <= from)) {
      this.office = 'none';
      this.unlockedUntil = -Infinity;
      out.push(this.entry(from, 'easy_office_mode', 'end'));
    }
    for (const [s, e] of windows) {
      if (s > from && autoStart && this.office === 'none' && this.eomHandledWindow !== s) {
        this.eomHandledWindow = s;
        this.office = 'easy_office_mode';
        out.push(this.entry(s, 'easy_office_mode', 'start'));
      }
      if (this.office === 'easy_office_mode' && e <= to) {
        this.office = 'none';
        this.unlockedUntil = -Infinity;
        out.push(this.entry(e, 'easy_office_mode', 'end'));
      }
    }
    return out;
  }

  /**
   * After the schedule may have changed (a new table, a boot): end an EOM that no longer has a window
   * now, and auto-start one whose window is open now and was not yet handled.
   */
  syncOfficeMode(ctx: LockContext, at: number): EventBody[] {
    const w = this.eomWindowAt(ctx, at);
    if (this.office === 'easy_office_mode' && !w) {
      this.office = 'none';
      this.unlockedUntil = -Infinity;
      return [this.entry(at, 'easy_office_mode', 'end')];
    }
    if (w && this.office === 'none' && ctx.eomAutoStart(this) && this.eomHandledWindow !== w[0]) {
      this.eomHandledWindow = w[0];
      this.office = 'easy_office_mode';
      return [this.entry(at, 'easy_office_mode', 'start')];
    }
    return [];
  }
}
