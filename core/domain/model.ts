// The site model. Field names are CLP's (snake_case) so records cross the contract and the
// CLP-compatible API without renaming. Instants are ISO-8601 UTC strings ("2026-01-31T08:00:00.000Z");
// local dates and times are wall time in the lock's zone ("2026-01-31", "08:00:00").
import type {
  BatteryLevel,
  DataSyncState,
  DayType,
  IqLinkState,
  LockType,
  LockedState,
  OfficeMode,
  OperatorRole,
  SubscriptionState,
  TagKind,
  UserKind,
} from './enums.ts';

export interface Site {
  id: string;
  site_uid: string;
  customer_reference: string;
  time_zone: string;
  created_at: string;
  updated_at: string;
}

export interface Iq {
  id: string;
  mac: string;
  customer_reference: string;
  time_zone: string;
  online: boolean;
  data_sync_state: DataSyncState;
  signal_strength: number | null;
  subscribed: boolean;
  reset_date: string | null;
  firmware: string | null;
  serial: string | null;
  /** Version of the access table the hub enforces (0 = none yet). */
  revision: number;
  created_at: string;
  updated_at: string;
}

/** CLP TimeSchedule, plus Gatehouse's day-type flags for holiday calendars. */
export interface TimeScheduleFields {
  monday: boolean;
  tuesday: boolean;
  wednesday: boolean;
  thursday: boolean;
  friday: boolean;
  saturday: boolean;
  sunday: boolean;
  /** Gatehouse: whether the window also applies on dates a calendar marks as that day type. */
  holiday: boolean;
  special_1: boolean;
  special_2: boolean;
  /** "HH:MM:SS" local wall time; inclusive. end_time < start_time means the window ends the next day. */
  start_time: string;
  end_time: string;
  /** "YYYY-MM-DD" (whole day) or "YYYY-MM-DDTHH:MM:SS" (check-in/check-out), local wall time; null = open. */
  start_date: string | null;
  end_date: string | null;
}

export interface TimeSchedule extends TimeScheduleFields {
  id: string;
  access_group_id: string;
}

export interface EasyOfficeModeSchedule extends TimeScheduleFields {
  eom_auto_start: boolean;
}

export interface Lock {
  id: string;
  customer_reference: string;
  mac: string | null;
  lock_type: LockType;
  iq_id: string | null;
  iq_link_state: IqLinkState;
  locked_state: LockedState;
  battery_level: BatteryLevel;
  left_open_alarm: boolean;
  intrusion_alarm: boolean;
  tamper: boolean;
  privacy_mode: boolean;
  online: boolean;
  office_mode: OfficeMode;
  offline_access_keys_limit: number;
  offline_access_keys_count: number;
  easy_office_mode_schedule: EasyOfficeModeSchedule | null;
  floor: string | null;
  created_at: string;
  updated_at: string;
}

export interface User {
  /** Site-user id (CLP `id`): used by /users/{id}. */
  id: string;
  /** Platform user id (CLP `user.id`): used by access-group membership and entries. */
  user_id: string;
  first_name: string;
  last_name: string;
  email: string | null;
  alias: string | null;
  phone: string | null;
  kind: UserKind;
  blocked: boolean;
  subscription_state: SubscriptionState;
  valid_from: string | null;
  valid_until: string | null;
  remote_access: boolean;
  toggle_easy_office_mode: boolean;
  toggle_manual_office_mode: boolean;
  override_privacy_mode: boolean;
  notes: string | null;
  created_at: string;
  updated_at: string;
}

export interface Tag {
  id: string;
  /** Ten digits, CLP's printed tag number. */
  tag_number: string;
  /** Card serial (UID), upper-case hex, 4/7/10 bytes. */
  card_uid: string | null;
  kind: TagKind;
  source_iq_id: string | null;
  added_date: string;
  /** Owner (site-user id), or null for a tag not handed out. */
  user_id: string | null;
  blocked: boolean;
  lost_or_stolen: boolean;
  lost_or_stolen_date: string | null;
  /** Bumped on every re-issue so an older card with the same number stays rejected. */
  issue_counter: number;
  created_at: string;
  updated_at: string;
}

export interface AccessGroup {
  id: string;
  customer_reference: string;
  holiday_calendar_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface HolidayCalendar {
  id: string;
  customer_reference: string;
  created_at: string;
  updated_at: string;
}

export interface HolidayDate {
  calendar_id: string;
  /** "YYYY-MM-DD", a local date in the zone of the lock being decided. */
  date: string;
  day_type: DayType;
  description: string | null;
}

export interface Operator {
  id: string;
  username: string;
  display_name: string;
  role: OperatorRole;
  disabled: boolean;
  has_pin: boolean;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

export interface ApiClient {
  id: string;
  client_id: string;
  customer_reference: string;
  role: OperatorRole;
  disabled: boolean;
  created_at: string;
  updated_at: string;
}
