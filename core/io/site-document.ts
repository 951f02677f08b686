// The site document (docs/site-document.md): the whole site model as one JSON file, for moving a site
// to another installation. It holds the hardware, people, tags, holiday calendars and access groups with
// their ids, so that every reference inside the document resolves. Operators, integration clients,
// tokens, access-table versions and the audit trail are deliberately left out: they are secrets or
// history of one installation. Device state is written for information only; an import resets it.
import { z } from 'zod';
import type { ErrorIssue } from '../contract/errors.ts';
import * as s from '../contract/schemas.ts';
import { BATTERY_LEVELS, DATA_SYNC_STATES, IQ_LINK_STATES, LOCKED_STATES, OFFICE_MODES } from '../domain/enums.ts';
import type { AccessGroup, HolidayCalendar, HolidayDate, Iq, Lock, Tag, TimeSchedule, User } from '../domain/model.ts';

export const SITE_DOCUMENT_FORMAT = 'gatehouse-site';
export const SITE_DOCUMENT_VERSION = 1;

// ── The document as export writes it ────────────────────────────────────────────────────────────

export interface SiteDocumentSite {
  /** The exporting installation's site id and uid: for information, an import keeps its own. */
  id: string;
  site_uid: string;
  customer_reference: string;
  time_zone: string;
}

export type SiteDocumentIq = Iq;

/** A lock without the derived key count, with the tags holding an offline-access key on it. */
export interface SiteDocumentLock extends Omit<Lock, 'offline_access_keys_count'> {
  offline_key_tag_ids: string[];
}

export type SiteDocumentUser = User;
export type SiteDocumentTag = Tag;

export interface SiteDocumentHolidayCalendar extends HolidayCalendar {
  dates: Array<Omit<HolidayDate, 'calendar_id'>>;
}

export interface SiteDocumentAccessGroup extends AccessGroup {
  /** Lock ids, sorted. */
  lock_ids: string[];
  /** Site-user ids (`users[].id`), sorted. */
  user_ids: string[];
  /** In the order the group holds them (the first that grants is the one reported). */
  time_schedules: Array<Omit<TimeSchedule, 'access_group_id'>>;
}

export interface SiteDocument {
  format: typeof SITE_DOCUMENT_FORMAT;
  version: typeof SITE_DOCUMENT_VERSION;
  exported_at: string;
  site: SiteDocumentSite;
  iqs: SiteDocumentIq[];
  locks: SiteDocumentLock[];
  users: SiteDocumentUser[];
  tags: SiteDocumentTag[];
  holiday_calendars: SiteDocumentHolidayCalendar[];
  access_groups: SiteDocumentAccessGroup[];
}

export interface SiteDocumentCounts {
  iqs: number;
  locks: number;
  users: number;
  tags: number;
  access_groups: number;
  holiday_calendars: number;
  time_schedules: number;
}

// ── The schema an import checks ─────────────────────────────────────────────────────────────────
// Model fields reuse the contract's field schemas, so a document accepts exactly what the commands
// accept. Device state may be left out: whatever it says, an import replaces it (see deviceReset*).

const stamps = { created_at: s.instant, updated_at: s.instant };
const optionalText = (max: number) => z.string().trim().max(max).nullable();

const iqSchema = z.strictObject({
  id: s.id,
  mac: s.macAddress,
  customer_reference: s.name,
  time_zone: s.timeZone,
  subscribed: z.boolean(),
  reset_date: optionalText(64),
  firmware: optionalText(64),
  serial: optionalText(64),
  // Device state.
  online: z.boolean().optional(),
  data_sync_state: z.enum(DATA_SYNC_STATES).optional(),
  signal_strength: z.number().int().nullable().optional(),
  revision: z.number().int().min(0).optional(),
  ...stamps,
});

const lockSchema = z.strictObject({
  id: s.id,
  ...s.lockFields,
  easy_office_mode_schedule: s.eomSchedule.nullable().default(null),
  offline_key_tag_ids: z.array(s.id).default([]),
  // Device state.
  iq_link_state: z.enum(IQ_LINK_STATES).optional(),
  locked_state: z.enum(LOCKED_STATES).optional(),
  battery_level: z.enum(BATTERY_LEVELS).optional(),
  left_open_alarm: z.boolean().optional(),
  intrusion_alarm: z.boolean().optional(),
  tamper: z.boolean().optional(),
  privacy_mode: z.boolean().optional(),
  online: z.boolean().optional(),
  office_mode: z.enum(OFFICE_MODES).optional(),
  ...stamps,
});

const userSchema = z.strictObject({ id: s.id, user_id: s.id, ...s.userFields, ...stamps }).superRefine(s.validityCheck);

const tagSchema = z.strictObject({
  id: s.id,
  ...s.tagFields,
  added_date: s.instant,
  lost_or_stolen: z.boolean(),
  lost_or_stolen_date: s.instant.nullable(),
  issue_counter: z.number().int().min(0),
  ...stamps,
});

const calendarSchema = z.strictObject({
  id: s.id,
  customer_reference: s.name,
  dates: z.array(s.holidayDate).default([]),
  ...stamps,
});

const groupSchema = z.strictObject({
  id: s.id,
  customer_reference: s.name,
  holiday_calendar_id: s.id.nullable(),
  lock_ids: z.array(s.id).default([]),
  user_ids: z.array(s.id).default([]),
  time_schedules: z.array(s.timeScheduleReplace).default([]),
  ...stamps,
});

export const siteDocumentSchema = z.strictObject({
  format: z.literal(SITE_DOCUMENT_FORMAT),
  version: z.literal(SITE_DOCUMENT_VERSION),
  exported_at: s.instant,
  site: z.strictObject({
    id: s.id.optional(),
    site_uid: z.string().max(64).optional(),
    customer_reference: s.name,
    time_zone: s.timeZone,
  }),
  iqs: z.array(iqSchema),
  locks: z.array(lockSchema),
  users: z.array(userSchema),
  tags: z.array(tagSchema),
  holiday_calendars: z.array(calendarSchema),
  access_groups: z.array(groupSchema),
});

/** What a caller may hand to site.import: an exported document, or one with device state left out. */
export type SiteDocumentInput = z.input<typeof siteDocumentSchema>;
/** A document that passed the schema (MACs and card UIDs normalised, defaults filled in). */
export type ParsedSiteDocument = z.output<typeof siteDocumentSchema>;

// Compile-time: whatever export writes, import accepts.
type Assignable<A extends B, B> = A;
export type _ExportIsImportable = Assignable<SiteDocument, SiteDocumentInput>;

// ── Device state on import ──────────────────────────────────────────────────────────────────────
// ── Checking a document ─────────────────────────────────────────────────────────────────────────

export function documentCounts(doc: Pick<ParsedSiteDocument, 'iqs' | 'locks' | 'users' | 'tags' | 'access_groups' | 'holiday_calendars'>): SiteDocumentCounts {
  return {
    iqs: doc.iqs.length,
    locks: doc.locks.length,
    users: doc.users.length,
    tags: doc.tags.length,
    access_groups: doc.access_groups.length,
    holiday_calendars: doc.holiday_calendars.length,
    time_schedules: doc.access_groups.reduce((n, g) => n + g.time_schedules.length, 0),
  };
}

export type SiteDocumentCheck = { document: ParsedSiteDocument; issues: [] } | { document: null; issues: ErrorIssue[] };

/**
 * Checks a document completely: its shape first (every problem, with paths like `users.12.email`),
 * then, when the shape is right, every reference and uniqueness rule. Writes nothing.
 */
export function checkSiteDocument(raw: unknown): SiteDocumentCheck {
  const head = checkHead(raw);
  if (head.length) return { document: null, issues: head };
  const r = siteDocumentSchema.safeParse(raw);
  if (!r.success) {
    return { document: null, issues: r.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(document)', message: i.message })) };
  }
  const issues = checkReferences(r.data);
  return issues.length ? { document: null, issues } : { document: r.data, issues: [] };
}

/** A file that is not a site document at all (or a newer one) gets one clear sentence, not a page of issues. */
function checkHead(raw: unknown): ErrorIssue[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return [{ path: '(document)', message: 'must be a JSON object (a Gatehouse site document)' }];
  const { format, version } = raw as Record<string, unknown>;
  if (format !== SITE_DOCUMENT_FORMAT) {
    return [{ path: 'format', message: `must be '${SITE_DOCUMENT_FORMAT}': this file is not a Gatehouse site document` }];
  }
  if (typeof version === 'number' && version > SITE_DOCUMENT_VERSION) {
    return [{ path: 'version', message: `version ${version} was written by a newer Gatehouse; this one reads version ${SITE_DOCUMENT_VERSION}` }];
  }
  return [];
}

/** References that must resolve inside the document, and values the database keeps unique. */
export function checkReferences(doc: ParsedSiteDocument): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  const issue = (path: string, message: string) => issues.push({ path, message });

  /** Reports every value seen before; returns the set of values. */
  const unique = <T>(items: readonly T[], collection: string, field: string, key: (t: T) => string | null, describe: (v: string) => string) => {
    const first = new Map<string, number>();
    items.forEach((item, i) => {
      const k = key(item);
      if (k === null) return;
      const at = first.get(k);
      if (at === undefined) first.set(k, i);
      else issue(`${collection}.${i}.${field}`, `${describe(k)} is also used by ${collection}.${at}`);
    });
    return new Set(first.keys());
  };
  const ids = <T extends { id: string }>(items: readonly T[], collection: string) => unique(items, collection, 'id', (t) => t.id, (v) => `id '${v}'`);

  const iqIds = ids(doc.iqs, 'iqs');
  unique(doc.iqs, 'iqs', 'mac', (q) => q.mac, (v) => `MAC ${v}`);

  const lockIds = ids(doc.locks, 'locks');
  unique(doc.locks, 'locks', 'mac', (l) => l.mac, (v) => `MAC ${v}`);

  const userIds = ids(doc.users, 'users');
  const platformIds = unique(doc.users, 'users', 'user_id', (u) => u.user_id, (v) => `user_id '${v}'`);
  unique(doc.users, 'users', 'email', (u) => u.email?.toLowerCase() ?? null, (v) => `e-mail ${v}`);

  const tagIds = ids(doc.tags, 'tags');
  unique(doc.tags, 'tags', 'tag_number', (t) => t.tag_number, (v) => `tag number ${v}`);
  unique(doc.tags, 'tags', 'card_uid', (t) => t.card_uid, (v) => `card UID ${v}`);

  const calendarIds = ids(doc.holiday_calendars, 'holiday_calendars');
  ids(doc.access_groups, 'access_groups');

  const missing = (path: string, id: string, what: string, collection: string) => issue(path, `${what} '${id}' is not in the document (${collection})`);

  doc.locks.forEach((l, i) => {
    if (l.iq_id !== null && !iqIds.has(l.iq_id)) missing(`locks.${i}.iq_id`, l.iq_id, 'IQ', 'iqs');
    const seen = new Set<string>();
    l.offline_key_tag_ids.forEach((t, j) => {
      if (!tagIds.has(t)) missing(`locks.${i}.offline_key_tag_ids.${j}`, t, 'tag', 'tags');
      else if (seen.has(t)) issue(`locks.${i}.offline_key_tag_ids.${j}`, `tag '${t}' is listed twice`);
      seen.add(t);
    });
    if (seen.size > l.offline_access_keys_limit) {
      issue(`locks.${i}.offline_key_tag_ids`, `${seen.size} offline-access keys, but the lock has offline_access_keys_limit ${l.offline_access_keys_limit}`);
    }
  });

  doc.tags.forEach((t, i) => {
    if (t.user_id !== null && !userIds.has(t.user_id)) missing(`tags.${i}.user_id`, t.user_id, 'person', 'users');
    if (t.source_iq_id !== null && !iqIds.has(t.source_iq_id)) missing(`tags.${i}.source_iq_id`, t.source_iq_id, 'IQ', 'iqs');
  });

  doc.holiday_calendars.forEach((c, i) => {
    unique(c.dates, `holiday_calendars.${i}.dates`, 'date', (d) => d.date, (v) => `date ${v}`);
  });

  const scheduleAt = new Map<string, string>();
  doc.access_groups.forEach((g, i) => {
    if (g.holiday_calendar_id !== null && !calendarIds.has(g.holiday_calendar_id)) {
      missing(`access_groups.${i}.holiday_calendar_id`, g.holiday_calendar_id, 'holiday calendar', 'holiday_calendars');
    }
    const locks = new Set<string>();
    g.lock_ids.forEach((l, j) => {
      if (!lockIds.has(l)) missing(`access_groups.${i}.lock_ids.${j}`, l, 'lock', 'locks');
      else if (locks.has(l)) issue(`access_groups.${i}.lock_ids.${j}`, `lock '${l}' is listed twice`);
      locks.add(l);
    });
    const members = new Set<string>();
    g.user_ids.forEach((u, j) => {
      const path = `access_groups.${i}.user_ids.${j}`;
      if (!userIds.has(u)) {
        issue(
          path,
          platformIds.has(u)
            ? `'${u}' is a person's platform user_id; groups list the person's id (users[].id)`
            : `person '${u}' is not in the document (users)`,
        );
      } else if (members.has(u)) issue(path, `person '${u}' is listed twice`);
      members.add(u);
    });
    g.time_schedules.forEach((t, j) => {
      const path = `access_groups.${i}.time_schedules.${j}.id`;
      const other = scheduleAt.get(t.id);
      if (other) issue(path, `time schedule id '${t.id}' is also used by ${other}`);
      else scheduleAt.set(t.id, `access_groups.${i}.time_schedules.${j}`);
    });
  });

  return issues;
}
