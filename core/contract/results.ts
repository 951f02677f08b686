// Shapes returned through the contract, beyond the plain model records.
import type { Explanation, Decision } from '../access/decide.ts';
import type { CredentialVerdict, EncoderCardType, TrayCard } from '../encoders/ports.ts';
import type { CountBucket, EntryPage, EntryRow, InactivityReport, LastSeen } from '../audit/query.ts';
import type { IncidentRow } from '../audit/incidents.ts';
import type { IngestResult } from '../audit/ingest.ts';
import type { AuditVerification, RetentionSettings, RetentionRunResult } from '../audit/types.ts';
import type {
  AccessGroup,
  ApiClient,
  HolidayCalendar,
  HolidayDate,
  Iq,
  Lock,
  Operator,
  Site,
  Tag,
  TimeSchedule,
  User,
} from '../domain/model.ts';
import type { OperatorRole } from '../domain/enums.ts';
import type { SiteDocument, SiteDocumentCounts } from '../io/site-document.ts';
import type { Permission } from './permissions.ts';
import type { CloudConflict, CloudFailedChange, CloudStatus, SyncRoundReport } from '../cloud/types.ts';

export type { CloudConflict, CloudFailedChange, CloudStatus, SyncRoundReport };

export type { Explanation, Decision, CountBucket, EntryPage, EntryRow, InactivityReport, LastSeen, IncidentRow, IngestResult, AuditVerification, RetentionSettings, RetentionRunResult };

/** A hub link as the device manager sees it (core/devices). */
export interface HubStatus {
  /** Where it is attached: "usb:1-4", "tcp:10.0.0.7:7374", "sim:…". Names the hub in hubs.claim. */
  address: string;
  /** connecting → unclaimed (no IQ has its MAC) or syncing → ready; failed retries by itself; closed: gone. */
  state: 'connecting' | 'unclaimed' | 'syncing' | 'ready' | 'failed' | 'closed';
  mac: string | null;
  serial: string | null;
  firmware: string | null;
  iq_id: string | null;
  /** The access table the hub enforces now. */
  table: { version: number; hash: string } | null;
  last_error: string | null;
  /** Events stored from this link since it connected. */
  events_stored: number;
  /** Events the hub's full ring overwrote before Gatehouse could fetch them, since it connected. */
  events_lost: number;
}

/** How this installation looks for hubs, and whether it can: shown above the hubs list. */
export interface HubTransport {
  /** "usb", "tcp:10.0.0.7:7374", "simulated", "keys". */
  id: string;
  ok: boolean;
  /** What an installer needs to know, e.g. why USB is not available here and the udev rule to install. */
  detail: string;
}

/** A lock the hub has paired (read from the hub), with the core's record of it when there is one. */
export interface HubLockInfo {
  lock_id: string;
  address: string;
  serial: string;
  /** The core's name for it; null when the hub names a lock the core no longer has. */
  customer_reference: string | null;
}

/** An encoder attached now, and the card lying on it (contract `encoders.list`, event `encoder.status`). */
export interface EncoderStatus {
  id: string;
  name: string;
  firmware: string;
  simulated: boolean;
  card: { uid: string; card_type: EncoderCardType } | null;
  /** Working for an operator (waiting for a card, writing, reading). */
  busy: boolean;
}

export interface EncodersState {
  encoders: EncoderStatus[];
  /** Why none are attached when that is not simply "none plugged in" (no USB, permissions, pcscd). */
  problem: string | null;
  /** The demo's card tray is there (`serve --demo`): `encoders.tray.*` work. */
  tray: boolean;
}

/** What a card on the encoder is (contract `encoders.read`: "whose card is this?"). */
export interface CardReport {
  encoder_id: string;
  uid: string;
  card_type: EncoderCardType;
  /** Its credential sector under this site's key; `genuine` only when the MAC checks out. */
  credential: CredentialVerdict;
  /** From a genuine credential. */
  tag_number: string | null;
  issue_counter: number | null;
  /** A genuine credential older than the tag's current issue (the card was re-issued): the locks refuse it. */
  superseded: boolean;
  /** The tag registered with this UID, if any. */
  tag: TagDetail | null;
  owner: UserDetail | null;
  /** The latest entries of this tag, newest first (at most 5; empty without audit.read). */
  last_entries: EntryRow[];
  /** An encoding of this card that did not finish (card pulled off, host stopped): encode it again to repair. */
  interrupted: { tag_number: string; issue_counter: number; started_at: string; failure: string | null } | null;
}

export interface EncodeResult {
  tag: TagDetail;
  uid: string;
  issue_counter: number;
  /** An existing tag was moved to this card with a new issue counter (its earlier cards are refused). */
  reissued: boolean;
  /** The card held an interrupted encoding, which was finished with the same tag number and counter. */
  repaired: boolean;
  /** From "card on the encoder" to "written and read back". */
  duration_ms: number;
}

export interface SiteKeyInfo {
  fingerprint: string;
  generation: number;
  source: 'generated' | 'imported';
  created_at: string;
  /** Cards encoded (and verified) under this key. */
  encoded_cards: number;
}

export type { TrayCard };

export interface IncidentPage {
  items: IncidentRow[];
  older_cursor: string | null;
  newer_cursor: string | null;
  count: number | null;
}

export interface Page<T> {
  items: T[];
  /** Total matching the filter, ignoring top/skip. */
  count: number;
}

export interface Preferences {
  /** Operators are signed out after this many minutes without using the app. */
  auto_sign_out_minutes: number;
}

export interface SiteSummary extends Site {
  counts: { iqs: number; locks: number; users: number; tags: number; access_groups: number };
}

export interface UserDetail extends User {
  tags: Tag[];
  access_groups: Array<Pick<AccessGroup, 'id' | 'customer_reference'>>;
}

export interface TagDetail extends Tag {
  owner: Pick<User, 'id' | 'first_name' | 'last_name'> | null;
}

export interface AccessGroupSummary extends AccessGroup {
  lock_count: number;
  user_count: number;
  time_schedule_count: number;
}

export interface AccessGroupDetail extends AccessGroup {
  locks: Array<Pick<Lock, 'id' | 'customer_reference'>>;
  user_count: number;
  time_schedules: TimeSchedule[];
}

export interface HolidayCalendarDetail extends HolidayCalendar {
  dates: HolidayDate[];
}

export interface AccessTableInfo {
  iq_id: string;
  version: number;
  hash: string;
  record_count: number;
  byte_size: number;
  generated_at: string;
}

export interface AccessChange {
  user_id: string;
  user_name: string;
  /** Set when the change is about one tag (blocked, lost, assigned) rather than the person's rights. */
  tag_number: string | null;
  lock_id: string;
  lock_name: string;
  change: 'gains' | 'loses';
  /** Intervals within the horizon, earliest first (at most 20 listed). */
  intervals: Array<{ from: string; until: string }>;
  interval_count: number;
  /** Total time gained or lost within the horizon, in minutes. */
  minutes: number;
}

export interface AccessDiff {
  horizon: { from: string; until: string };
  changes: AccessChange[];
  /** True when more pairs changed than are listed. */
  truncated: boolean;
  users_affected: number;
  locks_affected: number;
}

export interface OperatorLogEntry {
  seq: number;
  at: string;
  actor_kind: string;
  actor_id: string | null;
  actor_name: string;
  command: string;
  target_type: string;
  target_id: string | null;
  before: unknown;
  after: unknown;
}


export interface Session {
  token: string;
  expires_at: string;
  operator: Operator;
  permissions: Permission[];
}

export interface ClientSession {
  token: string;
  expires_at: string;
  client: ApiClient;
}

export interface Me {
  kind: 'operator' | 'client' | 'system';
  id: string | null;
  name: string;
  role: OperatorRole;
  permissions: Permission[];
  operator: Operator | null;
}

export interface CreatedApiClient extends ApiClient {
  /** Shown once; only a hash is stored. */
  client_secret: string;
}

export interface ImportRowError {
  line: number;
  column: string | null;
  message: string;
}

export interface ImportReport {
  dry_run: boolean;
  rows: number;
  created: number;
  updated: number;
  errors: ImportRowError[];
}

/** site.export returns the document itself (docs/site-document.md). */
export type { SiteDocument, SiteDocumentCounts };

export interface SiteImportResult {
  /** What the document holds: what was imported, or with dry_run what would be. */
  counts: SiteDocumentCounts;
  dry_run: boolean;
}

export type { AccessGroup, ApiClient, HolidayCalendar, HolidayDate, Iq, Lock, Operator, Site, Tag, TimeSchedule, User };
