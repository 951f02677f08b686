// Hub values in the shapes the core takes. drivers/ may not import core/, so the shapes mirror
// core/devices/ports.ts and what core/audit/ingest.ts (validateEntries / validateIncidents) accepts,
// field for field; a composition root hands them over unchanged.
import type { AccessBy, EventCategory, EventDetail, HubIncidentType } from '../codes.ts';
import type { HubEvent } from '../messages.ts';

/** An entry for `entries.ingest`. */
export interface IqEntry {
  event_id: string;
  /** ISO-8601 UTC. */
  time: string;
  event_category: EventCategory;
  event_detail: EventDetail | null;
  access_by: AccessBy | null;
  lock_id: string;
  tag_number: string | null;
  /** The operator behind a remote command, as the hub copied it from `operator_ref`. */
  actor_name: string | null;
}

/** An incident for `entries.ingest`. */
export interface IqIncident {
  event_id: string;
  time: string;
  incident_type: HubIncidentType;
  lock_id: string;
}

/**
 * A tag shown to a lock in registration mode. The core's ingest has no place for it (it is not an
 * access event), so it travels beside the entries for whoever runs the registration.
 */
export interface IqTagPresented {
  event_id: string;
  time: string;
  lock_id: string;
  /** Upper-case hex. */
  card_uid: string;
  tag_number: string | null;
}

/**
 * The durable key of a hub event: the ring epoch as 8 hex digits, a colon, the id
 * (docs/iq-protocol.md, "Event ids, the ring, and the epoch"). The epoch keeps a reset hub's new
 * event 1 from passing for a duplicate of the old one.
 */
export function eventId(epoch: number, id: number): string {
  return `${epochHex(epoch)}:${id}`;
}

export function epochHex(epoch: number): string {
  return epoch.toString(16).padStart(8, '0');
}

/**
 * Radio signal as the core's 0–5 bars (CLP `signal_strength` has no unit). The steps are the usual
 * ones for sub-GHz and 2.4 GHz links: −60 dBm or better is full, each 10 dB less is one bar less,
 * below −100 dBm is none. null (a wired hub) stays null.
 */
export function signalBars(dbm: number | null): number | null {
  if (dbm === null) return null;
  return Math.max(0, Math.min(5, Math.floor((dbm + 110) / 10)));
}

/** "00-14-22-01-23-45", as printed on a hub and stored in `iqs.mac`. */
export function formatAddress(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('-');
}

/** A radio address or MAC written with `-`, `:` or nothing between the bytes; null when it is not hex. */
export function parseAddress(text: string): Uint8Array | null {
  const hex = text.trim().replace(/[-:]/g, '');
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) return null;
  return Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** 32 bytes from the core's 64-hex-digit hash; null when it is not one. */
export function hashBytes(hex: string): Uint8Array | null {
  return /^[0-9a-fA-F]{64}$/.test(hex) ? new Uint8Array(Buffer.from(hex, 'hex')) : null;
}

/** The last instant toISOString writes as a four-digit year, the only form the core's ingest reads. */
const LAST_ISO_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * When the event happened, as the core reads it. A hub whose clock was not set since power-up stamps
 * meaningless times; those events are filed at the time we received them, the best we know.
 */
export function eventTime(event: HubEvent, receivedMs: number): string {
  const ms = event.clock_valid && event.time_ms <= LAST_ISO_MS ? event.time_ms : receivedMs;
  return new Date(ms).toISOString();
}

export interface IngestShapes {
  entries: IqEntry[];
  incidents: IqIncident[];
  tags_presented: IqTagPresented[];
}

/** One fetched batch in the core's shapes; `lockIdOf` knows every lock index in the batch. */
export function toIngest(events: readonly HubEvent[], epoch: number, lockIdOf: (index: number) => string, receivedMs: number): IngestShapes {
  const out: IngestShapes = { entries: [], incidents: [], tags_presented: [] };
  for (const e of events) {
    const base = { event_id: eventId(epoch, e.id), time: eventTime(e, receivedMs), lock_id: lockIdOf(e.lock_index) };
    switch (e.kind) {
      case 'entry':
        out.entries.push({
          event_id: base.event_id,
          time: base.time,
          event_category: e.event_category,
          event_detail: e.event_detail,
          access_by: e.access_by,
          lock_id: base.lock_id,
          tag_number: e.tag_number,
          actor_name: e.actor,
        });
        break;
      case 'incident':
        out.incidents.push({ ...base, incident_type: e.incident_type });
        break;
      case 'tag_presented':
        out.tags_presented.push({ ...base, card_uid: toHex(e.card_uid).toUpperCase(), tag_number: e.tag_number });
        break;
    }
  }
  return out;
}
