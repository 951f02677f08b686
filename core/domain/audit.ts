// Audit-trail vocabularies, CLP's where CLP has them (docs/audit.md lists what each means).
export const ENTRY_CATEGORIES = ['lock_opened', 'lock_rejected', 'easy_office_mode', 'manual_office_mode', 'privacy_mode'] as const;
export type EntryCategory = (typeof ENTRY_CATEGORIES)[number];

export const ENTRY_DETAILS = [
  'offline',
  'inside_handle',
  'request_to_exit',
  'no_access',
  'blocked',
  'suspended',
  'expired',
  'not_yet_valid',
  'outside_schedule',
  'holiday',
  'privacy_mode',
  'unknown_tag',
  'low_batteries',
  'start',
  'end',
  // A Gatehouse extension (CLP has no such detail): the card UID is a tag UID, but its credential is
  // missing, forged, of another site or an older issue (docs/credentials.md). Appended last, because
  // the export packs these by position.
  'invalid_credential',
] as const;
export type EntryDetail = (typeof ENTRY_DETAILS)[number];

export const ACCESS_BY = ['tag', 'remote', 'pin', 'master_key', 'inside_handle', 'mobile_key'] as const;
export type AccessBy = (typeof ACCESS_BY)[number];

export const INCIDENT_TYPES = ['door_left_open', 'intrusion', 'tamper', 'low_battery', 'iq_offline', 'iq_online', 'lock_offline', 'lock_online'] as const;
export type IncidentType = (typeof INCIDENT_TYPES)[number];
