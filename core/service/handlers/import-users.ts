// People from CSV (docs/csv-import.md). Every row is checked before anything is written; one bad row
// means nothing is written and every problem is reported with its line and column. Re-running the same
// file is harmless: rows are matched to existing people by id, then by e-mail, and updated.
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import type { ImportReport, ImportRowError } from '../../contract/results.ts';
import { cardUid, email, instant, tagNumber } from '../../contract/schemas.ts';
import { USER_KINDS } from '../../domain/enums.ts';
import type { User } from '../../domain/model.ts';
import { stmt } from '../../store/db.ts';
import { addGroupUser } from '../../store/repos/access-groups.ts';
import { getSite } from '../../store/repos/site.ts';
import { getTagByNumber, updateTag } from '../../store/repos/tags.ts';
import { findUserByEmail, getUser, updateUser } from '../../store/repos/users.ts';
import { parseLocalDate } from '../../time/local.ts';
import { DAY_MS, liveOffsetFn, resolveWallTime } from '../../time/zone.ts';
import type { CommandContext } from '../context.ts';
import { patched, saveIfChanged } from './common.ts';
import { createTag, createUser } from './people.ts';

export const CSV_COLUMNS = [
  'id',
  'first_name',
  'last_name',
  'email',
  'alias',
  'phone',
  'kind',
  'valid_from',
  'valid_until',
  'blocked',
  'remote_access',
  'override_privacy_mode',
  'toggle_easy_office_mode',
  'toggle_manual_office_mode',
  'notes',
  'tag_number',
  'card_uid',
  'access_groups',
] as const;
type Column = (typeof CSV_COLUMNS)[number];

const BOOL_WORDS: Record<string, boolean> = { true: true, yes: true, y: true, '1': true, ja: true, false: false, no: false, n: false, '0': false, nee: false };

interface Row {
  line: number;
  values: Partial<Record<Column, string>>;
}

interface PlannedRow {
  line: number;
  existing: User | null;
  fields: Partial<User>;
  tag: { tag_number: string; card_uid: string | null } | null;
  groupIds: string[];
}

export function importUsersCsv(ctx: CommandContext, csv: string, dryRun: boolean): ImportReport {
  const errors: ImportRowError[] = [];
  const rows = readRows(csv, errors);
  const plan = errors.length ? [] : planRows(ctx, rows, errors);
  const report: ImportReport = { dry_run: dryRun, rows: rows.length, created: 0, updated: 0, errors };
  for (const p of plan) report[p.existing ? 'updated' : 'created']++;
  if (errors.length || dryRun) {
    if (errors.length) {
      report.created = 0;
      report.updated = 0;
    }
    return report;
  }
  plan.forEach((p, i) => {
    writeRow(ctx, p);
    if (i % 500 === 0) ctx.meta.onProgress?.(i, plan.length, 'importing');
  });
  ctx.meta.onProgress?.(plan.length, plan.length, 'importing');
  return report;
}

function readRows(csv: string, errors: ImportRowError[]): Row[] {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(csv.replace(/^\uFEFF/, ''), { info: true, skip_empty_lines: true, relax_column_count: false, trim: true }) as never;
  } catch (e) {
    const err = e as { message: string; lines?: number };
    errors.push({ line: err.lines ?? 1, column: null, message: `Not valid CSV: ${err.message}` });
    return [];
  }
  if (records.length === 0) {
    errors.push({ line: 1, column: null, message: 'The file is empty: expected a header row' });
    return [];
  }
  const header = records[0]!.record.map((h) => h.toLowerCase());
  const columns: Column[] = [];
  header.forEach((h) => {
    if ((CSV_COLUMNS as readonly string[]).includes(h)) columns.push(h as Column);
    else errors.push({ line: 1, column: h, message: `Unknown column '${h}'; known columns: ${CSV_COLUMNS.join(', ')}` });
  });
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup) errors.push({ line: 1, column: dup, message: `Column '${dup}' appears twice` });
  if (!['first_name', 'last_name', 'email', 'alias'].some((c) => header.includes(c))) {
    errors.push({ line: 1, column: null, message: 'The header needs at least one of first_name, last_name, email or alias' });
  }
  if (errors.length) return [];
  return records.slice(1).map(({ record, info }) => ({
    line: info.lines,
    values: Object.fromEntries(columns.map((c, i) => [c, record[i] ?? ''])) as Partial<Record<Column, string>>,
  }));
}

function planRows(ctx: CommandContext, rows: Row[], errors: ImportRowError[]): PlannedRow[] {
  const zone = getSite(ctx.db)!.time_zone;
  const groupsByName = new Map<string, string[]>();
  for (const g of stmt(ctx.db, 'SELECT id, customer_reference FROM access_groups').all() as Array<{ id: string; customer_reference: string }>) {
    const key = g.customer_reference.trim().toLowerCase();
    groupsByName.set(key, [...(groupsByName.get(key) ?? []), g.id]);
  }
  const seenEmails = new Map<string, number>();
  const seenTags = new Map<string, number>();
  const seenIds = new Map<string, number>();
  const plan: PlannedRow[] = [];
  for (const row of rows) {
    const err = (column: Column | null, message: string) => errors.push({ line: row.line, column, message });
    const v = (c: Column): string | undefined => {
      const s = row.values[c];
      return s === undefined || s === '' ? undefined : s;
    };
    const fields: Partial<User> = {};
    const check = <T>(c: Column, schema: z.ZodType<T>, raw: unknown): T | undefined => {
      const r = schema.safeParse(raw);
      if (r.success) return r.data;
      err(c, `${r.error.issues[0]?.message ?? 'invalid'} (got '${String(raw)}')`);
      return undefined;
    };
    for (const c of ['first_name', 'last_name', 'alias', 'phone', 'notes'] as const) {
      const s = v(c);
      if (s !== undefined) fields[c] = check(c, z.string().max(c === 'notes' ? 2000 : 100), s);
    }
    const mail = v('email');
    if (mail !== undefined) fields.email = check('email', email, mail)?.toLowerCase();
    const kind = v('kind');
    if (kind !== undefined) fields.kind = check('kind', z.enum(USER_KINDS, { error: `must be one of ${USER_KINDS.join(', ')}` }), kind.toLowerCase());
    for (const c of ['blocked', 'remote_access', 'override_privacy_mode', 'toggle_easy_office_mode', 'toggle_manual_office_mode'] as const) {
      const s = v(c);
      if (s === undefined) continue;
      const b = BOOL_WORDS[s.toLowerCase()];
      if (b === undefined) err(c, `must be true or false (got '${s}')`);
      else fields[c] = b;
    }
    for (const c of ['valid_from', 'valid_until'] as const) {
      const s = v(c);
      if (s === undefined) continue;
      const day = parseLocalDate(s);
      if (day !== null) {
        // A date means the start of that day (from) or the end of it (until), in the site's zone.
        fields[c] = new Date(resolveWallTime(liveOffsetFn(zone), (c === 'valid_from' ? day : day + 1) * DAY_MS, 'clamp')).toISOString();
      } else fields[c] = check(c, instant, s);
    }
    if (fields.valid_from && fields.valid_until && fields.valid_until <= fields.valid_from) err('valid_until', 'must be after valid_from');

    let existing: User | null = null;
    const id = v('id');
    if (id !== undefined) {
      existing = getUser(ctx.db, id);
      if (!existing) err('id', `no person with id '${id}'`);
      else if (seenIds.has(id)) err('id', `the same person is also on line ${seenIds.get(id)}`);
      seenIds.set(id, row.line);
    } else if (fields.email) existing = findUserByEmail(ctx.db, fields.email);
    if (fields.email) {
      const other = findUserByEmail(ctx.db, fields.email);
      if (other && existing && other.id !== existing.id) err('email', `${fields.email} already belongs to ${other.first_name} ${other.last_name}`);
      if (seenEmails.has(fields.email)) err('email', `${fields.email} is also on line ${seenEmails.get(fields.email)}`);
      seenEmails.set(fields.email, row.line);
    }
    if (!existing && !fields.first_name && !fields.last_name && !fields.alias && !fields.email) {
      err(null, 'a new person needs a first name, last name, alias or e-mail');
    }

    let tag: PlannedRow['tag'] = null;
    const tn = v('tag_number');
    const uid = v('card_uid');
    if (tn !== undefined) {
      const number = check('tag_number', tagNumber, tn);
      const card = uid === undefined ? null : (check('card_uid', cardUid, uid) ?? null);
      if (number) {
        const known = getTagByNumber(ctx.db, number);
        if (known?.user_id && known.user_id !== existing?.id) err('tag_number', `tag ${number} already belongs to someone else`);
        if (seenTags.has(number)) err('tag_number', `tag ${number} is also on line ${seenTags.get(number)}`);
        seenTags.set(number, row.line);
        tag = { tag_number: number, card_uid: card };
      }
    } else if (uid !== undefined) err('card_uid', 'a card_uid needs a tag_number on the same row');

    const groupIds: string[] = [];
    for (const name of (v('access_groups') ?? '').split(';').map((s) => s.trim()).filter(Boolean)) {
      const ids = groupsByName.get(name.toLowerCase());
      if (!ids) err('access_groups', `no access group named '${name}'`);
      else if (ids.length > 1) err('access_groups', `more than one access group is named '${name}'`);
      else groupIds.push(ids[0]!);
    }
    plan.push({ line: row.line, existing, fields, tag, groupIds });
  }
  return plan;
}

function writeRow(ctx: CommandContext, p: PlannedRow): void {
  let userId: string;
  if (p.existing) {
    saveIfChanged(ctx, { kind: 'user', id: p.existing.id }, p.existing, patched(p.existing, p.fields), (r) => updateUser(ctx.db, r));
    userId = p.existing.id;
  } else {
    const f = p.fields;
    userId = createUser(ctx, {
      first_name: f.first_name ?? '',
      last_name: f.last_name ?? '',
      email: f.email ?? null,
      alias: f.alias ?? null,
      phone: f.phone ?? null,
      kind: f.kind ?? 'employee',
      blocked: f.blocked ?? false,
      subscription_state: 'subscribed',
      valid_from: f.valid_from ?? null,
      valid_until: f.valid_until ?? null,
      remote_access: f.remote_access ?? false,
      toggle_easy_office_mode: f.toggle_easy_office_mode ?? false,
      toggle_manual_office_mode: f.toggle_manual_office_mode ?? false,
      override_privacy_mode: f.override_privacy_mode ?? false,
      notes: f.notes ?? null,
      access_group_ids: [],
    }).id;
  }
  if (p.tag) {
    const known = getTagByNumber(ctx.db, p.tag.tag_number);
    if (!known) createTag(ctx, { tag_number: p.tag.tag_number, card_uid: p.tag.card_uid, kind: 'card', source_iq_id: null, user_id: userId, blocked: false });
    else if (known.user_id !== userId || (p.tag.card_uid && known.card_uid !== p.tag.card_uid)) {
      const after = { ...known, user_id: userId, card_uid: p.tag.card_uid ?? known.card_uid, updated_at: ctx.nowIso };
      updateTag(ctx.db, after);
      ctx.log({ target_type: 'tag', target_id: known.id, before: { user_id: known.user_id, card_uid: known.card_uid }, after: { user_id: userId, card_uid: after.card_uid } });
    }
  }
  const added = p.groupIds.filter((g) => addGroupUser(ctx.db, g, userId));
  if (added.length) ctx.log({ target_type: 'access_group', target_id: null, after: { user_id: userId, added_to: added }, touches: [{ kind: 'user', id: userId }] });
}
