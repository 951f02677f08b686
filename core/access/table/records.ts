// The records of a compiled access table (format documented in docs/access-table.md). Every record
// starts with a kind byte and its identity, so its key can be read back from its bytes; records refer to
// each other by the store's stable integer keys (pk), so an unrelated change never rewrites them.
import { DAY_TYPES, type DayType } from '../../domain/enums.ts';
import type { ScheduleRule } from '../schedule.ts';
import type { TransitionList } from '../../time/zone.ts';
import { ByteReader, ByteWriter, TableFormatError } from './bytes.ts';

export const TABLE_FORMAT = 1;
/** Site-wide tag numbers are split over this many registry records. */
export const REGISTRY_BUCKETS = 64;

export const KIND = { header: 0x48, registry: 0x52, calendar: 0x43, lock: 0x4c, group: 0x47, user: 0x55, tag: 0x54 } as const;

export interface HeaderRecord {
  format: number;
  iq_id: string;
  time_zone: string;
  /** Epoch ms: the table answers for instants in [valid_from, valid_until). */
  valid_from: number;
  valid_until: number;
  offsets: TransitionList;
}

export interface RegistryRecord {
  bucket: number;
  tagNumbers: number[];
}

export interface CalendarRecord {
  pk: number;
  days: Array<{ day: number; type: DayType }>;
}

export interface ScheduleEntry extends ScheduleRule {
  pk: number;
}

export interface LockRecord {
  pk: number;
  id: string;
  offlineTagNumbers: number[];
  eom: (ScheduleRule & { autoStart: boolean }) | null;
}

export interface GroupRecord {
  pk: number;
  calendarPk: number;
  lockPks: number[];
  schedules: ScheduleEntry[];
}

export const USER_FLAGS = {
  blocked: 1,
  suspended: 2,
  overridePrivacy: 4,
  toggleEasyOfficeMode: 8,
  toggleManualOfficeMode: 16,
  remoteAccess: 32,
} as const;

export interface UserRecord {
  pk: number;
  flags: number;
  validFrom: number | null;
  validUntil: number | null;
  groupPks: number[];
}

export const TAG_FLAGS = { blocked: 1, lostOrStolen: 2 } as const;

export interface TagRecord {
  tagNumber: number;
  cardUid: Uint8Array | null;
  flags: number;
  userPk: number;
  issueCounter: number;
}

export function tagNumberToInt(tagNumber: string): number {
  return Number(tagNumber);
}

export function intToTagNumber(n: number): string {
  return String(n).padStart(10, '0');
}

export function registryBucket(tagNumber: number): number {
  return tagNumber % REGISTRY_BUCKETS;
}

// Keys: the kind letter and the identity, e.g. "U17", "T0000000123". They order records in a table.
export const keyOf = {
  header: () => 'H',
  registry: (bucket: number) => `R${bucket}`,
  calendar: (pk: number) => `C${pk}`,
  lock: (pk: number) => `L${pk}`,
  group: (pk: number) => `G${pk}`,
  user: (pk: number) => `U${pk}`,
  tag: (tagNumber: number) => `T${intToTagNumber(tagNumber)}`,
};

function writeOptionalInt(w: ByteWriter, v: number | null): void {
  if (v === null) w.u8(0);
  else w.u8(1).int(v);
}

function readOptionalInt(r: ByteReader): number | null {
  const present = r.u8();
  if (present > 1) throw new TableFormatError(`Bad presence byte ${present}`);
  return present ? r.int() : null;
}

function writeRule(w: ByteWriter, s: ScheduleRule): void {
  w.uint(s.mask).uint(s.startSec).uint(s.endSec);
  writeOptionalInt(w, s.fromWall === null ? null : s.fromWall / 1000);
  writeOptionalInt(w, s.untilWall === null ? null : s.untilWall / 1000);
}

function readRule(r: ByteReader): ScheduleRule {
  const mask = r.uint();
  const startSec = r.uint();
  const endSec = r.uint();
  if (startSec >= 86_400 || endSec >= 86_400) throw new TableFormatError('Schedule time out of range');
  const from = readOptionalInt(r);
  const until = readOptionalInt(r);
  return { mask, startSec, endSec, fromWall: from === null ? null : from * 1000, untilWall: until === null ? null : until * 1000 };
}

// Encoding is synchronous, so one scratch writer serves every record; finish() copies the bytes out.
const scratch = new ByteWriter(1024);
const w0 = () => scratch.reset();

export const encode = {
  header(h: HeaderRecord): Uint8Array {
    const w = w0().u8(KIND.header).uint(h.format).str(h.iq_id).str(h.time_zone).int(h.valid_from).int(h.valid_until);
    w.int(h.offsets.initial).uint(h.offsets.transitions.length);
    for (const t of h.offsets.transitions) w.int(t.at / 1000).int(t.offset);
    return w.finish();
  },
  registry(r: RegistryRecord): Uint8Array {
    return w0().u8(KIND.registry).uint(r.bucket).sortedUints(r.tagNumbers).finish();
  },
  calendar(c: CalendarRecord): Uint8Array {
    const w = w0().u8(KIND.calendar).uint(c.pk).uint(c.days.length);
    let prev = 0;
    for (const d of c.days) {
      w.int(d.day - prev).u8(DAY_TYPES.indexOf(d.type));
      prev = d.day;
    }
    return w.finish();
  },
  lock(l: LockRecord): Uint8Array {
    const w = w0().u8(KIND.lock).uint(l.pk).str(l.id).sortedUints(l.offlineTagNumbers);
    if (l.eom) {
      w.u8(l.eom.autoStart ? 2 : 1);
      writeRule(w, l.eom);
    } else w.u8(0);
    return w.finish();
  },
  group(g: GroupRecord): Uint8Array {
    const w = w0().u8(KIND.group).uint(g.pk).uint(g.calendarPk).sortedUints(g.lockPks).uint(g.schedules.length);
    for (const s of g.schedules) {
      w.uint(s.pk);
      writeRule(w, s);
    }
    return w.finish();
  },
  user(u: UserRecord): Uint8Array {
    const w = w0().u8(KIND.user).uint(u.pk).uint(u.flags);
    writeOptionalInt(w, u.validFrom);
    writeOptionalInt(w, u.validUntil);
    return w.sortedUints(u.groupPks).finish();
  },
  tag(t: TagRecord): Uint8Array {
    const w = w0().u8(KIND.tag).uint(t.tagNumber);
    if (t.cardUid) w.bytes(t.cardUid);
    else w.uint(0);
    return w.uint(t.flags).uint(t.userPk).uint(t.issueCounter).finish();
  },
};

export type DecodedRecord =
  | { kind: 'header'; value: HeaderRecord }
  | { kind: 'registry'; value: RegistryRecord }
  | { kind: 'calendar'; value: CalendarRecord }
  | { kind: 'lock'; value: LockRecord }
  | { kind: 'group'; value: GroupRecord }
  | { kind: 'user'; value: UserRecord }
  | { kind: 'tag'; value: TagRecord };

export function decodeRecord(bytes: Uint8Array): DecodedRecord {
  const r = new ByteReader(bytes);
  const kind = r.u8();
  const out = decodeBody(kind, r);
  if (!r.done) throw new TableFormatError(`Trailing bytes in record of kind 0x${kind.toString(16)}`);
  return out;
}

function decodeBody(kind: number, r: ByteReader): DecodedRecord {
  switch (kind) {
    case KIND.header: {
      const format = r.uint();
      if (format !== TABLE_FORMAT) throw new TableFormatError(`Unsupported table format ${format}`);
      const iq_id = r.str();
      const time_zone = r.str();
      const valid_from = r.int();
      const valid_until = r.int();
      const initial = r.int();
      const n = r.uint();
      const transitions = [];
      for (let i = 0; i < n; i++) transitions.push({ at: r.int() * 1000, offset: r.int() });
      return { kind: 'header', value: { format, iq_id, time_zone, valid_from, valid_until, offsets: { initial, transitions } } };
    }
    case KIND.registry:
      return { kind: 'registry', value: { bucket: r.uint(), tagNumbers: r.sortedUints() } };
    case KIND.calendar: {
      const pk = r.uint();
      const n = r.uint();
      const days: CalendarRecord['days'] = [];
      let prev = 0;
      for (let i = 0; i < n; i++) {
        prev += r.int();
        const type = DAY_TYPES[r.u8()];
        if (!type) throw new TableFormatError('Unknown day type');
        days.push({ day: prev, type });
      }
      return { kind: 'calendar', value: { pk, days } };
    }
    case KIND.lock: {
      const pk = r.uint();
      const id = r.str();
      const offlineTagNumbers = r.sortedUints();
      const eomFlag = r.u8();
      if (eomFlag > 2) throw new TableFormatError('Bad EOM flag');
      const eom = eomFlag ? { ...readRule(r), autoStart: eomFlag === 2 } : null;
      return { kind: 'lock', value: { pk, id, offlineTagNumbers, eom } };
    }
    case KIND.group: {
      const pk = r.uint();
      const calendarPk = r.uint();
      const lockPks = r.sortedUints();
      const n = r.uint();
      const schedules: ScheduleEntry[] = [];
      for (let i = 0; i < n; i++) {
        const spk = r.uint();
        schedules.push({ pk: spk, ...readRule(r) });
      }
      return { kind: 'group', value: { pk, calendarPk, lockPks, schedules } };
    }
    case KIND.user: {
      const pk = r.uint();
      const flags = r.uint();
      const validFrom = readOptionalInt(r);
      const validUntil = readOptionalInt(r);
      return { kind: 'user', value: { pk, flags, validFrom, validUntil, groupPks: r.sortedUints() } };
    }
    case KIND.tag: {
      const tagNumber = r.uint();
      const uid = r.bytes();
      return {
        kind: 'tag',
        value: { tagNumber, cardUid: uid.length ? uid.slice() : null, flags: r.uint(), userPk: r.uint(), issueCounter: r.uint() },
      };
    }
    default:
      throw new TableFormatError(`Unknown record kind 0x${kind.toString(16)}`);
  }
}

/** The key of a record, read from its leading bytes. */
export function recordKey(bytes: Uint8Array): string {
  const r = new ByteReader(bytes);
  const kind = r.u8();
  switch (kind) {
    case KIND.header:
      return keyOf.header();
    case KIND.registry:
      return keyOf.registry(r.uint());
    case KIND.calendar:
      return keyOf.calendar(r.uint());
    case KIND.lock:
      return keyOf.lock(r.uint());
    case KIND.group:
      return keyOf.group(r.uint());
    case KIND.user:
      return keyOf.user(r.uint());
    case KIND.tag:
      return keyOf.tag(r.uint());
    default:
      throw new TableFormatError(`Unknown record kind 0x${kind.toString(16)}`);
  }
}
