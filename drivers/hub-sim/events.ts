// What the hub records for the PC: entries and incidents in CLP's vocabulary (the fields of the core's
// `entries.ingest`, minus what only the core knows, such as names and site-user ids), the cards shown
// to a lock in tag registration mode, and the marker the ring leaves where it had to overwrite events
// nobody had acknowledged.
//
// The ring's policy when it is full: overwrite the OLDEST unacknowledged event and account for it in a
// loss marker that names the exact range of ids lost and their time span. Access control keeps working
// and the newest events (the intrusion happening now) are kept, which is what a door controller is for;
// the loss is never silent because the marker is delivered in id order ahead of what survived, and the
// ids of the lost events are never reused.

export type EntryCategory = 'lock_opened' | 'lock_rejected' | 'easy_office_mode' | 'manual_office_mode' | 'privacy_mode';

export type EntryDetail =
  | 'offline'
  | 'inside_handle'
  | 'no_access'
  | 'blocked'
  | 'suspended'
  | 'expired'
  | 'not_yet_valid'
  | 'outside_schedule'
  | 'holiday'
  | 'privacy_mode'
  | 'unknown_tag'
  | 'start'
  | 'end'
  /** A card whose UID is a tag's but whose credential sector is not genuine (docs/credentials.md): Gatehouse's, not CLP's. */
  | 'invalid_credential';

export type AccessBy = 'tag' | 'remote' | 'inside_handle';

export type IncidentType = 'door_left_open' | 'intrusion' | 'tamper' | 'low_battery' | 'lock_offline' | 'lock_online';

export interface EntryBody {
  kind: 'entry';
  /** Epoch ms by the hub's clock (the lock's, for events a lock held while its radio was down). */
  time: number;
  lock_id: string;
  event_category: EntryCategory;
  event_detail: EntryDetail | null;
  access_by: AccessBy | null;
  /** 10-digit tag number, when the credential could be read as one. */
  tag_number: string | null;
  /** Upper-case hex UID, when the card was presented by UID. */
  card_uid: string | null;
  /** Who opened remotely, when no tag did. */
  actor_name: string | null;
  /**
   * The hub's own reason when it is finer than CLP's event_detail: `no_table`,
   * `outside_table_window`, `lock_not_in_table` (all filed as `no_access`), or the cause behind
   * `blocked`/`unknown_tag` (`tag_lost_or_stolen`, `uid_mismatch`, …).
   */
  hub_reason: string | null;
}

export interface IncidentBody {
  kind: 'incident';
  time: number;
  lock_id: string | null;
  incident_type: IncidentType;
}

/**
 * A card shown to a lock in tag registration mode (docs/iq-protocol.md, TAG_REGISTRATION): not an
 * access attempt, so no entry; the PC learns the card to enrol it.
 */
export interface TagPresentedBody {
  kind: 'tag_presented';
  time: number;
  lock_id: string;
  /** Upper-case hex UID of 4, 7 or 10 bytes, as the reader got it. */
  card_uid: string;
  /** 10-digit tag number, when the card carries one the lock can read. */
  tag_number: string | null;
}

export type EventBody = EntryBody | IncidentBody | TagPresentedBody;

export interface LossMarker {
  kind: 'events_lost';
  /** Ids first_id…last_id (inclusive, contiguous) were overwritten before they were acknowledged. */
  first_id: number;
  last_id: number;
  count: number;
  /** Time span of the lost events, as far as the hub knows it. */
  from_time: number;
  until_time: number;
  time: number;
}

/** An event as delivered: entries, incidents and presented tags carry their own id; a loss marker carries the last lost id. */
export type HubEvent = (EventBody | LossMarker) & { id: number };

export type StoredEvent = EventBody & { id: number };

export interface RingSnapshot {
  nextId: number;
  ackedUpTo: number;
  events: StoredEvent[];
  lost: { firstId: number; lastId: number; fromTime: number; untilTime: number } | null;
}

export type AckOutcome =
  | { ok: true; ackedUpTo: number; freed: number }
  | { ok: false; error: 'ack_beyond_head'; message: string; lastId: number }
  | { ok: false; error: 'epoch_mismatch'; message: string; epoch: number; lastId: number };

/** The ring's logic, without persistence (flash.ts logs every change before applying it here). */
export class EventRing {
  private events: StoredEvent[] = [];
  private head = 0;
  nextId = 1;
  ackedUpTo = 0;
  lost: RingSnapshot['lost'] = null;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, not ${capacity}`);
  }

  static from(snapshot: RingSnapshot, capacity: number): EventRing {
    const ring = new EventRing(capacity);
    ring.ackedUpTo = snapshot.ackedUpTo;
    ring.lost = snapshot.lost && { ...snapshot.lost };
    for (const e of snapshot.events) if (e.id > ring.ackedUpTo) ring.push(e);
    ring.nextId = Math.max(ring.nextId, snapshot.nextId, ring.ackedUpTo + 1);
    return ring;
  }

  get size(): number {
    return this.events.length - this.head;
  }

  oldestStoredId(): number | null {
    return this.size ? this.events[this.head]!.id : null;
  }

  snapshot(): RingSnapshot {
    return { nextId: this.nextId, ackedUpTo: this.ackedUpTo, events: this.live(), lost: this.lost && { ...this.lost } };
  }

  private live(): StoredEvent[] {
    return this.events.slice(this.head);
  }

  /** Stores an event under the id it was given (`nextId` when appended live, the logged id on replay). */
  push(e: StoredEvent): void {
    // Replaying the log after a compaction meets events the snapshot already holds.
    if (e.id < this.nextId) return;
    this.events.push(e);
    this.nextId = Math.max(this.nextId, e.id + 1);
    while (this.size > this.capacity) this.overwriteOldest();
  }

  private overwriteOldest(): void {
    const victim = this.events[this.head++]!;
    if (this.lost) {
      this.lost.lastId = victim.id;
      this.lost.fromTime = Math.min(this.lost.fromTime, victim.time);
      this.lost.untilTime = Math.max(this.lost.untilTime, victim.time);
    } else this.lost = { firstId: victim.id, lastId: victim.id, fromTime: victim.time, untilTime: victim.time };
    // Compact the backing array now and then rather than shifting it on every overwrite.
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  /** Cumulative: frees every event with id ≤ upTo. Acknowledging what was never issued is refused. */
  checkAck(upTo: number): AckOutcome | null {
    if (!Number.isSafeInteger(upTo) || upTo < 0) return { ok: false, error: 'ack_beyond_head', message: `ack ${upTo} is not an event id`, lastId: this.nextId - 1 };
    if (upTo > this.nextId - 1)
      return { ok: false, error: 'ack_beyond_head', message: `ack ${upTo} is beyond the last event issued (${this.nextId - 1})`, lastId: this.nextId - 1 };
    return null;
  }

  ack(upTo: number): number {
    if (upTo <= this.ackedUpTo) return 0;
    let freed = 0;
    while (this.size && this.events[this.head]!.id <= upTo) {
      this.head++;
      freed++;
    }
    if (this.lost) {
      if (upTo >= this.lost.lastId) this.lost = null;
      else if (upTo >= this.lost.firstId) this.lost.firstId = upTo + 1;
    }
    this.ackedUpTo = upTo;
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
    return freed;
  }

  /** Unacknowledged events with id > after, in id order, the loss marker first when it applies. */
  since(after: number, limit = Infinity): HubEvent[] {
    const out: HubEvent[] = [];
    const l = this.lost;
    if (l && l.lastId > after) {
      const first = Math.max(l.firstId, after + 1);
      out.push({ kind: 'events_lost', id: l.lastId, first_id: first, last_id: l.lastId, count: l.lastId - first + 1, from_time: l.fromTime, until_time: l.untilTime, time: l.untilTime });
    }
    // Binary search for the first stored id > after.
    let lo = this.head;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid]!.id <= after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.events.length && out.length < limit; i++) out.push({ ...this.events[i]! });
    return out.slice(0, limit);
  }
}
