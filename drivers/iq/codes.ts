// Every number the IQ protocol puts on the wire, in one place. docs/iq-protocol.md has the same
// tables in prose; drivers/iq/golden.test.ts checks the two agree on the worked examples.
//
// The audit vocabularies mirror core/domain/audit.ts (drivers may not import core/). The strings are
// the core's own, so a composition root can hand them to `entries.ingest` unchanged; codes.test.ts
// compares the lists with the core's to catch a vocabulary added on one side only.
import { wireTable } from './wire.ts';

/**
 * OSDP puts a 3-byte vendor code (an IEEE OUI or CID) before manufacturer data. Gatehouse has no
 * registration, so this is a placeholder: 02-47-48 is "GH" with the locally administered bit set in
 * the first octet, a value IEEE never assigns as an OUI or CID, so it cannot be a real vendor's.
 * Replace it with a registered OUI/CID before a hub leaves the lab; nothing else depends on the value.
 */
export const VENDOR_CODE: readonly [number, number, number] = [0x02, 0x47, 0x48];

/** Version of this MFG protocol; the byte after the vendor code. */
export const PROTOCOL_VERSION = 1;
/** Versions this codec can read and write. */
export const SUPPORTED_VERSIONS = { min: 1, max: 1 } as const;

/** OSDP command and reply codes this protocol rides on (OSDP v2.2; drivers/osdp owns the framing). */
export const OSDP = {
  MFG: 0x80,
  MFGREP: 0x90,
  FILETRANSFER: 0x7c,
  FTSTAT: 0x7a,
} as const;

// ── MFG subcommands ───────────────────────────────────────────────────────────────────────────────
// A successful reply carries the code of the command it answers; 0x40 and 0x7F are reply-only.

export const COMMANDS = wireTable([
  [0x01, 'get_status'],
  [0x02, 'set_time'],
  [0x03, 'list_locks'],
  [0x04, 'pair_lock'],
  [0x05, 'unpair_lock'],
  [0x06, 'file_status'],
  [0x07, 'activate_table'],
  [0x08, 'fetch_events'],
  [0x09, 'ack_events'],
  [0x0a, 'remote_open'],
  [0x0b, 'privacy_override'],
  [0x0c, 'manual_office_mode'],
  [0x0d, 'easy_office_mode'],
  [0x0e, 'tag_registration'],
  [0x0f, 'reset_challenge'],
  [0x10, 'factory_reset'],
  [0x11, 'site_key_status'],
  [0x12, 'set_site_key'],
] as const);
export type CommandType = (typeof COMMANDS.names)[number];

export const REPLIES = wireTable([
  [0x01, 'status'],
  [0x02, 'time_set'],
  [0x03, 'lock_list'],
  [0x04, 'lock_paired'],
  [0x05, 'lock_unpaired'],
  [0x06, 'file_state'],
  [0x07, 'activation'],
  [0x08, 'events'],
  [0x09, 'events_acked'],
  [0x0a, 'remote_opened'],
  [0x0b, 'privacy_overridden'],
  [0x0c, 'manual_office_mode_set'],
  [0x0d, 'easy_office_mode_set'],
  [0x0e, 'tag_registration_set'],
  [0x0f, 'reset_nonce'],
  [0x10, 'factory_reset_done'],
  [0x11, 'site_key_state'],
  [0x12, 'site_key_set'],
  [0x40, 'events_pending'],
  [0x7f, 'error'],
] as const);
export type ReplyType = (typeof REPLIES.names)[number];

/**
 * Body fields in wire order. An ERROR reply's `field` byte is the 1-based position in this list, and a
 * decode error's `field` path starts with one of these names (or vendor/version/code for the header).
 */
export const COMMAND_FIELDS: Record<CommandType, readonly string[]> = {
  get_status: ['first_lock_index'],
  set_time: ['utc_ms', 'zone', 'valid_from_ms', 'valid_until_ms', 'initial_offset_min', 'transitions'],
  list_locks: ['first_lock_index'],
  pair_lock: ['address', 'serial', 'lock_id'],
  unpair_lock: ['lock_index', 'lock_id'],
  file_status: [],
  activate_table: ['ft_type', 'version', 'hash'],
  fetch_events: ['epoch', 'after_id', 'max_events'],
  ack_events: ['epoch', 'through_id'],
  remote_open: ['lock_index', 'operator_ref', 'confirmation'],
  privacy_override: ['lock_index', 'operator_ref', 'confirmation'],
  manual_office_mode: ['lock_index', 'on', 'operator_ref', 'confirmation'],
  easy_office_mode: ['lock_index', 'on', 'operator_ref', 'confirmation'],
  tag_registration: ['lock_index', 'timeout_s'],
  reset_challenge: [],
  factory_reset: ['nonce', 'serial'],
  site_key_status: [],
  set_site_key: ['generation', 'site_id', 'key'],
};

export const REPLY_FIELDS: Record<ReplyType, readonly string[]> = {
  status: [
    'firmware', 'serial', 'mac', 'signal_dbm', 'uptime_s', 'clock_valid', 'utc_ms', 'table_version', 'table_hash',
    'epoch', 'oldest_id', 'newest_id', 'acked_id', 'lock_total', 'next_lock_index', 'locks',
  ],
  time_set: ['previous_clock_valid', 'previous_utc_ms'],
  lock_list: ['lock_total', 'next_lock_index', 'locks'],
  lock_paired: ['already_paired', 'lock'],
  lock_unpaired: ['lock_index'],
  file_state: ['ft_type', 'total_size', 'received', 'prefix_sha256', 'max_file_size'],
  activation: ['outcome', 'table_version', 'table_hash'],
  events: ['epoch', 'oldest_id', 'newest_id', 'acked_id', 'first_id', 'events'],
  events_acked: ['epoch', 'acked_id', 'oldest_id'],
  remote_opened: ['lock_index', 'confirmation', 'replayed', 'lock_state', 'office_mode'],
  privacy_overridden: ['lock_index', 'confirmation', 'replayed', 'lock_state', 'office_mode'],
  manual_office_mode_set: ['lock_index', 'confirmation', 'replayed', 'lock_state', 'office_mode'],
  easy_office_mode_set: ['lock_index', 'confirmation', 'replayed', 'lock_state', 'office_mode'],
  tag_registration_set: ['lock_index', 'remaining_s'],
  reset_nonce: ['nonce', 'valid_s'],
  factory_reset_done: [],
  site_key_state: ['generation', 'fingerprint'],
  site_key_set: ['generation', 'fingerprint'],
  events_pending: ['epoch', 'newest_id'],
  error: ['command', 'error', 'field', 'min_version', 'max_version', 'value', 'message'],
};

// ── Error replies ─────────────────────────────────────────────────────────────────────────────────

export const ERROR_CODES = wireTable([
  [0x01, 'unknown_command'],
  [0x02, 'bad_length'],
  [0x03, 'bad_field'],
  [0x04, 'unsupported_version'],
  [0x05, 'busy'],
  [0x06, 'not_paired'],
  [0x07, 'lock_offline'],
  [0x08, 'already_paired'],
  [0x09, 'lock_table_full'],
  [0x0a, 'epoch_mismatch'],
  [0x0b, 'privacy_mode'],
  [0x0c, 'outside_schedule'],
  [0x0d, 'unacked_events'],
  [0x0e, 'bad_nonce'],
  [0x0f, 'clock_not_set'],
  [0x10, 'storage_error'],
  [0x11, 'internal_error'],
] as const);
export type ErrorCode = (typeof ERROR_CODES.names)[number];

/** Error codes whose `value` means something (all others carry 0). */
export const ERROR_VALUE_MEANING: Partial<Record<ErrorCode, string>> = {
  busy: 'retry after this many milliseconds',
  already_paired: 'the lock index the address is paired as',
  epoch_mismatch: "the hub's current ring epoch",
  unacked_events: 'the newest unacknowledged event id of that lock',
};

// ── Events ────────────────────────────────────────────────────────────────────────────────────────

export const EVENT_KINDS = wireTable([
  [0x01, 'entry'],
  [0x02, 'incident'],
  [0x03, 'tag_presented'],
] as const);
export type EventKind = (typeof EVENT_KINDS.names)[number];

/** CLP entry event_category (core/domain/audit.ts ENTRY_CATEGORIES). */
export const EVENT_CATEGORIES = wireTable([
  [1, 'lock_opened'],
  [2, 'lock_rejected'],
  [3, 'easy_office_mode'],
  [4, 'manual_office_mode'],
  [5, 'privacy_mode'],
] as const);
export type EventCategory = (typeof EVENT_CATEGORIES.names)[number];

/** CLP entry event_detail (core/domain/audit.ts ENTRY_DETAILS); 0 on the wire is "none". */
export const EVENT_DETAILS = wireTable([
  [1, 'offline'],
  [2, 'inside_handle'],
  [3, 'request_to_exit'],
  [4, 'no_access'],
  [5, 'blocked'],
  [6, 'suspended'],
  [7, 'expired'],
  [8, 'not_yet_valid'],
  [9, 'outside_schedule'],
  [10, 'holiday'],
  [11, 'privacy_mode'],
  [12, 'unknown_tag'],
  [13, 'low_batteries'],
  [14, 'start'],
  [15, 'end'],
  // Gatehouse's own: a card whose credential sector is not genuine. Only a hub given a site key checks
  // credentials, and only a host that knows this code gives it one (SET_SITE_KEY).
  [16, 'invalid_credential'],
] as const);
export type EventDetail = (typeof EVENT_DETAILS.names)[number];

/** CLP access_by (core/domain/audit.ts ACCESS_BY); 0 on the wire is "none". */
export const ACCESS_BY = wireTable([
  [1, 'tag'],
  [2, 'remote'],
  [3, 'pin'],
  [4, 'master_key'],
  [5, 'inside_handle'],
  [6, 'mobile_key'],
] as const);
export type AccessBy = (typeof ACCESS_BY.names)[number];

/**
 * CLP incident types a hub can see. iq_offline / iq_online are absent on purpose: a hub cannot report
 * its own absence, so the host derives them from the link.
 */
export const INCIDENT_TYPES = wireTable([
  [1, 'door_left_open'],
  [2, 'intrusion'],
  [3, 'tamper'],
  [4, 'low_battery'],
  [5, 'lock_offline'],
  [6, 'lock_online'],
] as const);
export type HubIncidentType = (typeof INCIDENT_TYPES.names)[number];

// ── Lock state ────────────────────────────────────────────────────────────────────────────────────

export const BATTERY_LEVELS = wireTable([
  [1, 'fresh'],
  [2, 'low'],
  [3, 'very_low'],
  [4, 'unknown'],
] as const);
export type BatteryLevel = (typeof BATTERY_LEVELS.names)[number];

/**
 * The bolt, without office mode: CLP's locked_state `office_mode` is derived by the host from
 * `office_mode`, so the wire cannot say "office_mode" and "none" at once.
 */
export const LOCK_STATES = wireTable([
  [1, 'locked'],
  [2, 'unlocked'],
  [3, 'uncertain'],
] as const);
export type LockState = (typeof LOCK_STATES.names)[number];

export const OFFICE_MODES = wireTable([
  [0, 'none'],
  [1, 'easy_office_mode'],
  [2, 'manual_office_mode'],
] as const);
export type OfficeMode = (typeof OFFICE_MODES.names)[number];

/** Bits of a lock's flags byte in STATUS. Bits 6–7 are reserved and must be 0. */
export const LOCK_FLAGS = {
  online: 0x01,
  left_open: 0x02,
  intrusion: 0x04,
  tamper: 0x08,
  privacy_mode: 0x10,
  tag_registration: 0x20,
} as const;

/** Bits of an event's flags byte. Bits 1–7 are reserved and must be 0. */
export const EVENT_FLAGS = { clock_valid: 0x01 } as const;

// ── Access tables ─────────────────────────────────────────────────────────────────────────────────

/** FILETRANSFER FtType values, from OSDP's private-use range 128–255. */
export const FT_TYPES = wireTable([
  [0x80, 'table'],
  [0x81, 'diff'],
] as const);
export type FtKind = (typeof FT_TYPES.names)[number];

/** What a FILE_STATUS reply says is staged: FT_TYPES plus 0 for nothing. */
export const STAGED_TYPES = wireTable([
  [0x00, 'none'],
  [0x80, 'table'],
  [0x81, 'diff'],
] as const);
export type StagedType = (typeof STAGED_TYPES.names)[number];

export const ACTIVATION_OUTCOMES = wireTable([
  [0, 'activated'],
  [1, 'already_active'],
  [2, 'no_file'],
  [3, 'incomplete'],
  [4, 'hash_mismatch'],
  [5, 'base_mismatch'],
  [6, 'malformed'],
  [7, 'not_valid_now'],
  [8, 'storage_error'],
] as const);
export type ActivationOutcome = (typeof ACTIVATION_OUTCOMES.names)[number];

// ── Limits ────────────────────────────────────────────────────────────────────────────────────────

export const LIMITS = {
  maxLockIndex: 0xffff,
  maxEventsPerFetch: 64,
  maxLocksPerStatusPage: 128,
  maxLocksPerListPage: 32,
  maxTransitions: 64,
  /** ±18 h, the ISO 8601 / IANA bound on a UTC offset. */
  maxOffsetMin: 18 * 60,
  /** Largest magnitude of a signed varint field: zig-zag keeps it a safe integer. */
  maxSigned: 2 ** 52 - 1,
  maxEpoch: 0xffff_ffff,
  maxFileSize: 0xffff_ffff,
  tagRegistrationMinS: 15,
  tagRegistrationMaxS: 3600,
  maxNonceValidS: 600,
  minSignalDbm: -150,
  maxSignalDbm: 0,
  maxErrorMessageBytes: 120,
  /** The core numbers site key generations from 1; the wire gives them 32 bits. */
  maxSiteKeyGeneration: 0xffff_ffff,
} as const;

export const HASH_BYTES = 32;
export const REF_BYTES = 16;
export const MAC_BYTES = 6;
/** EUI-48 or EUI-64 radio address of a lock. */
export const LOCK_ADDRESS_LENGTHS = [6, 8] as const;
/** 4-, 7- or 10-byte ISO 14443 UIDs (core/domain/model.ts Tag.card_uid). */
export const CARD_UID_LENGTHS = [4, 7, 10] as const;
export const TAG_NUMBER_MAX = 9_999_999_999;
/** The site card key (docs/credentials.md): the AES-128 key every card's keys are diversified from. */
export const SITE_KEY_BYTES = 16;
/** A site key's fingerprint: the first 8 bytes of SHA-256("gatehouse/site-key/" ‖ key) (site-key.ts). */
export const SITE_KEY_FINGERPRINT_BYTES = 8;
/** The site id a card credential names (its block 4 is derived from it): the core's site id, a lower-case UUID. */
export const SITE_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** IANA zone names: segments of letters, digits, `_`, `+`, `-`, joined by `/`. */
export const ZONE_PATTERN = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/;
