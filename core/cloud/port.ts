// What the sync engine needs of a cloud (docs/cloud-sync.md, "The cloud port"). The core declares it;
// the composition root (bin/cloud.ts) implements it over the KS Connect client, and tests may hand
// the engine the same adapter over the mock cloud. Everything crossing it is in CLOUD ids: a tag's
// `user_id` is the owner's site-user id, a lock's `iq_id` the IQ's cloud id, an access group's keys
// `lock:<cloud lock id>`, `user:<platform user id>` and `time_schedule:<cloud schedule id>`.
import type { CloudKind, Json } from '../domain/cloud.ts';
import type { CloudRecord } from './apply.ts';

/** Prefix of a time schedule the cloud does not have yet: `time_schedule:new:<local schedule id>`. */
export const NEW_SCHEDULE_PREFIX = 'time_schedule:new:';

/** One local change as the cloud must hear it. */
export interface CloudPush {
  kind: CloudKind;
  operation: 'create' | 'update' | 'delete';
  /** The record's cloud id (site-user id for a user); null for a create. */
  cloud_id: string | null;
  /** A user's platform id, when known. */
  cloud_user_id: string | null;
  /**
   * create: every field; update: only the changed ones, a cleared field or a removed member as null;
   * delete: null. An access group's schedule fields are complete schedules (or null: removed).
   */
  fields: Record<string, Json> | null;
  /**
   * An earlier attempt of this very change may have reached the cloud (a lost answer, a crash while
   * it was in flight): a create must then look for the record it may already have made.
   */
  retry: boolean;
  /** Access groups: the cloud ids of the group's schedules already linked here (not candidates for adoption). */
  linked_schedules?: string[];
}

export interface PushResult {
  /** The record's cloud id (new for a create). */
  cloud_id: string;
  cloud_user_id?: string | null;
  /** A user the cloud created or holds as `suspended` (no free seat): flagged to the admin. */
  suspended?: boolean;
  /** Schedules the cloud created for `time_schedule:new:<local id>` fields: local id → cloud id. */
  created_schedules?: Record<string, string>;
}

/** An entry as the cloud reports it, in cloud ids. */
export interface CloudEntry {
  id: string;
  utc_date_time: string;
  event_category: string;
  event_detail: string | null;
  access_by: string | null;
  lock_id: string | null;
  /** Platform user id. */
  user_id: string | null;
}

/** An incident (alarm) as the cloud reports it, in cloud ids. */
export interface CloudIncident {
  id: string;
  utc_date_time: string;
  /** CLP's incident type (door_left_open, intrusion, tamper, low_battery, iq_offline, …). */
  incident_type: string;
  lock_id: string | null;
  iq_id: string | null;
}

export interface CloudPort {
  /** Every record of a kind the cloud holds now (deleted ones are simply absent). */
  list(kind: CloudKind): AsyncIterable<CloudRecord>;
  /** Carries one change out; throws a CloudPortError when it cannot. */
  push(change: CloudPush): Promise<PushResult>;
  /** Entries at or after `since` (ISO), oldest first, a page at a time. */
  entries(since: string): AsyncIterable<CloudEntry[]>;
  /** Incidents at or after `since` (ISO), oldest first, a page at a time. */
  incidents(since: string): AsyncIterable<CloudIncident[]>;
}

/**
 * Why a push or a pull failed, in the engine's terms: `transient` is tried again at the next round
 * (the network, 5xx, 429 after the client's own retries, 2202/2203 shortly after a create),
 * `refused` is final for that change (the cloud said no: bad value, no such record), `auth` stops the
 * round until the admin signs in again.
 */
export class CloudPortError extends Error {
  constructor(
    readonly kind: 'transient' | 'refused' | 'auth' | 'not_found',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
