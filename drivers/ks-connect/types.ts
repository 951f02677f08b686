// KS Connect records as the client reads and writes them (domain.md §1.5). Only the fields the sync
// needs are typed; everything else the cloud sends is kept, untyped, by the index signature so a
// round trip (read, change, write) does not drop what we did not model.

interface Open {
  [field: string]: unknown;
}

export interface KsSite extends Open {
  id: string;
  site_uid?: string;
  customer_reference?: string;
  time_zone?: string;
}

export type KsSubscriptionState = 'subscribed' | 'suspended';

/** A site user. `id` is the site-user id (for /users/{id}); `user.id` the platform id (for access groups, entries). */
export interface KsUser extends Open {
  id: string;
  alias: string | null;
  blocked: boolean;
  subscription_state: KsSubscriptionState;
  override_privacy_mode?: boolean;
  toggle_easy_office_mode?: boolean;
  toggle_manual_office_mode?: boolean;
  use_pin?: boolean;
  roles?: unknown[];
  /** Gatehouse's fields on the KS-style site user (KS itself has `expires_at`). */
  phone?: string | null;
  remote_access?: boolean;
  valid_from?: string | null;
  valid_until?: string | null;
  updated_at?: string;
  user: { id: string; first_name: string | null; last_name: string | null; email: string | null; tag_number?: string | null; has_profile?: boolean };
}

export interface KsUserCreate {
  alias?: string;
  blocked?: boolean;
  email?: string;
  first_name?: string;
  last_name?: string;
  override_privacy_mode?: boolean;
  role_ids?: string[];
  tag_id?: string;
  toggle_easy_office_mode?: boolean;
  toggle_manual_office_mode?: boolean;
  use_pin?: boolean;
  phone?: string;
  remote_access?: boolean;
  /** ISO date-times bounding when the user has access; Gatehouse's fields (KS has `expires_at`). */
  valid_from?: string;
  valid_until?: string;
}

/** A PATCH of a site user: only the fields given change; null clears one. */
export type KsUserPatch = { [K in keyof KsUserCreate]?: KsUserCreate[K] | null };

export interface KsTag extends Open {
  id: string;
  tag_number: string;
  kind?: string;
  /** The owner's SITE-user id. */
  user_id?: string | null;
  blocked?: boolean;
  lost_or_stolen?: boolean;
  source_iq_id?: string | null;
  added_date?: string;
  updated_at?: string;
}

/** POST /tags: a tag registered outside KS's lock tag registration (Gatehouse's hubs and encoder). */
export interface KsTagCreate {
  /** 10 digits, unique in the site. */
  tag_number: string;
  /** 'card', 'fob', ...; 'card' when absent. */
  kind?: string;
  /** The owner's SITE-user id. */
  user_id?: string | null;
  blocked?: boolean;
  lost_or_stolen?: boolean;
}

export type KsTagPatch = { [K in keyof KsTagCreate]?: KsTagCreate[K] | null };

export interface KsKey extends Open {
  type?: string;
  key_identifier?: string;
  expiry_date?: string | null;
  offline_access?: boolean;
}

export type KsDataSyncState = 'synced' | 'pending' | 'not_synced' | 'failed';

export interface KsIq extends Open {
  id: string;
  mac?: string;
  customer_reference: string;
  time_zone?: string;
  online?: boolean;
  data_sync_state?: KsDataSyncState;
  updated_at?: string;
}

/** POST /iqs: an activation code (an IQ activated in the KS app) or a MAC (an IQ Gatehouse commissioned). */
export type KsIqCreate = { customer_reference: string; time_zone: string } & ({ activation_code: string; mac?: string } | { mac: string; activation_code?: string });

export interface KsIqPatch {
  customer_reference?: string;
  time_zone?: string;
}

export type KsLockedState = 'none' | 'locked' | 'office_mode' | 'uncertain' | 'unlocked';

export interface KsLock extends Open {
  id: string;
  customer_reference: string;
  locked_state?: KsLockedState;
  online?: boolean;
  iq?: { id: string; customer_reference?: string } | null;
  easy_office_mode_schedule?: KsEasyOfficeModeSchedule | null;
  updated_at?: string;
}

/** POST /locks: adding a lock is a hardware change, so it carries the IQ's OTP. */
export interface KsLockCreate {
  customer_reference: string;
  iq_id: string | null;
  otp: string;
}

/** PATCH /locks/{id}: the OTP is needed only when `iq_id` changes. */
export interface KsLockPatch {
  customer_reference?: string;
  iq_id?: string | null;
  otp?: string;
}

export interface KsAccessGroup extends Open {
  id: string;
  customer_reference: string;
  updated_at?: string;
}

/** A time schedule's fields (v1.1+ semantics, domain.md §1.4). */
export interface KsTimeScheduleInput {
  monday: boolean;
  tuesday: boolean;
  wednesday: boolean;
  thursday: boolean;
  friday: boolean;
  saturday: boolean;
  sunday: boolean;
  /** Gatehouse's day-type flags (holiday calendars); not KS fields, false when absent. */
  holiday?: boolean;
  special_1?: boolean;
  special_2?: boolean;
  start_time: string | null;
  end_time: string | null;
  start_date: string | null;
  end_date: string | null;
}

export interface KsTimeSchedule extends Open, KsTimeScheduleInput {
  id: string;
}

/** A lock's easy-office-mode schedule (domain.md §1.5): a time schedule plus `eom_auto_start`, no id. */
export interface KsEasyOfficeModeSchedule extends KsTimeScheduleInput {
  eom_auto_start: boolean;
}

export interface KsEntry extends Open {
  id: string;
  event_category: string;
  event_detail: string | null;
  utc_date_time: string;
  lock_id: string | null;
  /** The platform user id (KS user.id), not the site-user id. */
  user_id: string | null;
  access_by?: string | null;
}

export type KsIncident = KsEntry;

/** The list envelope (domain.md §1.6); some lists come back as a bare array instead. */
export interface KsListPage<T> {
  items: T[];
  next_page_link: string | null;
  count?: number | null;
  continuation_token?: string | null;
}
