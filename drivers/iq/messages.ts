// The IQ protocol's messages as values. Field names are the wire names of docs/iq-protocol.md
// (snake_case, like CLP's), so a decode error's field path reads the same in a log and in the doc.
import type {
  AccessBy,
  ActivationOutcome,
  BatteryLevel,
  ErrorCode,
  EventCategory,
  EventDetail,
  FtKind,
  HubIncidentType,
  LockState,
  OfficeMode,
  StagedType,
} from './codes.ts';

/** A UTC offset change, as in the access table's header: from `instant_s` on, local = UTC + offset_min. */
export interface Transition {
  /** Signed epoch seconds. */
  instant_s: number;
  /** Signed minutes, within ±18 h. */
  offset_min: number;
}

/** A table version as the hub enforces it; null on the wire is version 0 with a zero hash. */
export interface TableVersion {
  version: number;
  /** 32-byte content hash (docs/access-table.md). */
  hash: Uint8Array;
}

/** The site card key a hub holds, as it reports it: never the key itself. Null on the wire is generation 0 with a zero fingerprint. */
export interface SiteKeyHeld {
  /** The core's generation number of the key: a label, like a table's version (the fingerprint is the identity). */
  generation: number;
  /** 8 bytes: the first 8 of SHA-256("gatehouse/site-key/" ‖ key) (site-key.ts). */
  fingerprint: Uint8Array;
}

// ── Commands (host → hub, in osdp_MFG) ────────────────────────────────────────────────────────────

export interface LockCommandFields {
  lock_index: number;
  /** Who asked, for the audit trail: the hub copies it into the resulting entry's `actor`. */
  operator_ref: string;
  /** 16 random bytes, new per operator action: the hub carries out each reference at most once. */
  confirmation: Uint8Array;
}

export type IqCommand =
  | { type: 'get_status'; first_lock_index: number }
  | {
      type: 'set_time';
      utc_ms: number;
      zone: string;
      valid_from_ms: number;
      valid_until_ms: number;
      initial_offset_min: number;
      transitions: Transition[];
    }
  | { type: 'list_locks'; first_lock_index: number }
  | { type: 'pair_lock'; address: Uint8Array; serial: string; lock_id: string }
  | { type: 'unpair_lock'; lock_index: number; lock_id: string }
  | { type: 'file_status' }
  | { type: 'activate_table'; ft_type: FtKind; version: number; hash: Uint8Array }
  | { type: 'fetch_events'; epoch: number; after_id: number; max_events: number }
  | { type: 'ack_events'; epoch: number; through_id: number }
  | ({ type: 'remote_open' | 'privacy_override' } & LockCommandFields)
  | ({ type: 'manual_office_mode' | 'easy_office_mode'; on: boolean } & LockCommandFields)
  | { type: 'tag_registration'; lock_index: number; timeout_s: number }
  | { type: 'reset_challenge' }
  | { type: 'factory_reset'; nonce: Uint8Array; serial: string }
  | { type: 'site_key_status' }
  /** Only inside a secure channel under the hub's own key: `key` is the site's card key in the clear. */
  | { type: 'set_site_key'; generation: number; site_id: string; key: Uint8Array };

// ── Replies (hub → host, in osdp_MFGREP) ──────────────────────────────────────────────────────────

export interface LockStatus {
  lock_index: number;
  online: boolean;
  left_open: boolean;
  intrusion: boolean;
  tamper: boolean;
  privacy_mode: boolean;
  tag_registration: boolean;
  battery: BatteryLevel;
  lock_state: LockState;
  office_mode: OfficeMode;
}

export interface PairedLock {
  lock_index: number;
  /** EUI-48 or EUI-64 radio address. */
  address: Uint8Array;
  /** Empty when the lock did not report one. */
  serial: string;
  /** The core's lock id, as given at pairing. */
  lock_id: string;
}

interface EventBase {
  /** Durable event id: consecutive within a ring epoch, never reused. */
  id: number;
  /** Hub clock, epoch ms. */
  time_ms: number;
  /** False when the hub's clock had not been set since power-up: the time is then meaningless. */
  clock_valid: boolean;
  lock_index: number;
}

export type HubEvent =
  | (EventBase & {
      kind: 'entry';
      event_category: EventCategory;
      event_detail: EventDetail | null;
      access_by: AccessBy | null;
      /** Ten digits. */
      tag_number: string | null;
      card_uid: Uint8Array | null;
      /** The operator_ref of the remote command that caused this entry. */
      actor: string | null;
    })
  | (EventBase & { kind: 'incident'; incident_type: HubIncidentType })
  | (EventBase & { kind: 'tag_presented'; card_uid: Uint8Array; tag_number: string | null });

export interface LockCommandResult {
  lock_index: number;
  confirmation: Uint8Array;
  /** True when this confirmation reference had already been carried out: nothing was done again. */
  replayed: boolean;
  lock_state: LockState;
  office_mode: OfficeMode;
}

export interface RingState {
  /** Identity of the hub's event ring; a new one whenever the ring is wiped (factory reset, replaced storage). */
  epoch: number;
  /** Oldest event still stored (newest_id + 1 when none is). */
  oldest_id: number;
  /** Newest id assigned; 0 before the first event. */
  newest_id: number;
  /** Everything up to here is acknowledged. */
  acked_id: number;
}

export type IqReply =
  | ({
      type: 'status';
      firmware: string;
      serial: string;
      mac: Uint8Array;
      signal_dbm: number | null;
      uptime_s: number;
      clock_valid: boolean;
      utc_ms: number;
      table: TableVersion | null;
      lock_total: number;
      /** 0 = this page is the last. */
      next_lock_index: number;
      locks: LockStatus[];
    } & RingState)
  | { type: 'time_set'; previous_clock_valid: boolean; previous_utc_ms: number }
  | { type: 'lock_list'; lock_total: number; next_lock_index: number; locks: PairedLock[] }
  | { type: 'lock_paired'; already_paired: boolean; lock: PairedLock }
  | { type: 'lock_unpaired'; lock_index: number }
  | { type: 'file_state'; ft_type: StagedType; total_size: number; received: number; prefix_sha256: Uint8Array; max_file_size: number }
  | { type: 'activation'; outcome: ActivationOutcome; table: TableVersion | null }
  | ({ type: 'events'; events: HubEvent[] } & RingState)
  | { type: 'events_acked'; epoch: number; acked_id: number; oldest_id: number }
  | ({ type: 'remote_opened' | 'privacy_overridden' | 'manual_office_mode_set' | 'easy_office_mode_set' } & LockCommandResult)
  | { type: 'tag_registration_set'; lock_index: number; remaining_s: number }
  | { type: 'reset_nonce'; nonce: Uint8Array; valid_s: number }
  | { type: 'factory_reset_done' }
  | { type: 'site_key_state'; site_key: SiteKeyHeld | null }
  | { type: 'site_key_set'; site_key: SiteKeyHeld }
  | { type: 'events_pending'; epoch: number; newest_id: number }
  | {
      type: 'error';
      /** The header's version byte: ERROR's layout is the same in every version (docs/iq-protocol.md, Versions). */
      version: number;
      /** The subcommand code that failed, as received (possibly one the hub does not know). */
      command: number;
      error: ErrorCode;
      /** 1-based field position for bad_field (COMMAND_FIELDS), else 0. */
      field: number;
      min_version: number;
      max_version: number;
      /** Code-specific number (ERROR_VALUE_MEANING), else 0. */
      value: number;
      /** For logs; may be empty. */
      message: string;
    };

export type CommandOf<T extends IqCommand['type']> = Extract<IqCommand, { type: T }>;
export type ReplyOf<T extends IqReply['type']> = Extract<IqReply, { type: T }>;
