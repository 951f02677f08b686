// Hand-made access tables for the simulator's own tests and for demos without a core: records written
// from docs/access-table.md (the hub never encodes records itself; it only reads them). The default
// site is one IQ in Europe/Amsterdam with the zone's real transitions around the window.
import { Writer } from './bytes.ts';
import { decodeTable, encodeDiff, encodeTable } from './table.ts';

export const DAY_MS = 86_400_000;
export const WEEKDAY_BITS = { mon: 1, tue: 2, wed: 4, thu: 8, fri: 16, sat: 32, sun: 64, holiday: 128, special_1: 256, special_2: 512 } as const;
export const EVERY_DAY = 0x7f;

export interface RuleSpec {
  mask: number;
  /** "HH:MM:SS" local. */
  start: string;
  /** Inclusive, "HH:MM:SS" local. */
  end: string;
  /** Local wall clock as "YYYY-MM-DDTHH:MM:SS" (inclusive), or null. */
  from?: string | null;
  /** Local wall clock, exclusive, or null. */
  until?: string | null;
}

export interface HeaderSpec {
  iqId: string;
  zone: string;
  validFrom: number;
  validUntil: number;
  initialOffset: number;
  transitions: Array<{ at: number; offset: number }>;
}

const sec = (hms: string): number => {
  const [h, m, s] = hms.split(':').map(Number);
  return h! * 3600 + m! * 60 + (s ?? 0);
};

/** Local wall-clock seconds since 1970-01-01 of "YYYY-MM-DDTHH:MM:SS". */
export const wallSeconds = (local: string): number => Date.parse(`${local}Z`) / 1000;

function rule(w: Writer, r: RuleSpec): Writer {
  w.uint(r.mask).uint(sec(r.start)).uint(sec(r.end));
  w.optionalInt(r.from ? wallSeconds(r.from) : null);
  return w.optionalInt(r.until ? wallSeconds(r.until) : null);
}

export const record = {
  header(h: HeaderSpec, format = 1): Uint8Array {
    const w = new Writer().u8(0x48).uint(format).str(h.iqId).str(h.zone).int(h.validFrom).int(h.validUntil).int(h.initialOffset).uint(h.transitions.length);
    for (const t of h.transitions) w.int(t.at / 1000).int(t.offset);
    return w.finish();
  },
  registry(bucket: number, numbers: number[]): Uint8Array {
    return new Writer().u8(0x52).uint(bucket).sortedUints([...numbers].sort((a, b) => a - b)).finish();
  },
  calendar(pk: number, days: Array<{ day: number; type: 0 | 1 | 2 }>): Uint8Array {
    const w = new Writer().u8(0x43).uint(pk).uint(days.length);
    let prev = 0;
    for (const d of [...days].sort((a, b) => a.day - b.day)) {
      w.int(d.day - prev).u8(d.type);
      prev = d.day;
    }
    return w.finish();
  },
  lock(l: { pk: number; id: string; offline?: number[]; eom?: (RuleSpec & { autoStart: boolean }) | null }): Uint8Array {
    const w = new Writer().u8(0x4c).uint(l.pk).str(l.id).sortedUints([...(l.offline ?? [])].sort((a, b) => a - b));
    if (!l.eom) return w.u8(0).finish();
    return rule(w.u8(l.eom.autoStart ? 2 : 1), l.eom).finish();
  },
  group(g: { pk: number; calendarPk?: number; locks: number[]; schedules: Array<RuleSpec & { pk: number }> }): Uint8Array {
    const w = new Writer().u8(0x47).uint(g.pk).uint(g.calendarPk ?? 0).sortedUints([...g.locks].sort((a, b) => a - b)).uint(g.schedules.length);
    for (const s of g.schedules) rule(w.uint(s.pk), s);
    return w.finish();
  },
  user(u: { pk: number; flags?: number; validFrom?: number | null; validUntil?: number | null; groups: number[] }): Uint8Array {
    return new Writer()
      .u8(0x55)
      .uint(u.pk)
      .uint(u.flags ?? 0)
      .optionalInt(u.validFrom ?? null)
      .optionalInt(u.validUntil ?? null)
      .sortedUints([...u.groups].sort((a, b) => a - b))
      .finish();
  },
  tag(t: { number: number; uid?: Uint8Array | null; flags?: number; userPk: number; issueCounter?: number }): Uint8Array {
    return new Writer()
      .u8(0x54)
      .uint(t.number)
      .bytes(t.uid ?? new Uint8Array(0))
      .uint(t.flags ?? 0)
      .uint(t.userPk)
      .uint(t.issueCounter ?? 0)
      .finish();
  },
};

/** Europe/Amsterdam around 2026–2027: CEST until 2026-10-25, CET, CEST from 2027-03-28, CET from 2027-10-31. */
export const AMSTERDAM: Pick<HeaderSpec, 'zone' | 'initialOffset' | 'transitions'> = {
  zone: 'Europe/Amsterdam',
  initialOffset: 120,
  transitions: [
    { at: Date.UTC(2026, 9, 25, 1), offset: 60 },
    { at: Date.UTC(2027, 2, 28, 1), offset: 120 },
    { at: Date.UTC(2027, 9, 31, 1), offset: 60 },
  ],
};

export const WINDOW = { validFrom: Date.UTC(2026, 10, 1) - 3 * DAY_MS, validUntil: Date.UTC(2026, 10, 1) + 440 * DAY_MS };

export interface SiteFixture {
  header?: Partial<HeaderSpec>;
  /** Registered tag numbers that this hub holds no tag record for. */
  registered?: number[];
  locks: Array<Parameters<typeof record.lock>[0]>;
  groups?: Array<Parameters<typeof record.group>[0]>;
  users?: Array<Parameters<typeof record.user>[0]>;
  tags?: Array<Parameters<typeof record.tag>[0]>;
  calendars?: Array<{ pk: number; days: Array<{ day: number; type: 0 | 1 | 2 }> }>;
}

/** All records of a site fixture, including all 64 registry records. */
export function siteRecords(site: SiteFixture): Uint8Array[] {
  const header: HeaderSpec = { iqId: 'iq-1', ...AMSTERDAM, ...WINDOW, ...site.header };
  const numbers = [...(site.registered ?? []), ...(site.tags ?? []).map((t) => t.number)];
  const buckets: number[][] = Array.from({ length: 64 }, () => []);
  for (const n of new Set(numbers)) buckets[n % 64]!.push(n);
  return [
    record.header(header),
    ...buckets.map((b, i) => record.registry(i, b)),
    ...site.locks.map(record.lock),
    ...(site.groups ?? []).map(record.group),
    ...(site.users ?? []).map(record.user),
    ...(site.tags ?? []).map(record.tag),
    ...(site.calendars ?? []).map((c) => record.calendar(c.pk, c.days)),
  ];
}

export function siteTable(site: SiteFixture): Uint8Array {
  return encodeTable(siteRecords(site));
}

/** Local day number (days since 1970-01-01) of a "YYYY-MM-DD" date. */
export const localDay = (date: string): number => Date.parse(`${date}T00:00:00Z`) / DAY_MS;

/** The diff (GHAD bytes) from one serialised table to another; `tweak` may damage it for tests. */
export function diffBetween(from: Uint8Array, to: Uint8Array, tweak?: (d: { removed: string[]; upserted: Uint8Array[] }) => void): Uint8Array {
  const a = decodeTable(from);
  const b = decodeTable(to);
  if (!a.ok || !b.ok) throw new Error('diffBetween needs two valid tables');
  const removed = [...a.table.records.keys()].filter((k) => !b.table.records.has(k));
  const upserted = [...b.table.records].filter(([k, r]) => !a.table.records.get(k) || Buffer.compare(a.table.records.get(k)!, r) !== 0).map(([, r]) => r);
  const d = { removed, upserted };
  tweak?.(d);
  return encodeDiff({ fromHash: a.table.hash, toHash: b.table.hash, ...d });
}
