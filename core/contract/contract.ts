// The one contract between Gatehouse's core and every front end (Electron IPC, the browser over HTTP,
// the CLI, the CLP-compatible REST API). Each entry names its input schema (checked at run time), its
// result type and the permission it needs. Commands change state and run in one transaction with an
// operator-log record; queries only read.
import { z } from 'zod';
import type * as R from './results.ts';
import type { SiteDocumentInput } from '../io/site-document.ts';
import type { Permission } from './permissions.ts';
import * as s from './schemas.ts';
import { SUBSCRIPTION_STATES, USER_KINDS } from '../domain/enums.ts';
import { ACCESS_BY, ENTRY_CATEGORIES, ENTRY_DETAILS, INCIDENT_TYPES } from '../domain/audit.ts';

export type Kind = 'command' | 'query';

export interface Definition<I extends z.ZodType = z.ZodType, Res = unknown, Kd extends Kind = Kind> {
  kind: Kd;
  input: I;
  /** null: callable without signing in (only auth.login). */
  permission: Permission | null;
  summary: string;
  /** Phantom: carries the result type. */
  readonly _result?: Res;
}

const command =
  <Res>() =>
  <I extends z.ZodType>(d: { input: I; permission: Permission | null; summary: string }): Definition<I, Res, 'command'> => ({ kind: 'command', ...d });
const query =
  <Res>() =>
  <I extends z.ZodType>(d: { input: I; permission: Permission | null; summary: string }): Definition<I, Res, 'query'> => ({ kind: 'query', ...d });

const byId = z.strictObject({ id: s.id });

const entryFilterShape = {
  lock_id: s.id.optional(),
  iq_id: s.id.optional(),
  user_id: s.id.optional(),
  tag_id: s.id.optional(),
  tag_number: s.tagNumber.optional(),
  event_category: z.enum(ENTRY_CATEGORIES).optional(),
  event_detail: z.enum(ENTRY_DETAILS).optional(),
  access_by: z.enum(ACCESS_BY).optional(),
  from: s.instant.optional(),
  until: s.instant.optional(),
};

const cursorPageShape = {
  cursor: z.string().max(100).optional(),
  direction: z.enum(['older', 'newer']).default('older'),
  limit: z.number().int().min(1).max(1000).default(100),
  with_count: z.boolean().default(false),
};
const none = z.strictObject({});

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);
/** Where the cloud is and which site: shared by both ways of connecting. */
const cloudAccount = {
  api_url: httpUrl,
  /** The identity server (KS: identity.my-clay.com); the API's own origin when absent. */
  identity_url: httpUrl.optional(),
  client_id: z.string().trim().min(1).max(200),
  client_secret: z.string().min(1).max(1000).optional(),
  site_id: z.uuid({ error: 'must be the site UUID (the site_uid such as DE4520168385 is refused by the cloud)' }),
};
const encoderId = z.string().min(1).max(200);
const waitSeconds = z.number().int().min(1).max(300).default(60);

const userCreate = z
  .strictObject({
    first_name: s.userFields.first_name.default(''),
    last_name: s.userFields.last_name.default(''),
    email: s.userFields.email.default(null),
    alias: s.userFields.alias.default(null),
    phone: s.userFields.phone.default(null),
    kind: s.userFields.kind.default('employee'),
    blocked: s.userFields.blocked.default(false),
    subscription_state: s.userFields.subscription_state.default('subscribed'),
    valid_from: s.userFields.valid_from.default(null),
    valid_until: s.userFields.valid_until.default(null),
    remote_access: s.userFields.remote_access.default(false),
    toggle_easy_office_mode: s.userFields.toggle_easy_office_mode.default(false),
    toggle_manual_office_mode: s.userFields.toggle_manual_office_mode.default(false),
    override_privacy_mode: s.userFields.override_privacy_mode.default(false),
    notes: s.userFields.notes.default(null),
    access_group_ids: z.array(s.id).max(500).default([]),
  })
  .superRefine(s.validityCheck)
  .refine((u) => u.first_name || u.last_name || u.alias || u.email, { error: 'a person needs a first name, last name, alias or e-mail', path: ['last_name'] });

const userPatch = z.strictObject({ id: s.id, ...s.userFields }).partial().required({ id: true }).superRefine(s.validityCheck);

export const contract = {
  // ── Session ───────────────────────────────────────────────────────────────────────────────────
  'auth.login': command<R.Session>()({
    input: z.strictObject({
      username: z.string().min(1).max(100),
      password: z.string().min(1).max(200),
      ttl_seconds: z.number().int().min(60).max(86_400).optional(),
    }),
    permission: null,
    summary: 'Sign in an operator; returns a bearer token.',
  }),
  'auth.client_token': command<R.ClientSession>()({
    input: z.strictObject({ client_id: z.string().min(1).max(100), client_secret: z.string().min(1).max(200), ttl_seconds: z.number().int().min(60).max(86_400).default(3600) }),
    permission: null,
    summary: 'Token for an integration client (OAuth2 client_credentials).',
  }),
  'auth.logout': command<{ ok: true }>()({ input: none, permission: 'site.read', summary: 'End the current session.' }),
  'auth.me': query<R.Me>()({ input: none, permission: 'site.read', summary: 'Who is calling and what they may do.' }),

  // ── Site ──────────────────────────────────────────────────────────────────────────────────────
  'site.get': query<R.SiteSummary>()({ input: none, permission: 'site.read', summary: 'The site and its counts.' }),
  'site.update': command<R.Site>()({
    input: z.strictObject({ customer_reference: s.name.optional(), time_zone: s.timeZone.optional() }),
    permission: 'site.write',
    summary: 'Rename the site or change its time zone.',
  }),
  'preferences.get': query<R.Preferences>()({ input: none, permission: 'site.read', summary: 'Installation-wide preferences of the apps.' }),
  'preferences.update': command<R.Preferences>()({
    input: z.strictObject({ auto_sign_out_minutes: z.number().int().min(1).max(480).optional() }),
    permission: 'site.write',
    summary: 'Change preferences, e.g. after how many idle minutes operators are signed out.',
  }),
  'site.export': query<R.SiteDocument>()({
    input: none,
    permission: 'backup',
    summary: 'The whole site model as one JSON document (docs/site-document.md); no operators, secrets or history.',
  }),
  'site.import': command<R.SiteImportResult>()({
    input: z.strictObject({
      // The handler checks the document itself, so that its problems are reported with paths inside it
      // (users.12.email) together with the reference checks, all at once.
      document: z.custom<SiteDocumentInput>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
        error: 'must be a site document (a JSON object)',
      }),
      replace: z.boolean().default(false),
      dry_run: z.boolean().default(false),
    }),
    permission: 'backup',
    summary: 'Load a site document into an empty installation, or replace its site model (replace); all or nothing.',
  }),

  // ── IQs ───────────────────────────────────────────────────────────────────────────────────────
  'iqs.list': query<R.Page<R.Iq>>()({ input: s.listInput, permission: 'hardware.read', summary: 'List IQs.' }),
  'iqs.get': query<R.Iq>()({ input: byId, permission: 'hardware.read', summary: 'One IQ.' }),
  'iqs.create': command<R.Iq>()({
    input: z.strictObject({
      mac: s.macAddress,
      customer_reference: s.name,
      time_zone: s.timeZone.optional(),
      serial: z.string().trim().max(64).nullable().default(null),
      firmware: z.string().trim().max(64).nullable().default(null),
      subscribed: z.boolean().default(true),
    }),
    permission: 'hardware.write',
    summary: 'Register an IQ (its time zone defaults to the site zone).',
  }),
  'iqs.update': command<R.Iq>()({
    input: z.strictObject({ id: s.id, customer_reference: s.name.optional(), time_zone: s.timeZone.optional(), subscribed: z.boolean().optional() }),
    permission: 'hardware.write',
    summary: 'Rename an IQ, change its zone or subscription.',
  }),
  'iqs.delete': command<{ id: string }>()({ input: byId, permission: 'hardware.write', summary: 'Remove an IQ; its locks become detached.' }),

  // ── Hubs (the IQs' hardware, through the device manager) ──────────────────────────────────────
  'hubs.list': query<R.HubStatus[]>()({ input: none, permission: 'hardware.read', summary: 'The hubs connected now (USB, LAN, simulated), claimed or not.' }),
  'hubs.transports': query<R.HubTransport[]>()({
    input: none,
    permission: 'hardware.read',
    summary: 'How hubs are looked for here (USB, LAN addresses, simulated) and what stands in the way (no USB, no permission, a LAN hub away).',
  }),
  'hubs.claim': command<R.Iq>()({
    input: z
      .strictObject({
        address: z.string().min(1).max(200),
        iq_id: s.id.optional(),
        customer_reference: s.name.optional(),
        time_zone: s.timeZone.optional(),
      })
      .refine((v) => (v.iq_id === undefined) !== (v.customer_reference === undefined), { error: 'give iq_id (an IQ to take this hub) or customer_reference (a new IQ), not both', path: ['iq_id'] }),
    permission: 'hardware.write',
    summary: 'Commission a connected hub for this site: it becomes the hardware of an existing IQ (iq_id) or of a new one; its time, table and events follow.',
  }),
  'hubs.identify': command<{ address: string }>()({
    input: z.strictObject({ address: z.string().min(1).max(200), seconds: z.number().int().min(1).max(600).default(15) }),
    permission: 'hardware.write',
    summary: 'Make a connected hub show itself: its LED flashes (and it beeps), so the installer knows which one is which.',
  }),
  'hubs.locks.list': query<R.HubLockInfo[]>()({
    input: z.strictObject({ iq_id: s.id }),
    permission: 'hardware.read',
    summary: 'The locks paired with an IQ’s hub, read from the hub.',
  }),
  'hubs.locks.pair': command<R.Lock>()({
    input: z.strictObject({ iq_id: s.id, lock_id: s.id }),
    permission: 'hardware.write',
    summary: 'Pair a lock (by its radio MAC) with an IQ’s hub; the lock is attached to the IQ.',
  }),
  'hubs.locks.unpair': command<R.Lock>()({
    input: z.strictObject({ iq_id: s.id, lock_id: s.id }),
    permission: 'hardware.write',
    summary: 'Make an IQ’s hub forget a lock; the lock is detached.',
  }),

  // ── Locks ─────────────────────────────────────────────────────────────────────────────────────
  'locks.list': query<R.Page<R.Lock>>()({ input: s.listInput, permission: 'hardware.read', summary: 'List locks (doors).' }),
  'locks.get': query<R.Lock>()({ input: byId, permission: 'hardware.read', summary: 'One lock.' }),
  'locks.create': command<R.Lock>()({
    input: z.strictObject({
      customer_reference: s.lockFields.customer_reference,
      mac: s.lockFields.mac.default(null),
      lock_type: s.lockFields.lock_type.default('escutcheon'),
      iq_id: s.lockFields.iq_id.default(null),
      offline_access_keys_limit: s.lockFields.offline_access_keys_limit.default(360),
      floor: s.lockFields.floor.default(null),
    }),
    permission: 'hardware.write',
    summary: 'Add a lock, optionally attached to an IQ.',
  }),
  'locks.update': command<R.Lock>()({
    input: z.strictObject({ id: s.id, ...s.lockFields }).partial().required({ id: true }),
    permission: 'hardware.write',
    summary: 'Rename a lock, attach it to or detach it from an IQ, change its type or offline-key limit.',
  }),
  'locks.delete': command<{ id: string }>()({ input: byId, permission: 'hardware.write', summary: 'Remove a lock.' }),
  'locks.set_locking': command<R.Lock>()({
    input: z.strictObject({ id: s.id, locked_state: z.enum(['locked', 'unlocked', 'office_mode']), otp: z.string().max(128).optional() }),
    permission: 'lock.remote',
    summary:
      'Remote opening (unlocked: the lock re-locks by itself), lock, or start manual office mode. An operator confirms with otp: their PIN, or their password when they have none.',
  }),
  'locks.tag_registration': command<{ lock_id: string; remaining_s: number }>()({
    input: z.strictObject({ id: s.id, seconds: z.union([z.literal(0), z.number().int().min(15).max(3600)]) }),
    permission: 'people.write',
    summary: 'Put a lock in tag registration mode for 15–3600 s (0 stops it): tags shown to it are reported as tag.presented events, to enrol them.',
  }),
  'locks.set_eom_schedule': command<R.Lock>()({
    input: z.strictObject({ id: s.id, schedule: s.eomSchedule.nullable() }),
    permission: 'access.write',
    summary: 'Set or clear the Easy Office Mode schedule of a lock.',
  }),
  'locks.offline_keys.list': query<R.Tag[]>()({ input: byId, permission: 'access.read', summary: 'Tags holding an offline-access key on a lock.' }),
  'locks.offline_keys.update': command<R.Lock>()({
    input: s.idsPatch,
    permission: 'access.write',
    summary: 'Grant or remove offline-access keys (tag ids), within the lock’s slot limit.',
  }),

  // ── People ────────────────────────────────────────────────────────────────────────────────────
  'users.list': query<R.Page<R.User>>()({ input: s.listInput, permission: 'people.read', summary: 'List people (search by name, alias, e-mail or tag number).' }),
  'users.get': query<R.UserDetail>()({ input: byId, permission: 'people.read', summary: 'One person with tags and groups.' }),
  'users.create': command<R.UserDetail>()({ input: userCreate, permission: 'people.write', summary: 'Add a person.' }),
  'users.update': command<R.UserDetail>()({ input: userPatch, permission: 'people.write', summary: 'Edit a person (block, validity, permissions …).' }),
  'users.delete': command<{ id: string }>()({ input: byId, permission: 'people.write', summary: 'Remove a person; their tags stay, unassigned.' }),
  'users.bulk_update': command<{ updated: number }>()({
    input: z.strictObject({
      ids: z.array(s.id).min(1).max(10_000),
      patch: z
        .strictObject({
          blocked: z.boolean(),
          kind: z.enum(USER_KINDS),
          subscription_state: z.enum(SUBSCRIPTION_STATES),
          valid_until: s.instant.nullable(),
        })
        .partial()
        .refine((p) => Object.keys(p).length > 0, { error: 'patch must change at least one field' }),
    }),
    permission: 'people.write',
    summary: 'Apply one change to many people at once.',
  }),
  'users.import_csv': command<R.ImportReport>()({
    input: z.strictObject({ csv: z.string().max(50_000_000), dry_run: z.boolean().default(false) }),
    permission: 'people.write',
    summary: 'Import people (and their tags and groups) from CSV; nothing is written if any row is bad.',
  }),

  // ── Tags ──────────────────────────────────────────────────────────────────────────────────────
  'tags.list': query<R.Page<R.TagDetail>>()({ input: s.listInput, permission: 'people.read', summary: 'List tags.' }),
  'tags.get': query<R.TagDetail>()({ input: byId, permission: 'people.read', summary: 'One tag.' }),
  'tags.create': command<R.TagDetail>()({
    input: z.strictObject({
      tag_number: s.tagFields.tag_number.optional(),
      card_uid: s.tagFields.card_uid.default(null),
      kind: s.tagFields.kind.default('card'),
      source_iq_id: s.tagFields.source_iq_id.default(null),
      user_id: s.tagFields.user_id.default(null),
      blocked: s.tagFields.blocked.default(false),
    }),
    permission: 'people.write',
    summary: 'Register a tag (the next free tag number when none is given), optionally assigned to a person.',
  }),
  'tags.update': command<R.TagDetail>()({
    input: z.strictObject({ id: s.id, ...s.tagFields }).partial().required({ id: true }),
    permission: 'people.write',
    summary: 'Assign, unassign, block or unblock a tag.',
  }),
  'tags.report_lost': command<R.TagDetail>()({
    input: z.strictObject({ id: s.id, lost_or_stolen: z.boolean().default(true) }),
    permission: 'people.write',
    summary: 'Mark a tag lost or stolen (it is rejected everywhere) or found again.',
  }),
  'tags.delete': command<{ id: string }>()({ input: byId, permission: 'people.write', summary: 'Remove a tag.' }),

  // ── Card encoders (docs/credentials.md; the encoders attached to this computer) ──────────────
  'encoders.list': query<R.EncodersState>()({ input: none, permission: 'people.read', summary: 'The card encoders attached now, the card on each, and why there are none.' }),
  'encoders.read': query<R.CardReport>()({
    input: z.strictObject({ encoder_id: encoderId, wait_s: waitSeconds }),
    permission: 'people.read',
    summary: 'Whose card is this? Waits for a card on the encoder and says what it is: its credential, tag, owner and last entries.',
  }),
  'encoders.encode': command<R.EncodeResult>()({
    input: z.strictObject({ encoder_id: encoderId, user_id: s.id, tag_id: s.id.optional(), wait_s: waitSeconds }),
    permission: 'people.write',
    summary:
      'Encode a card for a person: waits for a card, writes the credential, reads it back, then registers the tag and assigns it (tag_id: re-issue that tag onto this card with a new issue counter).',
  }),
  'encoders.erase': command<{ uid: string }>()({
    input: z.strictObject({ encoder_id: encoderId, wait_s: waitSeconds }),
    permission: 'people.write',
    summary: 'Wipe the credential of a card of this site back to transport keys; refused while the card is a tag someone holds.',
  }),
  'encoders.cancel': command<{ cancelled: boolean }>()({
    input: z.strictObject({ encoder_id: encoderId }),
    permission: 'people.read',
    summary: 'Stop waiting for a card on this encoder (a write already under way is finished first).',
  }),
  'encoders.tray.list': query<R.TrayCard[]>()({ input: none, permission: 'people.read', summary: 'Demo only: the cards beside the simulated encoder.' }),
  'encoders.tray.place': command<R.TrayCard[]>()({
    input: z.strictObject({ card_id: z.string().min(1).max(100), encoder_id: encoderId }),
    permission: 'people.read',
    summary: 'Demo only: lay a card from the tray on the simulated encoder.',
  }),
  'encoders.tray.remove': command<R.TrayCard[]>()({
    input: z.strictObject({ encoder_id: encoderId }),
    permission: 'people.read',
    summary: 'Demo only: take the card off the simulated encoder.',
  }),
  'site.key': query<R.SiteKeyInfo | null>()({ input: none, permission: 'site.read', summary: "The site's card key: fingerprint and generation (never the key)." }),
  'site.key_export': command<{ text: string; fingerprint: string }>()({
    input: z.strictObject({ passphrase: z.string().min(10, { error: 'must be at least 10 characters' }).max(1000) }),
    permission: 'backup',
    summary: "The site's card key as backup text under a passphrase (made first if the site has none).",
  }),
  'site.key_import': command<R.SiteKeyInfo>()({
    input: z.strictObject({ text: z.string().min(1).max(10_000), passphrase: z.string().min(1).max(1000) }),
    permission: 'backup',
    summary: "Make a backed-up card key of this site the current one (after restoring the site's database on another computer).",
  }),

  // ── Access groups ─────────────────────────────────────────────────────────────────────────────
  'access_groups.list': query<R.Page<R.AccessGroupSummary>>()({ input: s.listInput, permission: 'access.read', summary: 'List access groups.' }),
  'access_groups.get': query<R.AccessGroupDetail>()({ input: byId, permission: 'access.read', summary: 'One group with locks and schedules.' }),
  'access_groups.create': command<R.AccessGroupDetail>()({
    input: z.strictObject({
      customer_reference: s.name,
      holiday_calendar_id: s.id.nullable().default(null),
      lock_ids: z.array(s.id).max(10_000).default([]),
      time_schedules: z.array(s.timeSchedule).max(50).default([]),
    }),
    permission: 'access.write',
    summary: 'Create an access group (with no time schedule a group grants access at all hours).',
  }),
  'access_groups.update': command<R.AccessGroupDetail>()({
    input: z.strictObject({ id: s.id, customer_reference: s.name.optional(), holiday_calendar_id: s.id.nullable().optional() }),
    permission: 'access.write',
    summary: 'Rename a group or change its holiday calendar.',
  }),
  'access_groups.delete': command<{ id: string }>()({ input: byId, permission: 'access.write', summary: 'Remove an access group.' }),
  'access_groups.locks.update': command<R.AccessGroupDetail>()({
    input: s.idsPatch,
    permission: 'access.write',
    summary: 'Add or remove locks of a group.',
  }),
  'access_groups.users.list': query<R.Page<R.User>>()({
    input: z.strictObject({ id: s.id, ...s.listShape }),
    permission: 'access.read',
    summary: 'Members of a group.',
  }),
  'access_groups.users.update': command<{ id: string; user_count: number }>()({
    input: s.idsPatch,
    permission: 'access.membership',
    summary: 'Add or remove people (site-user ids) of a group.',
  }),
  'access_groups.time_schedules.create': command<R.TimeSchedule>()({
    input: s.timeScheduleCreate,
    permission: 'access.write',
    summary: 'Add a time schedule to a group.',
  }),
  'access_groups.time_schedules.update': command<R.TimeSchedule>()({
    input: s.timeScheduleReplace,
    permission: 'access.write',
    summary: 'Replace a time schedule.',
  }),
  'access_groups.time_schedules.delete': command<{ id: string }>()({ input: byId, permission: 'access.write', summary: 'Remove a time schedule.' }),

  // ── Holiday calendars ─────────────────────────────────────────────────────────────────────────
  'holiday_calendars.list': query<R.HolidayCalendarDetail[]>()({ input: none, permission: 'access.read', summary: 'All holiday calendars with their dates.' }),
  'holiday_calendars.create': command<R.HolidayCalendarDetail>()({
    input: z.strictObject({ customer_reference: s.name, dates: z.array(s.holidayDate).max(2000).default([]) }),
    permission: 'access.write',
    summary: 'Create a holiday calendar.',
  }),
  'holiday_calendars.update': command<R.HolidayCalendarDetail>()({
    input: z.strictObject({
      id: s.id,
      customer_reference: s.name.optional(),
      add_dates: z.array(s.holidayDate).max(2000).default([]),
      remove_dates: z.array(s.localDate).max(2000).default([]),
    }),
    permission: 'access.write',
    summary: 'Rename a calendar, add or remove dates.',
  }),
  'holiday_calendars.delete': command<{ id: string }>()({ input: byId, permission: 'access.write', summary: 'Remove a holiday calendar.' }),

  // ── Access rules ──────────────────────────────────────────────────────────────────────────────
  'access.decide': query<R.Decision>()({
    input: z.strictObject({ tag_number: s.tagNumber, lock_id: s.id, at: s.instant.optional() }),
    permission: 'access.read',
    summary: 'Would this tag open this lock at this instant (default now)?',
  }),
  'access.explain': query<R.Explanation>()({
    input: z
      .strictObject({
        tag_number: s.tagNumber.optional(),
        user_id: s.id.optional(),
        lock_id: s.id,
        at: s.instant.optional(),
        privacy_mode: z.boolean().optional(),
        offline: z.boolean().optional(),
      })
      .refine((i) => (i.tag_number === undefined) !== (i.user_id === undefined), { error: 'give exactly one of tag_number or user_id', path: ['tag_number'] }),
    permission: 'access.read',
    summary: 'Why a person or tag can or cannot open a lock: every check and every group considered.',
  }),
  'access.preview': query<R.AccessDiff>()({
    input: z.strictObject({
      command: z.string().max(100),
      input: z.unknown(),
      horizon_days: z.number().int().min(1).max(400).default(7),
      max_changes: z.number().int().min(1).max(10_000).default(500),
    }),
    permission: 'access.read',
    summary: 'Who would gain or lose access to which lock, and when, if this command were run. Nothing is saved.',
  }),
  'access.tables': query<R.AccessTableInfo[]>()({ input: none, permission: 'hardware.read', summary: 'The compiled access table of each IQ.' }),

  // ── Audit trail ───────────────────────────────────────────────────────────────────────────────
  'entries.list': query<R.EntryPage>()({
    input: z.strictObject({ ...entryFilterShape, ...cursorPageShape }),
    permission: 'audit.read',
    summary: 'Audit-trail entries, newest first, filtered; follow older_cursor / newer_cursor to page.',
  }),
  'entries.get': query<R.EntryRow>()({ input: byId, permission: 'audit.read', summary: 'One entry.' }),
  'entries.counts': query<R.CountBucket[]>()({
    input: z.strictObject({
      group_by: z.enum(['hour', 'day', 'category', 'detail', 'lock']),
      ...entryFilterShape,
      from_local: s.localDateOrDateTime.optional(),
      until_local: s.localDateOrDateTime.optional(),
    }),
    permission: 'audit.read',
    summary: 'Counts of entries per local hour or day (in each lock’s zone), category, detail or lock.',
  }),
  'entries.last_seen': query<R.LastSeen[]>()({
    input: z.strictObject({ kind: z.enum(['user', 'tag', 'lock']), ids: z.array(s.id).min(1).max(1000) }),
    permission: 'audit.read',
    summary: 'When each person, tag or lock was last in the audit trail (and, for locks, last opened).',
  }),
  'entries.inactivity': query<R.InactivityReport>()({
    input: z.strictObject({ days: z.number().int().min(1).max(3650), limit: z.number().int().min(1).max(10_000).default(500) }),
    permission: 'audit.read',
    summary: 'Doors with no opening and people with no entry in the last N days.',
  }),
  'entries.ingest': command<R.IngestResult>()({
    input: z.strictObject({
      source: z.string().min(1).max(100),
      entries: z.array(z.unknown()).max(10_000).default([]),
      incidents: z.array(z.unknown()).max(10_000).default([]),
    }),
    permission: 'hardware.write',
    summary: 'Store device events once each (idempotent by source and event_id); acknowledge to the device after this returns.',
  }),
  'incidents.list': query<R.IncidentPage>()({
    input: z.strictObject({
      incident_type: z.enum(INCIDENT_TYPES).optional(),
      lock_id: s.id.optional(),
      iq_id: s.id.optional(),
      acknowledged: z.boolean().optional(),
      from: s.instant.optional(),
      until: s.instant.optional(),
      ...cursorPageShape,
    }),
    permission: 'audit.read',
    summary: 'Incidents (alarms), newest first.',
  }),
  'incidents.get': query<R.IncidentRow>()({ input: byId, permission: 'audit.read', summary: 'One incident.' }),
  'incidents.acknowledge': command<R.IncidentRow[]>()({
    input: z.strictObject({ ids: z.array(s.id).min(1).max(1000), comment: z.string().trim().max(1000).nullable().default(null) }),
    permission: 'alarms.acknowledge',
    summary: 'Acknowledge incidents, with an optional comment.',
  }),
  'audit.verify': query<R.AuditVerification>()({
    input: none,
    permission: 'audit.read',
    summary: 'Check the hash chains of the audit trail and the operator log; reports the first broken row of each.',
  }),
  'audit.settings.get': query<R.RetentionSettings>()({ input: none, permission: 'audit.read', summary: 'Retention and privacy settings of the audit trail.' }),
  'audit.settings.update': command<R.RetentionSettings>()({
    input: z.strictObject({
      retention_days: z.number().int().min(30).max(36_500).nullable().optional(),
      anonymize_after_days: z.number().int().min(1).max(36_500).nullable().optional(),
    }),
    permission: 'site.write',
    summary: 'Set how long entries are kept and after how many days personal fields are erased.',
  }),
  'audit.retention.run': command<R.RetentionRunResult>()({
    input: z.strictObject({ max_rows: z.number().int().min(1).max(1_000_000).default(50_000) }),
    permission: 'site.write',
    summary: 'Apply retention and anonymisation now (in batches; the host also does this every hour).',
  }),
  'operator_log.list': query<R.Page<R.OperatorLogEntry>>()({ input: s.listInput, permission: 'audit.read', summary: 'Who changed what.' }),

  // ── Operators and integrations ───────────────────────────────────────────────────────────────
  'operators.list': query<R.Operator[]>()({ input: none, permission: 'operators.manage', summary: 'Operators of this installation.' }),
  'operators.create': command<R.Operator>()({
    input: z.strictObject({
      username: z.string().trim().regex(/^[A-Za-z0-9._@-]{2,64}$/, { error: 'may use letters, digits and . _ @ - (2–64)' }),
      display_name: s.name,
      role: s.operatorRole,
      password: s.password,
      pin: s.pin.optional(),
    }),
    permission: 'operators.manage',
    summary: 'Add an operator.',
  }),
  'operators.update': command<R.Operator>()({
    input: z.strictObject({
      id: s.id,
      display_name: s.name.optional(),
      role: s.operatorRole.optional(),
      disabled: z.boolean().optional(),
      password: s.password.optional(),
      pin: s.pin.nullable().optional(),
    }),
    permission: 'operators.manage',
    summary: 'Change an operator’s name, role, password, PIN or disable them.',
  }),
  'operators.delete': command<{ id: string }>()({ input: byId, permission: 'operators.manage', summary: 'Remove an operator.' }),
  'operators.change_password': command<{ ok: true }>()({
    input: z.strictObject({ current_password: z.string().min(1).max(200), new_password: s.password }),
    permission: 'site.read',
    summary: 'Change your own password.',
  }),
  'api_clients.list': query<R.ApiClient[]>()({ input: none, permission: 'integrations.manage', summary: 'Integration clients (client_credentials).' }),
  'api_clients.create': command<R.CreatedApiClient>()({
    input: z.strictObject({ customer_reference: s.name, role: s.operatorRole.default('auditor') }),
    permission: 'integrations.manage',
    summary: 'Create an integration client; its secret is shown once.',
  }),
  'api_clients.delete': command<{ id: string }>()({ input: byId, permission: 'integrations.manage', summary: 'Revoke an integration client.' }),

  // ── Cloud sync (docs/cloud-sync.md; optional, off until an admin connects) ──────────────────
  'cloud.status': query<R.CloudStatus>()({
    input: none,
    permission: 'site.read',
    summary: 'Connected or not, the last sync, changes waiting to be sent, refused changes, errors and conflicts to review.',
  }),
  'cloud.connect': command<R.CloudStatus>()({
    input: z.strictObject({ ...cloudAccount, username: z.string().trim().min(1).max(320), password: z.string().min(1).max(1000) }),
    permission: 'integrations.manage',
    summary: 'Sign in to a CLP / KS cloud with the password grant (headless or test use), check the site answers and switch sync on.',
  }),
  'cloud.connect_browser': command<{ authorize_url: string }>()({
    input: z.strictObject(cloudAccount),
    permission: 'integrations.manage',
    summary: "Start signing in in the browser (OAuth code with PKCE and a loopback redirect): open authorize_url; a cloud.status event says when it is done.",
  }),
  'cloud.disconnect': command<R.CloudStatus>()({
    input: none,
    permission: 'integrations.manage',
    summary: 'Switch sync off and forget the tokens; what was linked and what waits to be sent are kept for the next connection.',
  }),
  'cloud.set_otp': command<R.CloudStatus>()({
    input: z.strictObject({
      secret: z.string().min(1).max(200).nullable(),
      pin: z
        .string()
        .regex(/^\d{4,8}$/, { error: 'must be the 4 to 8 digits of the IQ PIN' })
        .nullable(),
    }),
    permission: 'integrations.manage',
    summary: "The IQ secret and PIN the cloud's one-time codes (OTP) are made from, for hardware changes; null clears them.",
  }),
  'cloud.sync_now': command<R.SyncRoundReport>()({ input: none, permission: 'site.write', summary: 'Sync with the cloud now (or wait for the round under way).' }),
  'cloud.conflicts.list': query<R.CloudConflict[]>()({ input: none, permission: 'site.read', summary: 'Fields changed here and in the cloud to different values, and deletes against edits, not yet reviewed.' }),
  'cloud.conflicts.resolve': command<{ id: number; resolution: 'kept_winner' | 'took_local' | 'took_cloud' }>()({
    input: z.strictObject({ id: z.number().int().positive(), take: z.enum(['winner', 'other']) }),
    permission: 'site.write',
    summary: 'Keep the value that won, or take the other one (it is then sent like any local change; for a delete, the record comes back with the edit).',
  }),
  'cloud.failed.list': query<R.CloudFailedChange[]>()({ input: none, permission: 'site.read', summary: 'Local changes the cloud refused for good, newest first.' }),
  'cloud.failed.retry': command<{ requeued: number }>()({ input: none, permission: 'site.write', summary: 'Send the refused changes again (after fixing what the cloud refused, or entering the IQ PIN).' }),
} as const;

/**
 * Calls that stream their result (too big for one reply): same permission and input checks as the
 * contract, delivered as a byte stream by each transport (HTTP: /api/export/{name}).
 */
export const streams = {
  'entries.export': {
    input: z.strictObject({ ...entryFilterShape, format: z.enum(['csv', 'jsonl']).default('csv') }),
    permission: 'audit.read' as Permission,
    summary: 'The audit-trail entries of a filter as CSV or JSON lines, oldest first, with UTC and local times.',
  },
} as const;
export type StreamName = keyof typeof streams;
export type StreamInput<K extends StreamName> = z.output<(typeof streams)[K]['input']>;

export type Contract = typeof contract;
export type ContractName = keyof Contract;
export type CommandName = { [K in ContractName]: Contract[K]['kind'] extends 'command' ? K : never }[ContractName];
export type QueryName = Exclude<ContractName, CommandName>;
/** What a caller sends. */
export type InputOf<K extends ContractName> = z.input<Contract[K]['input']>;
/** What a handler receives, after defaults and transforms. */
export type ParsedInputOf<K extends ContractName> = z.output<Contract[K]['input']>;
export type ResultOf<K extends ContractName> = Contract[K] extends Definition<z.ZodType, infer Res, Kind> ? Res : never;

export function isContractName(name: string): name is ContractName {
  return Object.hasOwn(contract, name);
}

export function isStreamName(name: string): name is StreamName {
  return Object.hasOwn(streams, name);
}
