// A realistic demo site for `gatehouse serve --demo`: a campus with two buildings, 40 doors on 3 IQs,
// about 500 people with tags, access groups with schedules (one across midnight), a holiday calendar,
// offline keys, an Easy Office Mode door, demo operators of every role and 30 days of entries that
// follow the access rules. Deterministic: the same seed gives the same site.
import { randomUUID } from 'node:crypto';
import { decide } from '../access/decide.ts';
import type { InputOf } from '../contract/contract.ts';
import type { OperatorRole, UserKind } from '../domain/enums.ts';
import { systemActor } from '../service/actor.ts';
import type { GatehouseService } from '../service/service.ts';
import { stmt } from '../store/db.ts';
import { SaltPool } from '../audit/chain.ts';
import { ingest, RefResolver, type EntryEvent, type IncidentEvent } from '../audit/ingest.ts';
import { ZoneOffsetCache } from '../audit/zone-offsets.ts';
import { getLock, updateLock } from '../store/repos/locks.ts';
import { getIq, updateIq } from '../store/repos/iqs.ts';
import { DAY_MS, liveOffsetFn, MINUTE_MS, resolveWallTime, wallTimeOf } from '../time/zone.ts';

export interface DemoSummary {
  iqs: number;
  locks: number;
  users: number;
  entries: number;
  operators: string[];
}

/** mulberry32: small, fast, seeded. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
    normal: (mean: number, sd: number) => mean + sd * Math.sqrt(-2 * Math.log(next() || 1e-9)) * Math.cos(2 * Math.PI * next()),
  };
}

const FIRST = ['Anna', 'Daan', 'Emma', 'Sem', 'Julia', 'Lucas', 'Sophie', 'Finn', 'Tess', 'Milan', 'Sara', 'Noah', 'Lotte', 'Levi', 'Eva', 'Jesse', 'Fenna', 'Thijs', 'Lisa', 'Bram', 'Isa', 'Ruben', 'Noor', 'Luuk', 'Zoë', 'Mohammed', 'Fatima', 'Yusuf', 'Aisha', 'Priya', 'Arjun', 'Wei', 'Mei', 'Oliver', 'Grace', 'Mateo', 'Lucía', 'Pieter', 'Maartje', 'Joost'];
const LAST = ['de Jong', 'Jansen', 'de Vries', 'van den Berg', 'van Dijk', 'Bakker', 'Janssen', 'Visser', 'Smit', 'Meijer', 'de Boer', 'Mulder', 'de Groot', 'Bos', 'Vos', 'Peters', 'Hendriks', 'van Leeuwen', 'Dekker', 'Brouwer', 'El Amrani', 'Yilmaz', 'Kaya', 'Sharma', 'Chen', 'Wang', 'García', 'Martens', 'Willems', 'Kok'];

/** The demo's IQs; `serve --demo` also runs a simulated hub with each of these MACs (bin/hubs.ts). */
export const DEMO_IQS = [
  { mac: '00-14-22-01-23-45', customer_reference: 'North building — ground floor', serial: 'IQ2-0001842', firmware: '2.9.4' },
  { mac: '00-14-22-01-23-46', customer_reference: 'North building — floors 1–4', serial: 'IQ2-0001843', firmware: '2.9.4' },
  { mac: '00-14-22-01-23-47', customer_reference: 'South building', serial: 'IQ2-0002210', firmware: '2.9.2' },
] as const;

const weekdays = { monday: true, tuesday: true, wednesday: true, thursday: true, friday: true };

/** Seeds the demo site into an installation that has no hardware yet; returns null when it already has some. */
export function seedDemo(service: GatehouseService, opts: { now: number; seed?: number; people?: number }): DemoSummary | null {
  const db = service.db;
  if ((stmt(db.read, 'SELECT count(*) AS n FROM iqs').get() as { n: number }).n > 0) return null;
  const r = prng(opts.seed ?? 20261125);
  const sys = systemActor('demo');
  const run = <K extends Parameters<GatehouseService['run']>[1]>(name: K, input: InputOf<K>) => service.run(sys, name, input);

  const iqs = DEMO_IQS.map((iq) => run('iqs.create', { ...iq }));
  const doorNames: Array<[number, string, string | null]> = [
    [0, 'North — Main entrance', '0'],
    [0, 'North — Reception', '0'],
    [0, 'North — Bike shed', '0'],
    [0, 'North — Server room', '0'],
    [0, 'North — Mail room', '0'],
    [0, 'North — Kitchen', '0'],
    [0, 'North — Meeting room Aurora', '0'],
    [0, 'North — Meeting room Borealis', '0'],
    [0, 'North — Archive', '0'],
    [0, 'North — Car park gate', '0'],
    [0, 'North — Cleaners’ store', '0'],
    [1, 'North — Office 1A', '1'],
    [1, 'North — Office 1B', '1'],
    [1, 'North — Office 2A', '2'],
    [1, 'North — Office 2B', '2'],
    [1, 'North — Office 3A', '3'],
    [1, 'North — Office 3B', '3'],
    [1, 'North — Board room', '4'],
    [1, 'North — HR', '4'],
    [1, 'North — Finance', '4'],
    [1, 'North — Roof access', '4'],
    [1, 'North — Meeting room Cirrus', '2'],
    [1, 'North — Meeting room Cumulus', '3'],
    [2, 'South — Entrance', '0'],
    [2, 'South — Loading dock', '0'],
    [2, 'South — Workshop', '0'],
    [2, 'South — Storage', '0'],
    [2, 'South — Lab 1', '1'],
    [2, 'South — Lab 2', '1'],
    [2, 'South — Lab 3', '1'],
    [2, 'South — Clean room', '1'],
    [2, 'South — Gym', '0'],
    [2, 'South — Lockers', '0'],
    [2, 'South — Canteen', '0'],
    [2, 'South — Plant room', '-1'],
    [2, 'South — First aid', '0'],
    [2, 'South — Studio', '1'],
    [2, 'South — Print room', '1'],
    [2, 'South — Meeting room Delta', '1'],
    [2, 'South — Emergency exit east', '0'],
  ];
  const locks = doorNames.map(([iq, name, floor], i) =>
    run('locks.create', {
      customer_reference: name,
      iq_id: iqs[iq]!.id,
      floor,
      mac: `00-1B-44-11-3A-${(0x10 + i).toString(16).toUpperCase().padStart(2, '0')}`,
      lock_type: name.includes('entrance') || name.includes('Entrance') || name.includes('gate') ? 'wall_reader_pin' : 'escutcheon',
      offline_access_keys_limit: 360,
    }),
  );
  const L = (part: string) => locks.filter((l) => l.customer_reference.includes(part)).map((l) => l.id);
  const entrances = [...L('Main entrance'), ...L('South — Entrance'), ...L('Reception'), ...L('Bike shed'), ...L('Car park')];

  const holidays = run('holiday_calendars.create', {
    customer_reference: 'Netherlands public holidays',
    dates: [
      { date: '2026-12-25', description: 'Eerste Kerstdag' },
      { date: '2026-12-26', description: 'Tweede Kerstdag' },
      { date: '2027-01-01', description: 'Nieuwjaarsdag' },
      { date: '2027-03-29', description: 'Tweede Paasdag' },
      { date: '2027-04-27', description: 'Koningsdag' },
      { date: '2027-05-05', description: 'Bevrijdingsdag' },
      { date: '2027-05-06', description: 'Hemelvaartsdag' },
      { date: '2027-05-17', description: 'Tweede Pinksterdag' },
      { date: '2026-12-31', day_type: 'special_1', description: 'Oudejaarsdag (short day)' },
    ],
  });

  const office = { ...weekdays, start_time: '07:00:00', end_time: '19:00:00' };
  const group = (name: string, lockIds: string[], schedules: InputOf<'access_groups.create'>['time_schedules'], calendar = true) =>
    run('access_groups.create', { customer_reference: name, lock_ids: lockIds, time_schedules: schedules, holiday_calendar_id: calendar ? holidays.id : null });
  const groups = {
    staff: group('All staff', entrances.concat(L('Kitchen'), L('Mail room')), [office, { saturday: true, start_time: '09:00:00', end_time: '13:00:00' }, { special_1: true, start_time: '07:00:00', end_time: '14:00:00' }]),
    north: group('Offices North', [...L('Office'), ...L('Meeting room'), ...L('Board room')].filter((id) => locks.find((l) => l.id === id)!.customer_reference.startsWith('North')), [office]),
    south: group('Labs South', [...L('Lab'), ...L('Studio'), ...L('Print room'), ...L('Meeting room Delta'), ...L('South — Entrance'), ...L('Canteen')], [office]),
    it: group('IT', [...L('Server room'), ...L('Plant room'), ...entrances], [], false),
    facilities: group('Facilities', locks.map((l) => l.id), [], false),
    cleaners: group('Cleaners', [...entrances, ...L('Office'), ...L('Kitchen'), ...L('Cleaners'), ...L('Canteen')], [{ ...weekdays, start_time: '18:00:00', end_time: '22:00:00' }]),
    security: group('Night security', [...entrances, ...L('Emergency'), ...L('Loading dock')], [{ ...weekdays, saturday: true, sunday: true, holiday: true, special_1: true, start_time: '22:00:00', end_time: '06:00:00' }], false),
    visitors: group('Visitors', [...L('Reception'), ...L('Meeting room')], [{ ...weekdays, start_time: '08:30:00', end_time: '17:30:00' }]),
    contractors: group('Contractors — South renovation', [...L('Workshop'), ...L('Loading dock'), ...L('Storage'), ...L('South — Entrance')], [
      { ...weekdays, start_time: '07:30:00', end_time: '16:30:00', start_date: '2026-10-01', end_date: '2027-03-31' },
    ]),
    gym: group('Gym members', [...L('Gym'), ...L('Lockers'), ...L('South — Entrance')], [{ ...weekdays, saturday: true, sunday: true, start_time: '06:00:00', end_time: '23:00:00' }], false),
    delivery: group('Deliveries', [...L('Loading dock'), ...L('Mail room')], [{ ...weekdays, saturday: true, start_time: '06:00:00', end_time: '10:00:00' }]),
  };

  const people = opts.people ?? 500;
  const kinds: Array<[UserKind, number]> = [
    ['employee', 0.78],
    ['contractor', 0.08],
    ['visitor', 0.06],
    ['delivery', 0.02],
    ['member', 0.06],
  ];
  const kindOf = () => {
    let x = r.next();
    for (const [k, p] of kinds) if ((x -= p) < 0) return k;
    return 'employee' as const;
  };
  const usedNames = new Set<string>();
  const members: Record<keyof typeof groups, string[]> = Object.fromEntries(Object.keys(groups).map((k) => [k, []])) as never;
  let tagSerial = 1000;
  for (let i = 0; i < people; i++) {
    let first: string, last: string;
    do {
      first = r.pick(FIRST);
      last = r.pick(LAST);
    } while (usedNames.has(`${first} ${last}`) && usedNames.size < FIRST.length * LAST.length);
    usedNames.add(`${first} ${last}`);
    const kind = kindOf();
    const email = `${first}.${last}`.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z.]/g, '') + `${i}@harbour.example`;
    const validUntil = kind === 'visitor' ? new Date(opts.now + r.int(1, 14) * DAY_MS).toISOString() : kind === 'contractor' ? '2027-03-31T22:00:00.000Z' : null;
    const g: Array<keyof typeof groups> =
      kind === 'employee'
        ? ['staff', r.chance(0.55) ? 'north' : 'south', ...(r.chance(0.03) ? (['it'] as const) : []), ...(r.chance(0.02) ? (['facilities'] as const) : []), ...(r.chance(0.05) ? (['cleaners'] as const) : []), ...(r.chance(0.02) ? (['security'] as const) : []), ...(r.chance(0.2) ? (['gym'] as const) : [])]
        : kind === 'contractor'
          ? ['contractors']
          : kind === 'visitor'
            ? ['visitors']
            : kind === 'delivery'
              ? ['delivery']
              : ['gym'];
    const user = run('users.create', {
      first_name: first,
      last_name: last,
      email,
      kind,
      valid_until: validUntil,
      blocked: r.chance(0.01),
      remote_access: kind === 'employee' && r.chance(0.1),
      override_privacy_mode: g.includes('facilities') || g.includes('security'),
      toggle_easy_office_mode: g.includes('facilities'),
      toggle_manual_office_mode: g.includes('facilities'),
      access_group_ids: g.map((k) => groups[k].id),
    });
    for (const k of g) members[k].push(user.id);
    const tags = r.chance(0.04) ? 2 : 1;
    for (let t = 0; t < tags; t++) {
      const tag = run('tags.create', {
        user_id: user.id,
        tag_number: String(++tagSerial).padStart(10, '0'),
        card_uid: Array.from({ length: 7 }, () => r.int(0, 255).toString(16).padStart(2, '0')).join('').toUpperCase(),
        kind: t === 0 ? 'card' : 'fob',
        source_iq_id: iqs[r.int(0, 2)]!.id,
      });
      if (t === 1 && r.chance(0.5)) run('tags.report_lost', { id: tag.id });
    }
  }
  // A few spare cards on the shelf, not handed out yet.
  for (let i = 0; i < 10; i++) run('tags.create', { tag_number: String(9000 + i).padStart(10, '0'), kind: 'card' });
  // Facilities hold offline keys for the entrances, so they get in when an IQ is down.
  const facilityTags = members.facilities.flatMap((u) => service.run(sys, 'users.get', { id: u }).tags.map((t) => t.id));
  for (const door of entrances) if (facilityTags.length) run('locks.offline_keys.update', { id: door, add_ids: facilityTags });
  const reception = L('Reception')[0]!;
  run('locks.set_eom_schedule', { id: reception, schedule: { ...weekdays, start_time: '08:30:00', end_time: '17:00:00', eom_auto_start: true } });

  // Demo operators of every role, so each screen can be tried with each set of rights.
  const operators: string[] = [];
  for (const [username, role] of [
    ['frontdesk', 'front_desk'],
    ['installer', 'installer'],
    ['auditor', 'auditor'],
    ['admin', 'admin'],
  ] as Array<[string, OperatorRole]>) {
    run('operators.create', { username, display_name: username[0]!.toUpperCase() + username.slice(1), role, password: `demo-${username}-pass` });
    operators.push(`${username}/demo-${username}-pass`);
  }

  // What the hardware would report: hubs online and in sync, locks attached with batteries.
  db.transaction((w) => {
    for (const iq of iqs) {
      const cur = getIq(w, iq.id)!;
      updateIq(w, { ...cur, online: true, data_sync_state: 'synced', signal_strength: r.int(2, 5), updated_at: new Date(opts.now).toISOString() });
    }
    for (const l of locks) {
      const cur = getLock(w, l.id)!;
      updateLock(w, {
        ...cur,
        iq_link_state: 'attached',
        online: !l.customer_reference.includes('Plant room'),
        battery_level: r.chance(0.08) ? 'low' : r.chance(0.02) ? 'very_low' : 'fresh',
        privacy_mode: l.customer_reference.includes('HR') && r.chance(0.5),
        updated_at: new Date(opts.now).toISOString(),
      });
    }
  });
  service.engine.reload();
  const entries = seedEntries(service, r, opts.now, { entrances, members, locksByGroup: Object.fromEntries(Object.entries(groups).map(([k, g]) => [k, g.locks.map((l) => l.id)])) as never });
  return { iqs: iqs.length, locks: locks.length, users: people, entries, operators };
}

function seedEntries(
  service: GatehouseService,
  r: ReturnType<typeof prng>,
  now: number,
  site: { entrances: string[]; members: Record<string, string[]>; locksByGroup: Record<string, string[]> },
): number {
  const snap = service.engine.snapshot;
  const peopleTags = new Map<string, string[]>();
  for (const t of snap.tags.values()) if (t.user_id) peopleTags.set(t.user_id, [...(peopleTags.get(t.user_id) ?? []), t.tag_number]);
  const userIds = [...snap.users.keys()];
  // Events are collected per hub, then stored the way a hub delivers them: in time order, in batches.
  const bySource = new Map<string, { entries: EntryEvent[]; incidents: IncidentEvent[] }>();
  const queue = (lockId: string) => {
    const source = `iq:${snap.locks.get(lockId)!.iq_id}`;
    let q = bySource.get(source);
    if (!q) bySource.set(source, (q = { entries: [], incidents: [] }));
    return q;
  };
  const eventId = () => randomUUID();
  {
    const write = (t: number, lockId: string, tagNumber: string | null, extra?: { category: string; detail: string | null; access_by: string }) => {
      let category = extra?.category;
      let detail = extra?.detail ?? null;
      if (tagNumber) {
        const d = decide(snap, tagNumber, lockId, t);
        category = d.granted ? 'lock_opened' : 'lock_rejected';
        detail = d.granted ? null : d.reason;
      }
      queue(lockId).entries.push({
        event_id: eventId(),
        time: t,
        event_category: category!,
        event_detail: detail,
        access_by: extra?.access_by ?? 'tag',
        lock_id: lockId,
        iq_id: null,
        tag_number: tagNumber,
        user_id: null,
      });
    };
    const alarm = (t: number, lockId: string, incident_type: IncidentEvent['incident_type']) =>
      queue(lockId).incidents.push({ event_id: eventId(), time: t, incident_type, lock_id: lockId, iq_id: null });
    const zone = liveOffsetFn('Europe/Amsterdam');
    const today = Math.floor(wallTimeOf(zone, now) / DAY_MS);
    for (let day = today - 30; day <= today; day++) {
      const weekday = (((day + 3) % 7) + 7) % 7;
      const at = (minutes: number) => resolveWallTime(zone, day * DAY_MS + Math.round(minutes) * MINUTE_MS);
      const working = weekday < 5;
      for (const uid of userIds) {
        const tags = peopleTags.get(uid);
        if (!tags) continue;
        const u = snap.users.get(uid)!;
        const inGroup = (g: string) => site.members[g]?.includes(uid);
        const present = working ? r.chance(inGroup('visitors') ? 0.08 : inGroup('gym') && !inGroup('staff') ? 0.3 : 0.72) : r.chance(0.06);
        if (!present) continue;
        const tag = tags[0]!;
        const arrive = r.normal(working ? 8.4 * 60 : 10 * 60, 50);
        const leave = arrive + r.normal(8.5 * 60, 60);
        const door = r.pick(site.entrances);
        const arriveAt = at(arrive);
        if (arriveAt < now) write(arriveAt, door, tag);
        const groupLocks = [...u.groupIds].flatMap((g) => [...(snap.groups.get(g)?.lockIds ?? [])]);
        for (let k = r.int(0, 3); k > 0 && groupLocks.length; k--) {
          const t = at(arrive + r.int(10, Math.max(20, leave - arrive - 10)));
          if (t < now) write(t, r.pick(groupLocks), tag);
        }
        // Now and then someone tries a door they have no access to.
        if (r.chance(0.02)) {
          const t = at(arrive + r.int(30, 300));
          if (t < now) write(t, r.pick([...snap.locks.keys()]), tag);
        }
        const leaveAt = at(leave);
        if (leaveAt < now && r.chance(0.3)) write(leaveAt, door, tag);
      }
      // Cards that were never registered, tried at the front doors.
      for (let k = r.int(0, 3); k > 0; k--) {
        const t = at(r.int(6 * 60, 22 * 60));
        if (t < now) write(t, r.pick(site.entrances), String(r.int(50_000, 99_999)).padStart(10, '0'));
      }
      if (working) {
        const reception = site.entrances.find((id) => snap.locks.get(id)!.customer_reference.includes('Reception'));
        const start = at(8.5 * 60);
        const end = at(17 * 60);
        if (reception && start < now) write(start, reception, null, { category: 'easy_office_mode', detail: 'start', access_by: 'tag' });
        if (reception && end < now) write(end, reception, null, { category: 'easy_office_mode', detail: 'end', access_by: 'tag' });
        for (let k = r.int(0, 2); k > 0; k--) {
          const t = at(r.int(9 * 60, 17 * 60));
          if (t < now) write(t, r.pick(site.entrances), null, { category: 'lock_opened', detail: null, access_by: 'remote' });
        }
        for (let k = r.int(0, 4); k > 0; k--) {
          const t = at(r.int(7 * 60, 19 * 60));
          if (t < now) write(t, r.pick([...snap.locks.keys()]), null, { category: 'lock_opened', detail: 'inside_handle', access_by: 'inside_handle' });
        }
        if (r.chance(0.3)) {
          const t = at(r.int(8 * 60, 18 * 60));
          if (t < now) alarm(t, r.pick([...snap.locks.keys()]), r.pick(['door_left_open', 'door_left_open', 'intrusion', 'tamper', 'low_battery'] as const));
        }
      }
    }
  }
  let count = 0;
  const ctx = { snapshot: snap, now, offsets: new ZoneOffsetCache(), salts: new SaltPool(), anonymizeBefore: null };
  for (const [source, q] of bySource) {
    q.entries.sort((a, b) => a.time - b.time);
    q.incidents.sort((a, b) => a.time - b.time);
    for (let i = 0; i < Math.max(q.entries.length, q.incidents.length); i += 5000) {
      const r = service.db.transaction((db) => ingest({ ...ctx, db, refs: new RefResolver(db) }, source, q.entries.slice(i, i + 5000), q.incidents.slice(i, i + 5000)));
      count += r.entries.stored;
    }
  }
  return count;
}
