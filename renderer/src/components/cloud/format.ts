// How the cloud sync screen says things: times relative and absolute (in the site's zone), record
// fields in words, and the values a conflict holds (yes/no, "not set", a group's members and doors by
// name, a time schedule as days and hours, anything else as compact JSON).
import { DateTime } from 'luxon';
import { onMounted, onUnmounted, reactive, ref, type Ref } from 'vue';
import type { CloudConflict, Permission } from '../../../../core/contract/index.ts';
import { client } from '../../client/contract-client.ts';
import { displayName } from '../../format/person.ts';
import { formatInstant } from '../../format/time.ts';

type T = (key: string, named?: Record<string, unknown> | number) => string;

/** A clock that ticks, so "3 minutes ago" stays true while the screen is open. */
export function useNow(everyMs = 20_000): Ref<number> {
  const now = ref(Date.now());
  let timer: ReturnType<typeof setInterval> | undefined;
  onMounted(() => (timer = setInterval(() => (now.value = Date.now()), everyMs)));
  onUnmounted(() => clearInterval(timer));
  return now;
}

/** "4 minutes ago" (never in the future: a clock a little ahead of the core's says "now"). */
export function relative(iso: string, locale: string, now: number): string {
  const dt = DateTime.fromISO(iso, { zone: 'utc' });
  if (!dt.isValid) return iso;
  const base = DateTime.fromMillis(Math.max(now, dt.toMillis() + 1000));
  return dt.setLocale(locale).toRelative({ base }) ?? iso;
}

export const absolute = (iso: string, zone: string, locale: string) => formatInstant(iso, zone, locale);

// ── Names of records a field refers to by id ──────────────────────────────────────────────────

export type RefKind = 'user' | 'lock' | 'iq';
const READ: Record<RefKind, Permission> = { user: 'people.read', lock: 'hardware.read', iq: 'hardware.read' };

/**
 * Names of people, doors and IQs by local id, fetched once each when first asked for. A record this
 * operator may not read, or one that is gone, keeps a short form of its id.
 */
export function useRecordNames(can: (p: Permission) => boolean) {
  const names = reactive(new Map<string, string>());
  const asked = new Set<string>();
  async function fetchName(kind: RefKind, id: string): Promise<string> {
    if (kind === 'user') return displayName(await client.call('users.get', { id }));
    if (kind === 'lock') return (await client.call('locks.get', { id })).customer_reference;
    return (await client.call('iqs.get', { id })).customer_reference;
  }
  function name(kind: RefKind, id: string): string {
    const key = `${kind}:${id}`;
    if (!asked.has(key)) {
      asked.add(key);
      if (can(READ[kind]))
        fetchName(kind, id).then(
          (n) => names.set(key, n),
          () => undefined,
        );
    }
    return names.get(key) ?? shortId(id);
  }
  return { name };
}

export const shortId = (id: string) => (id.length > 12 ? `${id.slice(0, 8)}…` : id);

// ── Fields and values ─────────────────────────────────────────────────────────────────────────

const GROUP_FIELD = /^(lock|user|time_schedule):(.+)$/;
const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'holiday', 'special_1', 'special_2'] as const;

/** What a field of a record is, in words: "Last name", "Member Ada King", "Door Main entrance". */
export function fieldLabel(field: string, t: T, name: (kind: RefKind, id: string) => string): string {
  const m = GROUP_FIELD.exec(field);
  if (m) {
    if (m[1] === 'user') return t('cloud.fields.member', { name: name('user', m[2]!) });
    if (m[1] === 'lock') return t('cloud.fields.door', { name: name('lock', m[2]!) });
    return t('cloud.fields.schedule');
  }
  const key = `cloud.fields.${field}`;
  const said = t(key);
  return said === key ? field.replace(/_/g, ' ') : said;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys sorted, nulls left out: the same value always reads the same. */
export function compactJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(compactJson).join(', ')}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .filter((k) => v[k] !== null && v[k] !== undefined)
      .sort()
      .map((k) => `${k}: ${compactJson(v[k])}`)
      .join(', ')}}`;
  return JSON.stringify(v);
}

function schedule(v: Record<string, unknown>, t: T): string | null {
  if (typeof v.start_time !== 'string' || typeof v.end_time !== 'string') return null;
  const days = DAYS.filter((d) => v[d] === true).map((d) => t(`cloud.values.days.${d}`));
  const hours = `${v.start_time.slice(0, 5)}–${v.end_time.slice(0, 5)}`;
  const dates = typeof v.start_date === 'string' || typeof v.end_date === 'string' ? ` (${String(v.start_date ?? '…')} – ${String(v.end_date ?? '…')})` : '';
  return `${days.join(' ')} ${hours}${dates}`.trim();
}

/** One value of one field, readably. */
export function formatValue(field: string, v: unknown, t: T, name: (kind: RefKind, id: string) => string): string {
  if (/^(lock|user):/.test(field)) return v === true ? t('cloud.values.inGroup') : t('cloud.values.notInGroup');
  if (v === null || v === undefined || v === '') return t('cloud.values.notSet');
  if (typeof v === 'boolean') return v ? t('cloud.values.yes') : t('cloud.values.no');
  if (typeof v === 'string') {
    if (field === 'user_id') return name('user', v);
    if (field === 'iq_id') return name('iq', v);
    return v;
  }
  if (typeof v === 'number') return String(v);
  if (isObject(v)) return schedule(v, t) ?? compactJson(v);
  return compactJson(v);
}

/**
 * A whole record a delete-against-edit conflict keeps: the fields the edit changed from the base, in
 * words ("edited: Last name King"), or the record itself when there is no base to compare with.
 */
export function formatRecord(c: CloudConflict, v: unknown, t: T, name: (kind: RefKind, id: string) => string): string {
  if (v === null || v === undefined) return t('cloud.conflicts.deleted');
  if (!isObject(v)) return formatValue('', v, t, name);
  const base = isObject(c.base_value) ? c.base_value : null;
  if (!base) return compactJson(v);
  const keys = [...new Set([...Object.keys(v), ...Object.keys(base)])].sort();
  const changed = keys.filter((k) => compactJson(v[k] ?? null) !== compactJson(base[k] ?? null));
  if (changed.length === 0) return compactJson(v);
  return t('cloud.conflicts.edited', { changes: changed.map((k) => `${fieldLabel(k, t, name)} → ${formatValue(k, v[k] ?? null, t, name)}`).join('; ') });
}
