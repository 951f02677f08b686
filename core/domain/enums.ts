// CLP / SALTO KS vocabularies. Values are CLP's wire values wherever CLP has one
// (see ../shared/reference/domain.md §1.5); the few Gatehouse additions are marked.

export const DATA_SYNC_STATES = ['synced', 'pending', 'not_synced', 'failed'] as const;
export type DataSyncState = (typeof DATA_SYNC_STATES)[number];

export const IQ_LINK_STATES = ['attached', 'attached_pending', 'detached', 'detached_pending'] as const;
export type IqLinkState = (typeof IQ_LINK_STATES)[number];

/** CLP RequestLockStates. */
export const LOCKED_STATES = ['locked', 'unlocked', 'office_mode', 'uncertain'] as const;
export type LockedState = (typeof LOCKED_STATES)[number];

export const BATTERY_LEVELS = ['fresh', 'low', 'very_low', 'unknown'] as const;
export type BatteryLevel = (typeof BATTERY_LEVELS)[number];

/** Which office mode a lock is in right now (Gatehouse: CLP reports it through locked_state = office_mode). */
export const OFFICE_MODES = ['none', 'easy_office_mode', 'manual_office_mode'] as const;
export type OfficeMode = (typeof OFFICE_MODES)[number];

export const LOCK_TYPES = ['escutcheon', 'escutcheon_pin', 'wall_reader', 'wall_reader_pin', 'cylinder', 'locker'] as const;
export type LockType = (typeof LOCK_TYPES)[number];

export const USER_KINDS = ['employee', 'visitor', 'contractor', 'resident', 'member', 'delivery'] as const;
export type UserKind = (typeof USER_KINDS)[number];

export const SUBSCRIPTION_STATES = ['subscribed', 'suspended'] as const;
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number];

export const TAG_KINDS = ['card', 'fob', 'sticker', 'wristband'] as const;
export type TagKind = (typeof TAG_KINDS)[number];

/** Day types a holiday calendar can give a date (SALTO calendars: Holiday, Special 1, Special 2). */
export const DAY_TYPES = ['holiday', 'special_1', 'special_2'] as const;
export type DayType = (typeof DAY_TYPES)[number];

export const OPERATOR_ROLES = ['owner', 'admin', 'front_desk', 'installer', 'auditor'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Why a credential was or was not let in. Denials follow CLP's entry event_detail values where CLP has one. */
export const DENIAL_REASONS = [
  'unknown_tag',
  'blocked',
  'suspended',
  'expired',
  'not_yet_valid',
  'privacy_mode',
  'no_access',
  'holiday',
  'outside_schedule',
  'offline',
] as const;
export type DenialReason = (typeof DENIAL_REASONS)[number];

export const GRANT_REASONS = ['access', 'offline'] as const;
export type GrantReason = (typeof GRANT_REASONS)[number];
