// Input schemas shared by the contract's commands. Objects are strict: an unknown field is an error
// that names it, not something silently dropped.
import { z } from 'zod';
import {
  DAY_TYPES,
  LOCK_TYPES,
  OPERATOR_ROLES,
  SUBSCRIPTION_STATES,
  TAG_KINDS,
  USER_KINDS,
  WEEKDAYS,
} from '../domain/enums.ts';
import type { Filter } from '../query/filter.ts';
import { parseLocalDate, parseLocalDateTime, parseTimeOfDay } from '../time/local.ts';
import { isValidZone } from '../time/zone.ts';
import { normalizeMac } from '../domain/mac.ts';

export const id = z.string().min(1, 'must not be empty').max(64);
export const name = z.string().trim().min(1, 'must not be empty').max(200);
export const optionalText = z.string().trim().max(2000).nullable();

export const timeZone = z.string().refine(isValidZone, { error: (i) => `'${String(i.input)}' is not an IANA time zone (e.g. Europe/Amsterdam)` });

/** An instant with an explicit offset, normalised to UTC ("2026-01-31T08:00:00.000Z"). */
export const instant = z.iso
  .datetime({ offset: true, error: 'must be an ISO-8601 date-time with an offset, e.g. 2026-01-31T08:00:00Z' })
  .transform((s) => new Date(s).toISOString());

export const localTime = z
  .string()
  .refine((s) => parseTimeOfDay(s) !== null, { error: 'must be a time HH:MM or HH:MM:SS' })
  .transform((s) => (s.length === 5 ? `${s}:00` : s));

export const localDate = z.string().refine((s) => parseLocalDate(s) !== null, { error: 'must be a date YYYY-MM-DD' });

/** A date (whole day) or a local date-time (check-in/check-out). */
export const localDateOrDateTime = z
  .string()
  .refine((s) => parseLocalDateTime(s) !== null, { error: 'must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (local time)' })
  .transform((s) => (s.length === 16 ? `${s}:00` : s));

export const tagNumber = z.string().regex(/^\d{10}$/, { error: 'must be exactly 10 digits' });
export const cardUid = z
  .string()
  .transform((s) => s.replace(/[\s:-]/g, '').toUpperCase())
  .refine((s) => /^([0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$/.test(s), { error: 'must be 4, 7 or 10 bytes of hex' });

export const email = z.email({ error: 'must be an e-mail address' }).max(254);
export const macAddress = z
  .string()
  .transform(normalizeMac)
  .refine((s) => /^([0-9A-F]{2}-){5}[0-9A-F]{2}$/.test(s), { error: 'must be a MAC address like 00-14-22-01-23-45' });

const dayFlags = Object.fromEntries(WEEKDAYS.map((d) => [d, z.boolean().default(false)])) as Record<
  (typeof WEEKDAYS)[number],
  z.ZodDefault<z.ZodBoolean>
>;

const scheduleShape = {
  ...dayFlags,
  holiday: z.boolean().default(false),
  special_1: z.boolean().default(false),
  special_2: z.boolean().default(false),
  start_time: localTime,
  end_time: localTime,
  start_date: localDateOrDateTime.nullable().default(null),
  end_date: localDateOrDateTime.nullable().default(null),
};

function checkSchedule(s: { start_date: string | null; end_date: string | null } & Record<string, unknown>, ctx: z.RefinementCtx): void {
  if (![...WEEKDAYS, 'holiday', 'special_1', 'special_2'].some((d) => s[d] === true)) {
    ctx.addIssue({ code: 'custom', message: 'At least one day should be selected', path: ['monday'] });
  }
  if (s.start_date && s.end_date) {
    const a = parseLocalDateTime(s.start_date)!.wallMs;
    const b = parseLocalDateTime(s.end_date)!.wallMs;
    if (b < a) ctx.addIssue({ code: 'custom', message: 'end_date must not be before start_date', path: ['end_date'] });
  }
}

/** CLP TimeSchedule body (with Gatehouse's holiday/special day flags). */
export const timeSchedule = z.strictObject(scheduleShape).superRefine(checkSchedule);
export const timeScheduleCreate = z.strictObject({ access_group_id: id, ...scheduleShape }).superRefine(checkSchedule);
export const timeScheduleReplace = z.strictObject({ id, ...scheduleShape }).superRefine(checkSchedule);
export const eomSchedule = z.strictObject({ ...scheduleShape, eom_auto_start: z.boolean().default(false) }).superRefine(checkSchedule);

export const filter: z.ZodType<Filter> = z.lazy(() =>
  z.union([
    z.strictObject({ op: z.enum(['and', 'or']), args: z.array(filter).min(1).max(100) }),
    z.strictObject({ op: z.literal('not'), arg: filter }),
    z.strictObject({
      op: z.enum(['eq', 'ne', 'gt', 'ge', 'lt', 'le']),
      field: z.string().max(64),
      value: z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]),
    }),
    z.strictObject({ op: z.enum(['contains', 'startswith', 'endswith']), field: z.string().max(64), value: z.string().max(1000) }),
  ]),
);

export const listShape = {
  filter: filter.optional(),
  /** Free text: matches names, references, numbers, e-mail (resource-specific). */
  search: z.string().max(200).optional(),
  order_by: z
    .array(z.strictObject({ field: z.string().max(64), direction: z.enum(['asc', 'desc']).default('asc') }))
    .max(5)
    .optional(),
  top: z.number().int().min(1).max(1000).default(100),
  skip: z.number().int().min(0).max(10_000_000).default(0),
};
export const listInput = z.strictObject(listShape);
export type ListInput = z.output<typeof listInput>;

export const idsPatchShape = { add_ids: z.array(id).max(10_000).default([]), remove_ids: z.array(id).max(10_000).default([]) };
/** CLP's {add_ids, remove_ids} body for the record `id`. */
export const idsPatch = z
  .strictObject({ id, ...idsPatchShape })
  .refine((p) => p.add_ids.length + p.remove_ids.length > 0, { error: 'add_ids or remove_ids must list at least one id', path: ['add_ids'] });

export const userFields = {
  first_name: z.string().trim().max(100),
  last_name: z.string().trim().max(100),
  email: email.nullable(),
  alias: z.string().trim().max(100).nullable(),
  phone: z.string().trim().max(40).nullable(),
  kind: z.enum(USER_KINDS),
  blocked: z.boolean(),
  subscription_state: z.enum(SUBSCRIPTION_STATES),
  valid_from: instant.nullable(),
  valid_until: instant.nullable(),
  remote_access: z.boolean(),
  toggle_easy_office_mode: z.boolean(),
  toggle_manual_office_mode: z.boolean(),
  override_privacy_mode: z.boolean(),
  notes: optionalText,
};

export const validityCheck = (u: { valid_from?: string | null; valid_until?: string | null }, ctx: z.RefinementCtx) => {
  if (u.valid_from && u.valid_until && u.valid_until <= u.valid_from) {
    ctx.addIssue({ code: 'custom', message: 'valid_until must be after valid_from', path: ['valid_until'] });
  }
};

export const tagFields = {
  tag_number: tagNumber,
  card_uid: cardUid.nullable(),
  kind: z.enum(TAG_KINDS),
  source_iq_id: id.nullable(),
  user_id: id.nullable(),
  blocked: z.boolean(),
};

export const lockFields = {
  customer_reference: name,
  mac: macAddress.nullable(),
  lock_type: z.enum(LOCK_TYPES),
  iq_id: id.nullable(),
  offline_access_keys_limit: z.number().int().min(0).max(10_000),
  floor: z.string().trim().max(50).nullable(),
};

export const holidayDate = z.strictObject({
  date: localDate,
  day_type: z.enum(DAY_TYPES).default('holiday'),
  description: z.string().trim().max(200).nullable().default(null),
});

export const operatorRole = z.enum(OPERATOR_ROLES);
export const password = z.string().min(10, 'must be at least 10 characters').max(200);
export const pin = z.string().regex(/^\d{4,8}$/, { error: 'must be 4 to 8 digits' });
