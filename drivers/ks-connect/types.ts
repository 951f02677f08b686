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
}

export interface KsTag extends Open {
  id: string;
  tag_number: string;
  source_iq_id?: string | null;
  added_date?: string;
}

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
}

export type KsLockedState = 'none' | 'locked' | 'office_mode' | 'uncertain' | 'unlocked';

export interface KsLock extends Open {
  id: string;
  customer_reference: string;
  locked_state?: KsLockedState;
  online?: boolean;
  iq?: { id: string; customer_reference?: string } | null;
}

export interface KsAccessGroup extends Open {
  id: string;
  customer_reference: string;
}

export interface KsTimeSchedule extends Open {
  id: string;
  monday: boolean;
  tuesday: boolean;
  wednesday: boolean;
  thursday: boolean;
  friday: boolean;
  saturday: boolean;
  sunday: boolean;
  start_time: string | null;
  end_time: string | null;
  start_date: string | null;
  end_date: string | null;
}

export type KsTimeScheduleInput = Omit<KsTimeSchedule, 'id'>;

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
