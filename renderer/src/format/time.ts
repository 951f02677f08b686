// Instants shown in a zone (the site's, or a lock's) and the operator's locale, with Luxon.
import { DateTime } from 'luxon';

export function formatInstant(iso: string | null | undefined, zone: string, locale: string, style: 'datetime' | 'date' | 'time' = 'datetime'): string {
  if (!iso) return '—';
  const dt = DateTime.fromISO(iso, { zone: 'utc' }).setZone(zone).setLocale(locale);
  if (!dt.isValid) return iso;
  if (style === 'date') return dt.toLocaleString(DateTime.DATE_MED);
  if (style === 'time') return dt.toLocaleString(DateTime.TIME_24_WITH_SECONDS);
  return dt.toLocaleString({ ...DateTime.DATETIME_MED_WITH_SECONDS, hourCycle: 'h23' });
}

/** A local wall-clock string ("2026-11-24T21:10:00") as the operator reads it. */
export function formatLocal(local: string | null | undefined, locale: string): string {
  if (!local) return '—';
  const dt = DateTime.fromISO(local, { zone: 'utc' }).setLocale(locale);
  return dt.isValid ? dt.toLocaleString({ ...DateTime.DATETIME_MED_WITH_SECONDS, hourCycle: 'h23' }) : local;
}

/** The site zone's wall time now, for date pickers and "today". */
export function nowIn(zone: string): DateTime {
  return DateTime.now().setZone(zone);
}
