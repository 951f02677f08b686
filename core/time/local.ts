// Local calendar arithmetic on "wall ms" (the wall clock read as if it were UTC) and day numbers
// (days since 1970-01-01 in local time). Pure integer maths: no zone is involved here.
import { DAY_MS } from './zone.ts';

const TIME_RE = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;

/** "HH:MM" or "HH:MM:SS" → seconds since local midnight, or null when malformed. */
export function parseTimeOfDay(text: string): number | null {
  const m = TIME_RE.exec(text);
  if (!m) return null;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0);
}

export function formatTimeOfDay(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${pad2(h)}:${pad2(m)}:${pad2(s)}`;
}

/** "YYYY-MM-DD" → local day number, or null when not a real calendar date. */
export function parseLocalDate(text: string): number | null {
  const m = DATE_RE.exec(text);
  if (!m) return null;
  return dayFromParts(Number(m[1]), Number(m[2]), Number(m[3]));
}

export interface LocalBound {
  /** Wall ms of the bound. */
  wallMs: number;
  /** True when the text had no time part (a whole day). */
  dateOnly: boolean;
}

/** "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS]" → wall ms, or null when malformed. */
export function parseLocalDateTime(text: string): LocalBound | null {
  const day = parseLocalDate(text);
  if (day !== null) return { wallMs: day * DAY_MS, dateOnly: true };
  const m = DATETIME_RE.exec(text);
  if (!m) return null;
  const d = dayFromParts(Number(m[1]), Number(m[2]), Number(m[3]));
  if (d === null) return null;
  const secs = Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6] ?? 0);
  return { wallMs: d * DAY_MS + secs * 1000, dateOnly: false };
}

function dayFromParts(y: number, mo: number, d: number): number | null {
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return null;
  const ms = Date.UTC(y, mo - 1, d);
  const check = new Date(ms);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return Math.round(ms / DAY_MS);
}

export function formatLocalDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** "YYYY-MM-DDTHH:MM:SS" for wall ms. */
export function formatWallTime(wallMs: number): string {
  return new Date(wallMs).toISOString().slice(0, 19);
}

/** 0 = Monday … 6 = Sunday. 1970-01-01 was a Thursday. */
export function weekdayOf(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

export function dayOfWallMs(wallMs: number): number {
  return Math.floor(wallMs / DAY_MS);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
