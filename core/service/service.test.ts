// End to end through GatehouseService: what an operator at the front desk, an installer or an
// integration sees when they call the core. Each test opens a fresh in-memory site.
import { afterEach, describe, expect, it } from 'vitest';
import { contract, type ContractName } from '../contract/contract.ts';
import { GatehouseError, type ErrorCode } from '../contract/errors.ts';
import type { Permission } from '../contract/permissions.ts';
import type { OperatorRole } from '../domain/enums.ts';
import { ensureSite } from '../host/first-run.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';
import { verifyOperatorLog } from '../store/repos/operator-log.ts';
import { systemActor, type Actor } from './actor.ts';
import { GatehouseService } from './service.ts';

/** Monday 2 March 2026, 10:00 in Amsterdam (CET, UTC+1). */
const T0 = Date.parse('2026-03-02T09:00:00Z');
const OWNER_PASSWORD = 'correct horse battery';
const PASSWORD = 'a long enough password';
const STAFF_PIN = '4821';

const open: SiteDatabase[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

interface Site {
  db: SiteDatabase;
  svc: GatehouseService;
  clock: { now: number };
  sys: Actor;
}

function start(): Site {
  const clock = { now: T0 };
  const db = openDatabase(':memory:');
  open.push(db);
  ensureSite(db, { name: 'Head office', timeZone: 'Europe/Amsterdam', ownerPassword: OWNER_PASSWORD, now: T0 });
  const svc = new GatehouseService(db, { now: () => clock.now });
  return { db, svc, clock, sys: systemActor('test') };
}

const weekdays = { monday: true, tuesday: true, wednesday: true, thursday: true, friday: true, start_time: '08:00', end_time: '17:59:59' };

/** Two IQs, three doors, a calendar, two groups, two people with a tag each and a spare tag. */
function populate({ svc, sys }: Site) {
  const iqA = svc.run(sys, 'iqs.create', { mac: '00-14-22-01-23-45', customer_reference: 'IQ A' });
  const iqB = svc.run(sys, 'iqs.create', { mac: '00-14-22-01-23-46', customer_reference: 'IQ B' });
  const frontDoor = svc.run(sys, 'locks.create', { customer_reference: 'Front door', iq_id: iqA.id });
  const storeRoom = svc.run(sys, 'locks.create', { customer_reference: 'Store room', iq_id: iqA.id, offline_access_keys_limit: 2 });
  const annexDoor = svc.run(sys, 'locks.create', { customer_reference: 'Annex door', iq_id: iqB.id });
  const calendar = svc.run(sys, 'holiday_calendars.create', { customer_reference: 'NL', dates: [{ date: '2026-04-27', description: "King's Day" }] });
  const office = svc.run(sys, 'access_groups.create', { customer_reference: 'Office', holiday_calendar_id: calendar.id, lock_ids: [frontDoor.id], time_schedules: [weekdays] });
  const annex = svc.run(sys, 'access_groups.create', { customer_reference: 'Annex', lock_ids: [annexDoor.id] });
  const alice = svc.run(sys, 'users.create', { first_name: 'Alice', last_name: 'Adams', email: 'alice@example.com', access_group_ids: [office.id] });
  const bob = svc.run(sys, 'users.create', { first_name: 'Bob', last_name: 'Brown', email: 'bob@example.com', kind: 'contractor', valid_from: '2026-01-01T00:00:00Z', access_group_ids: [annex.id] });
  const aliceTag = svc.run(sys, 'tags.create', { tag_number: '0000001001', user_id: alice.id });
  const bobTag = svc.run(sys, 'tags.create', { tag_number: '0000001002', user_id: bob.id });
  const spareTag = svc.run(sys, 'tags.create', { tag_number: '0000001003' });
  svc.run(sys, 'entries.ingest', {
    source: 'fixture',
    incidents: Array.from({ length: 20 }, (_, i) => ({ event_id: `alarm-${i}`, time: '2026-01-05T10:00:00Z', incident_type: 'door_left_open', lock_id: frontDoor.id })),
  });
  const alarms = svc.run(sys, 'incidents.list', { limit: 20 }).items.map((i) => i.id);
  return { iqA, iqB, frontDoor, storeRoom, annexDoor, calendar, office, annex, alice, bob, aliceTag, bobTag, spareTag, alarms };
}
type Fixture = ReturnType<typeof populate>;

/** The error a call throws; fails the test when it does not throw one. */
function failure(fn: () => unknown): GatehouseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatehouseError) return e;
    throw e;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

function expectFailure(fn: () => unknown, code: ErrorCode, field?: string): GatehouseError {
  const e = failure(fn);
  expect(e.code, e.message).toBe(code);
  if (field !== undefined) {
    // Validation errors point at the field in their issues; a missing record is named in the message.
    const named =
      code === 'not_found' ? e.message.includes(field) : (e.issues ?? []).some((i) => i.path.split('.').includes(field) || i.path === field || i.message.includes(field));
    expect(named, `no issue names '${field}': ${JSON.stringify(e.issues)} (${e.message})`).toBe(true);
  }
  return e;
}

/** Every row of every table, in storage order. */
function dump(db: SiteDatabase): Record<string, unknown[]> {
  const tables = db.read.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name`).pluck().all() as string[];
  return Object.fromEntries(tables.map((t) => [t, db.read.prepare(`SELECT * FROM "${t}" ORDER BY 1, 2`).all()]));
}

const logCount = (db: SiteDatabase) => (db.read.prepare('SELECT count(*) AS n FROM operator_log').get() as { n: number }).n;
const tableVersions = (s: Site) => Object.fromEntries(s.svc.run(s.sys, 'access.tables', {}).map((t) => [t.iq_id, t.version]));

// ────────────────────────────────────────────────────────────────────────────────────────────────
describe('CRUD through the service', () => {
  it('site: shows counts, renames and changes zone', () => {
    const s = start();
    const f = populate(s);
    const site = s.svc.run(s.sys, 'site.get', {});
    expect(site).toMatchObject({ customer_reference: 'Head office', time_zone: 'Europe/Amsterdam', counts: { iqs: 2, locks: 3, users: 2, tags: 3, access_groups: 2 } });
    const updated = s.svc.run(s.sys, 'site.update', { customer_reference: 'HQ', time_zone: 'Europe/London' });
    expect(updated).toMatchObject({ customer_reference: 'HQ', time_zone: 'Europe/London' });
    expect(s.svc.run(s.sys, 'site.get', {}).time_zone).toBe('Europe/London');
    // IQs created later take the new site zone; existing ones keep theirs.
    expect(s.svc.run(s.sys, 'iqs.create', { mac: 'aa:bb:cc:dd:ee:ff', customer_reference: 'IQ C' }).time_zone).toBe('Europe/London');
    expect(s.svc.run(s.sys, 'iqs.get', { id: f.iqA.id }).time_zone).toBe('Europe/Amsterdam');
  });

  it('IQs: registers with a normalised MAC, updates, lists and deletes (its locks become detached)', () => {
    const s = start();
    const f = populate(s);
    const iq = s.svc.run(s.sys, 'iqs.create', { mac: 'aa:bb:cc:dd:ee:01', customer_reference: 'Garage IQ', time_zone: 'Europe/London', serial: 'SN-1' });
    expect(iq).toMatchObject({ mac: 'AA-BB-CC-DD-EE-01', time_zone: 'Europe/London', subscribed: true, online: false, serial: 'SN-1' });
    expect(s.svc.run(s.sys, 'iqs.update', { id: iq.id, customer_reference: 'Car park IQ', subscribed: false })).toMatchObject({ customer_reference: 'Car park IQ', subscribed: false });
    expect(s.svc.run(s.sys, 'iqs.get', { id: iq.id }).customer_reference).toBe('Car park IQ');
    const list = s.svc.run(s.sys, 'iqs.list', {});
    expect(list.count).toBe(3);
    expect(list.items.map((i) => i.customer_reference)).toEqual(['Car park IQ', 'IQ A', 'IQ B']);
    expect(s.svc.run(s.sys, 'iqs.list', { filter: { op: 'eq', field: 'subscribed', value: false } }).items.map((i) => i.id)).toEqual([iq.id]);

    expect(s.svc.run(s.sys, 'iqs.delete', { id: f.iqB.id })).toEqual({ id: f.iqB.id });
    expectFailure(() => s.svc.run(s.sys, 'iqs.get', { id: f.iqB.id }), 'not_found');
    expect(s.svc.run(s.sys, 'locks.get', { id: f.annexDoor.id })).toMatchObject({ iq_id: null, iq_link_state: 'detached' });
    expect(s.svc.run(s.sys, 'access.tables', {}).map((t) => t.iq_id).sort()).toEqual([f.iqA.id, iq.id].sort());
  });

  it('locks: adds, attaches, detaches, lists by IQ and removes', () => {
    const s = start();
    const f = populate(s);
    const lock = s.svc.run(s.sys, 'locks.create', { customer_reference: 'Bike shed', mac: '11:22:33:44:55:66', lock_type: 'cylinder', floor: '0' });
    expect(lock).toMatchObject({ iq_id: null, iq_link_state: 'detached', lock_type: 'cylinder', mac: '11-22-33-44-55-66', offline_access_keys_limit: 360, locked_state: 'locked' });
    expect(s.svc.run(s.sys, 'locks.update', { id: lock.id, iq_id: f.iqB.id })).toMatchObject({ iq_id: f.iqB.id, iq_link_state: 'attached_pending' });
    const onB = s.svc.run(s.sys, 'locks.list', { filter: { op: 'eq', field: 'iq_id', value: f.iqB.id } });
    expect(onB.items.map((l) => l.customer_reference)).toEqual(['Annex door', 'Bike shed']);
    expect(s.svc.run(s.sys, 'locks.update', { id: lock.id, iq_id: null })).toMatchObject({ iq_id: null, iq_link_state: 'detached' });
    expect(s.svc.run(s.sys, 'locks.list', { filter: { op: 'eq', field: 'iq_id', value: null } }).items.map((l) => l.id)).toEqual([lock.id]);
    s.svc.run(s.sys, 'locks.delete', { id: lock.id });
    expectFailure(() => s.svc.run(s.sys, 'locks.get', { id: lock.id }), 'not_found');
    expect(s.svc.run(s.sys, 'locks.list', {}).count).toBe(3);
  });

  it('people: adds with groups, edits, shows tags and groups, removes (tags stay, unassigned)', () => {
    const s = start();
    const f = populate(s);
    const carol = s.svc.run(s.sys, 'users.create', {
      first_name: ' Carol ',
      last_name: 'Clark',
      email: 'carol@example.com',
      kind: 'visitor',
      valid_from: '2026-03-02T08:00:00+01:00',
      valid_until: '2026-03-06T18:00:00+01:00',
      access_group_ids: [f.office.id, f.annex.id],
    });
    expect(carol).toMatchObject({ first_name: 'Carol', kind: 'visitor', valid_from: '2026-03-02T07:00:00.000Z', valid_until: '2026-03-06T17:00:00.000Z', blocked: false });
    expect(carol.access_groups.map((g) => g.customer_reference)).toEqual(['Annex', 'Office']);
    const tag = s.svc.run(s.sys, 'tags.create', { user_id: carol.id, kind: 'fob', card_uid: '04:a1:b2:c3' });
    expect(s.svc.run(s.sys, 'users.get', { id: carol.id }).tags.map((t) => t.id)).toEqual([tag.id]);
    const edited = s.svc.run(s.sys, 'users.update', { id: carol.id, last_name: 'Clarke', blocked: true, notes: 'Badge at reception' });
    expect(edited).toMatchObject({ last_name: 'Clarke', blocked: true, notes: 'Badge at reception', email: 'carol@example.com' });
    expect(s.svc.run(s.sys, 'users.bulk_update', { ids: [carol.id, f.bob.id], patch: { blocked: false, kind: 'resident' } })).toEqual({ updated: 2 });
    expect(s.svc.run(s.sys, 'users.get', { id: f.bob.id })).toMatchObject({ kind: 'resident', blocked: false });

    s.svc.run(s.sys, 'users.delete', { id: carol.id });
    expectFailure(() => s.svc.run(s.sys, 'users.get', { id: carol.id }), 'not_found');
    expect(s.svc.run(s.sys, 'tags.get', { id: tag.id })).toMatchObject({ user_id: null, owner: null, card_uid: '04A1B2C3' });
    expect(s.svc.run(s.sys, 'access_groups.get', { id: f.office.id }).user_count).toBe(1);
  });

  it('tags: next free number, assign, block, report lost and found, delete', () => {
    const s = start();
    const f = populate(s);
    const next = s.svc.run(s.sys, 'tags.create', {});
    expect(next).toMatchObject({ tag_number: '0000001004', user_id: null, kind: 'card', blocked: false, lost_or_stolen: false });
    const assigned = s.svc.run(s.sys, 'tags.update', { id: next.id, user_id: f.bob.id });
    expect(assigned.owner).toEqual({ id: f.bob.id, first_name: 'Bob', last_name: 'Brown' });
    expect(s.svc.run(s.sys, 'tags.update', { id: next.id, blocked: true }).blocked).toBe(true);
    const lost = s.svc.run(s.sys, 'tags.report_lost', { id: f.aliceTag.id });
    expect(lost).toMatchObject({ lost_or_stolen: true, lost_or_stolen_date: new Date(T0).toISOString() });
    expect(s.svc.run(s.sys, 'tags.report_lost', { id: f.aliceTag.id, lost_or_stolen: false })).toMatchObject({ lost_or_stolen: false, lost_or_stolen_date: null });
    s.svc.run(s.sys, 'tags.delete', { id: next.id });
    expectFailure(() => s.svc.run(s.sys, 'tags.get', { id: next.id }), 'not_found');
    expect(s.svc.run(s.sys, 'users.get', { id: f.bob.id }).tags.map((t) => t.tag_number)).toEqual(['0000001002']);
  });

  it('access groups: locks, members and time schedules', () => {
    const s = start();
    const f = populate(s);
    const g = s.svc.run(s.sys, 'access_groups.get', { id: f.office.id });
    expect(g).toMatchObject({ customer_reference: 'Office', holiday_calendar_id: f.calendar.id, user_count: 1, locks: [{ id: f.frontDoor.id, customer_reference: 'Front door' }] });
    expect(g.time_schedules).toHaveLength(1);
    expect(g.time_schedules[0]).toMatchObject({ monday: true, saturday: false, start_time: '08:00:00', end_time: '17:59:59', start_date: null });

    expect(s.svc.run(s.sys, 'access_groups.update', { id: f.office.id, customer_reference: 'Office staff', holiday_calendar_id: null })).toMatchObject({
      customer_reference: 'Office staff',
      holiday_calendar_id: null,
    });
    const withStore = s.svc.run(s.sys, 'access_groups.locks.update', { id: f.office.id, add_ids: [f.storeRoom.id] });
    expect(withStore.locks.map((l) => l.customer_reference)).toEqual(['Front door', 'Store room']);
    expect(s.svc.run(s.sys, 'access_groups.locks.update', { id: f.office.id, remove_ids: [f.frontDoor.id] }).locks.map((l) => l.id)).toEqual([f.storeRoom.id]);

    expect(s.svc.run(s.sys, 'access_groups.users.update', { id: f.office.id, add_ids: [f.bob.id] })).toEqual({ id: f.office.id, user_count: 2 });
    expect(s.svc.run(s.sys, 'access_groups.users.list', { id: f.office.id }).items.map((u) => u.first_name)).toEqual(['Alice', 'Bob']);
    expect(s.svc.run(s.sys, 'access_groups.users.update', { id: f.office.id, remove_ids: [f.alice.id] }).user_count).toBe(1);

    const sat = s.svc.run(s.sys, 'access_groups.time_schedules.create', { access_group_id: f.office.id, saturday: true, start_time: '09:00', end_time: '12:59:59', start_date: '2026-03-01', end_date: '2026-06-30' });
    expect(sat).toMatchObject({ access_group_id: f.office.id, saturday: true, monday: false, start_time: '09:00:00', start_date: '2026-03-01' });
    const replaced = s.svc.run(s.sys, 'access_groups.time_schedules.update', { id: sat.id, sunday: true, start_time: '10:00', end_time: '11:00' });
    expect(replaced).toMatchObject({ sunday: true, saturday: false, start_time: '10:00:00', end_time: '11:00:00', start_date: null });
    expect(s.svc.run(s.sys, 'access_groups.get', { id: f.office.id }).time_schedules.map((t) => t.id)).toEqual([g.time_schedules[0]!.id, sat.id]);
    s.svc.run(s.sys, 'access_groups.time_schedules.delete', { id: sat.id });
    expect(s.svc.run(s.sys, 'access_groups.get', { id: f.office.id }).time_schedules).toHaveLength(1);

    const summary = s.svc.run(s.sys, 'access_groups.list', { search: 'staff' });
    expect(summary.items).toHaveLength(1);
    expect(summary.items[0]).toMatchObject({ lock_count: 1, user_count: 1, time_schedule_count: 1 });
    s.svc.run(s.sys, 'access_groups.delete', { id: f.office.id });
    expectFailure(() => s.svc.run(s.sys, 'access_groups.get', { id: f.office.id }), 'not_found');
    expect(s.svc.run(s.sys, 'users.get', { id: f.bob.id }).access_groups.map((x) => x.id)).toEqual([f.annex.id]);
  });

  it('holiday calendars: dates added, replaced and removed; a deleted calendar leaves its groups without one', () => {
    const s = start();
    const f = populate(s);
    const cal = s.svc.run(s.sys, 'holiday_calendars.update', {
      id: f.calendar.id,
      customer_reference: 'Netherlands',
      add_dates: [
        { date: '2026-12-25', description: 'Christmas' },
        { date: '2026-04-27', day_type: 'special_1' },
      ],
    });
    expect(cal.customer_reference).toBe('Netherlands');
    expect(cal.dates.map((d) => [d.date, d.day_type])).toEqual([
      ['2026-04-27', 'special_1'],
      ['2026-12-25', 'holiday'],
    ]);
    expect(s.svc.run(s.sys, 'holiday_calendars.update', { id: f.calendar.id, remove_dates: ['2026-04-27'] }).dates.map((d) => d.date)).toEqual(['2026-12-25']);
    const other = s.svc.run(s.sys, 'holiday_calendars.create', { customer_reference: 'Belgium' });
    expect(s.svc.run(s.sys, 'holiday_calendars.list', {}).map((c) => c.customer_reference)).toEqual(['Belgium', 'Netherlands']);
    s.svc.run(s.sys, 'holiday_calendars.delete', { id: f.calendar.id });
    expect(s.svc.run(s.sys, 'holiday_calendars.list', {}).map((c) => c.id)).toEqual([other.id]);
    expect(s.svc.run(s.sys, 'access_groups.get', { id: f.office.id }).holiday_calendar_id).toBeNull();
  });

  it('lists: filter trees, search, order_by, paging and count', () => {
    const s = start();
    const f = populate(s);
    const people: Array<[string, string, 'employee' | 'visitor' | 'contractor']> = [
      ['Dirk', 'Dekker', 'visitor'],
      ['Eva', 'Dam', 'visitor'],
      ['Femke', 'Bakker', 'visitor'],
      ['Gijs', 'Visser', 'employee'],
      ['Hanna', 'Smit', 'contractor'],
      ['Ivo', 'Mulder', 'visitor'],
      ['Joke', 'Bos', 'employee'],
    ];
    for (const [first_name, last_name, kind] of people) s.svc.run(s.sys, 'users.create', { first_name, last_name, kind, email: `${first_name.toLowerCase()}@example.org` });
    const names = (p: { items: Array<{ first_name: string }> }) => p.items.map((u) => u.first_name);

    // visitor and not (last name starting with B, any case)
    const tree = { op: 'and' as const, args: [{ op: 'eq' as const, field: 'kind', value: 'visitor' }, { op: 'not' as const, arg: { op: 'startswith' as const, field: 'last_name', value: 'b' } }] };
    expect(names(s.svc.run(s.sys, 'users.list', { filter: tree }))).toEqual(['Eva', 'Dirk', 'Ivo']);
    const either = { op: 'or' as const, args: [{ op: 'contains' as const, field: 'last_name', value: 'KK' }, { op: 'eq' as const, field: 'kind', value: 'contractor' }] };
    expect(names(s.svc.run(s.sys, 'users.list', { filter: either, order_by: [{ field: 'first_name', direction: 'asc' }] }))).toEqual(['Bob', 'Dirk', 'Femke', 'Hanna']);

    // Search: names, e-mail, and a person's tag number.
    expect(names(s.svc.run(s.sys, 'users.list', { search: 'visser' }))).toEqual(['Gijs']);
    expect(names(s.svc.run(s.sys, 'users.list', { search: 'EXAMPLE.ORG' })).length).toBe(7);
    expect(names(s.svc.run(s.sys, 'users.list', { search: '1002' }))).toEqual(['Bob']);
    expect(s.svc.run(s.sys, 'tags.list', { search: 'alice' }).items.map((t) => t.tag_number)).toEqual([f.aliceTag.tag_number]);

    const ordered = s.svc.run(s.sys, 'users.list', { order_by: [{ field: 'kind', direction: 'desc' }, { field: 'first_name', direction: 'asc' }] });
    expect(names(ordered)).toEqual(['Dirk', 'Eva', 'Femke', 'Ivo', 'Alice', 'Gijs', 'Joke', 'Bob', 'Hanna']);
    expect(ordered.count).toBe(9);

    // Pages of 4 put together give the whole ordered list; count ignores top/skip.
    const all = names(s.svc.run(s.sys, 'users.list', {}));
    expect(all).toHaveLength(9);
    const pages = [0, 4, 8].map((skip) => s.svc.run(s.sys, 'users.list', { top: 4, skip }));
    expect(pages.map((p) => p.items.length)).toEqual([4, 4, 1]);
    expect(pages.every((p) => p.count === 9)).toBe(true);
    expect(pages.flatMap(names)).toEqual(all);
    expect(s.svc.run(s.sys, 'users.list', { filter: tree, top: 1, skip: 1 })).toMatchObject({ count: 3, items: [{ first_name: 'Dirk' }] });

    // Names sort regardless of case: a lowercase prefix ('van Dijk') does not go to the end.
    s.svc.run(s.sys, 'users.create', { first_name: 'Lotte', last_name: 'van Dijk' });
    expect(names(s.svc.run(s.sys, 'users.list', { filter: { op: 'eq', field: 'kind', value: 'employee' } }))).toEqual(['Alice', 'Joke', 'Lotte', 'Gijs']);

    // A field the resource does not have is refused, naming it.
    expectFailure(() => s.svc.run(s.sys, 'users.list', { filter: { op: 'eq', field: 'password', value: 'x' } }), 'invalid_filter', 'password');
    expectFailure(() => s.svc.run(s.sys, 'users.list', { order_by: [{ field: 'shoe_size', direction: 'asc' }] }), 'invalid_filter', 'shoe_size');
    expectFailure(() => s.svc.run(s.sys, 'users.list', { filter: { op: 'eq', field: 'kind', value: 'alien' } }), 'invalid_filter', 'kind');
    expectFailure(() => s.svc.run(s.sys, 'users.list', { top: 0 }), 'validation', 'top');
  });
});

// ────────────────────────────────────────────────────────────────────────────────────────────────
describe('operators, roles and sign-in', () => {
  const READ: Permission[] = ['site.read', 'hardware.read', 'people.read', 'access.read', 'audit.read'];
  const EVERYTHING: Permission[] = [...READ, 'site.write', 'hardware.write', 'people.write', 'access.write', 'access.membership', 'lock.remote', 'alarms.acknowledge', 'operators.manage', 'integrations.manage', 'backup'];
  /** What each role may do, written out here rather than read from permissions.ts. */
  const ALLOWED: Record<OperatorRole, Permission[]> = {
    owner: EVERYTHING,
    admin: EVERYTHING,
    front_desk: [...READ, 'people.write', 'access.membership', 'lock.remote', 'alarms.acknowledge'],
    installer: [...READ, 'hardware.write', 'alarms.acknowledge'],
    auditor: READ,
  };
  /** One representative call per permission (commands wherever the permission has one). */
  const PROBES: Array<{ name: ContractName; input: (f: Fixture, n: number) => unknown }> = [
    { name: 'site.get', input: () => ({}) },
    { name: 'site.update', input: (_, n) => ({ customer_reference: `Site ${n}` }) },
    { name: 'locks.list', input: () => ({}) },
    { name: 'locks.create', input: (_, n) => ({ customer_reference: `Door ${n}` }) },
    { name: 'users.list', input: () => ({}) },
    { name: 'users.create', input: (_, n) => ({ last_name: `Person ${n}` }) },
    { name: 'access.explain', input: (f) => ({ tag_number: f.aliceTag.tag_number, lock_id: f.frontDoor.id }) },
    { name: 'access_groups.create', input: (_, n) => ({ customer_reference: `Group ${n}` }) },
    { name: 'access_groups.users.update', input: (f, n) => ({ id: f.annex.id, [n % 2 ? 'add_ids' : 'remove_ids']: [f.alice.id] }) },
    { name: 'locks.set_locking', input: (f) => ({ id: f.frontDoor.id, locked_state: 'unlocked', otp: STAFF_PIN }) },
    { name: 'operator_log.list', input: () => ({}) },
    { name: 'operators.create', input: (_, n) => ({ username: `probe${n}`, display_name: `Probe ${n}`, role: 'auditor', password: PASSWORD }) },
    { name: 'api_clients.create', input: (_, n) => ({ customer_reference: `Client ${n}` }) },
    { name: 'site.export', input: () => ({}) },
    { name: 'incidents.acknowledge', input: (f, n) => ({ ids: [f.alarms[n % f.alarms.length]!] }) },
  ];

  function signIn(s: Site, username: string, password: string): Actor {
    const session = s.svc.run(null, 'auth.login', { username, password });
    const actor = s.svc.authenticate(session.token);
    expect(actor).not.toBeNull();
    return actor!;
  }

  function staff(s: Site): Record<OperatorRole, Actor> {
    for (const role of ['admin', 'front_desk', 'installer', 'auditor'] as const) {
      s.svc.run(s.sys, 'operators.create', { username: role.replace('_', '-'), display_name: role, role, password: PASSWORD, pin: STAFF_PIN });
    }
    const owner = s.svc.run(s.sys, 'operators.list', {}).find((o) => o.username === 'owner')!;
    s.svc.run(s.sys, 'operators.update', { id: owner.id, pin: STAFF_PIN });
    return {
      owner: signIn(s, 'owner', OWNER_PASSWORD),
      admin: signIn(s, 'admin', PASSWORD),
      front_desk: signIn(s, 'front-desk', PASSWORD),
      installer: signIn(s, 'installer', PASSWORD),
      auditor: signIn(s, 'auditor', PASSWORD),
    };
  }

  it('each probe exercises a different permission, and every permission a command needs is probed', () => {
    const probed = PROBES.map((p) => contract[p.name].permission);
    expect(new Set(probed).size).toBe(PROBES.length);
    const used = new Set(Object.values(contract).map((d) => d.permission).filter((p): p is Permission => p !== null));
    expect([...used].sort()).toEqual([...probed].sort());
  });

  it('each role may call exactly what its permissions allow; a refused call changes nothing', () => {
    const s = start();
    const f = populate(s);
    const actors = staff(s);
    let n = 0;
    for (const [role, actor] of Object.entries(actors) as Array<[OperatorRole, Actor]>) {
      expect(s.svc.run(actor, 'auth.me', {})).toMatchObject({ kind: 'operator', role, permissions: expect.arrayContaining(ALLOWED[role]) });
      expect(s.svc.run(actor, 'auth.me', {}).permissions.sort()).toEqual([...ALLOWED[role]].sort());
      for (const probe of PROBES) {
        const permission = contract[probe.name].permission!;
        const input = probe.input(f, n++);
        if (ALLOWED[role].includes(permission)) {
          expect(() => s.svc.call(actor, probe.name, input), `${role} → ${probe.name}`).not.toThrow();
        } else {
          const before = dump(s.db);
          const e = expectFailure(() => s.svc.call(actor, probe.name, input), 'forbidden');
          expect(e.message).toContain(permission);
          expect(dump(s.db), `${role} → ${probe.name} changed the database`).toEqual(before);
        }
      }
    }
  });

  it('calls without a valid session are refused as unauthenticated', () => {
    const s = start();
    populate(s);
    expectFailure(() => s.svc.call(null, 'users.list', {}), 'unauthenticated');
    const before = dump(s.db);
    expectFailure(() => s.svc.call(null, 'users.create', { last_name: 'Intruder' }), 'unauthenticated');
    expect(dump(s.db)).toEqual(before);
    expect(s.svc.authenticate('not-a-token')).toBeNull();

    const session = s.svc.run(null, 'auth.login', { username: 'owner', password: OWNER_PASSWORD, ttl_seconds: 600 });
    const actor = s.svc.authenticate(session.token)!;
    expect(actor).toMatchObject({ kind: 'operator', name: 'owner', role: 'owner' });
    s.clock.now = T0 + 601_000;
    expect(s.svc.authenticate(session.token)).toBeNull();
    s.clock.now = T0;
    s.svc.run(actor, 'auth.logout', {});
    expect(s.svc.authenticate(session.token)).toBeNull();
  });

  it('a disabled operator is signed out and cannot sign in', () => {
    const s = start();
    const clerk = s.svc.run(s.sys, 'operators.create', { username: 'clerk', display_name: 'Clerk', role: 'front_desk', password: PASSWORD });
    const token = s.svc.run(null, 'auth.login', { username: 'clerk', password: PASSWORD }).token;
    s.svc.run(s.sys, 'operators.update', { id: clerk.id, disabled: true });
    expect(s.svc.authenticate(token)).toBeNull();
    expectFailure(() => s.svc.run(null, 'auth.login', { username: 'clerk', password: PASSWORD }), 'unauthenticated');
  });

  it('integration clients get tokens for their role', () => {
    const s = start();
    const created = s.svc.run(s.sys, 'api_clients.create', { customer_reference: 'HR system', role: 'front_desk' });
    const session = s.svc.run(null, 'auth.client_token', { client_id: created.client_id, client_secret: created.client_secret });
    const client = s.svc.authenticate(session.token)!;
    expect(client).toMatchObject({ kind: 'client', role: 'front_desk', name: 'HR system' });
    expect(s.svc.run(client, 'users.create', { last_name: 'Synced' }).last_name).toBe('Synced');
    expectFailure(() => s.svc.run(client, 'site.update', { customer_reference: 'Mine now' }), 'forbidden');
    expectFailure(() => s.svc.run(null, 'auth.client_token', { client_id: created.client_id, client_secret: 'wrong' }), 'unauthenticated');
    s.svc.run(s.sys, 'api_clients.delete', { id: created.id });
    expect(s.svc.authenticate(session.token)).toBeNull();
  });

  it('an admin cannot create, change, promote to or remove an owner', () => {
    const s = start();
    s.svc.run(s.sys, 'operators.create', { username: 'admin', display_name: 'Admin', role: 'admin', password: PASSWORD });
    const admin = signIn(s, 'admin', PASSWORD);
    const owner = s.svc.run(s.sys, 'operators.list', {}).find((o) => o.username === 'owner')!;
    const before = dump(s.db);
    expectFailure(() => s.svc.run(admin, 'operators.create', { username: 'boss', display_name: 'Boss', role: 'owner', password: PASSWORD }), 'forbidden');
    expectFailure(() => s.svc.run(admin, 'operators.update', { id: owner.id, display_name: 'Demoted?' }), 'forbidden');
    expectFailure(() => s.svc.run(admin, 'operators.update', { id: owner.id, password: 'taken over now' }), 'forbidden');
    expectFailure(() => s.svc.run(admin, 'operators.delete', { id: owner.id }), 'forbidden');
    expectFailure(() => s.svc.run(admin, 'api_clients.create', { customer_reference: 'Backdoor', role: 'owner' }), 'forbidden');
    const clerk = s.svc.run(s.sys, 'operators.create', { username: 'clerk', display_name: 'Clerk', role: 'front_desk', password: PASSWORD });
    const clerkToken = s.svc.run(null, 'auth.login', { username: 'clerk', password: PASSWORD }).token;
    const afterClerk = dump(s.db);
    expectFailure(() => s.svc.run(admin, 'operators.update', { id: clerk.id, role: 'owner' }), 'forbidden');
    expect(dump(s.db)).toEqual(afterClerk);
    expect(before.operators).toHaveLength(2);
    // What an admin may do: manage everyone else.
    expect(s.svc.run(admin, 'operators.update', { id: clerk.id, role: 'installer' }).role).toBe('installer');
    // A changed role ends the operator's sessions.
    expect(s.svc.authenticate(clerkToken)).toBeNull();
    s.svc.run(admin, 'operators.delete', { id: clerk.id });
    expect(s.svc.run(admin, 'operators.list', {}).map((o) => o.username)).toEqual(['admin', 'owner']);
  });

  it('the last owner cannot be demoted, disabled or removed', () => {
    const s = start();
    const ownerActor = signIn(s, 'owner', OWNER_PASSWORD);
    const owner = s.svc.run(s.sys, 'operators.list', {}).find((o) => o.username === 'owner')!;
    const before = dump(s.db);
    expectFailure(() => s.svc.run(ownerActor, 'operators.update', { id: owner.id, role: 'admin' }), 'conflict');
    expectFailure(() => s.svc.run(s.sys, 'operators.update', { id: owner.id, disabled: true }), 'conflict');
    expectFailure(() => s.svc.run(s.sys, 'operators.delete', { id: owner.id }), 'conflict');
    expect(dump(s.db)).toEqual(before);
    // With a second owner, the first may step down.
    s.svc.run(ownerActor, 'operators.create', { username: 'owner2', display_name: 'Second owner', role: 'owner', password: PASSWORD });
    expect(s.svc.run(ownerActor, 'operators.update', { id: owner.id, role: 'admin' }).role).toBe('admin');
    const second = s.svc.run(s.sys, 'operators.list', {}).find((o) => o.username === 'owner2')!;
    expectFailure(() => s.svc.run(s.sys, 'operators.delete', { id: second.id }), 'conflict');
  });

  it('operators change their own password; the old one stops working', () => {
    const s = start();
    const owner = signIn(s, 'owner', OWNER_PASSWORD);
    expectFailure(() => s.svc.run(owner, 'operators.change_password', { current_password: 'wrong', new_password: PASSWORD }), 'validation', 'current_password');
    s.svc.run(owner, 'operators.change_password', { current_password: OWNER_PASSWORD, new_password: PASSWORD });
    expectFailure(() => s.svc.run(null, 'auth.login', { username: 'owner', password: OWNER_PASSWORD }), 'unauthenticated');
    expect(s.svc.run(null, 'auth.login', { username: 'owner', password: PASSWORD }).operator.username).toBe('owner');
  });
});

// ────────────────────────────────────────────────────────────────────────────────────────────────
describe('login throttling', () => {
  it('locks a username out after 5 wrong passwords, even for the right one, until the lockout passes', () => {
    const s = start();
    const before = dump(s.db);
    const logRows = logCount(s.db);
    for (let i = 0; i < 5; i++) {
      expectFailure(() => s.svc.run(null, 'auth.login', { username: i % 2 ? 'OWNER' : 'owner', password: 'wrong password' }), 'unauthenticated');
      s.clock.now += 1000;
    }
    // A wrong password writes nothing: no log row, no token, no last-login time.
    expect(logCount(s.db)).toBe(logRows);
    expect(dump(s.db)).toEqual(before);

    const e = expectFailure(() => s.svc.run(null, 'auth.login', { username: 'owner', password: OWNER_PASSWORD }), 'rate_limited');
    expect(Number(e.issues?.find((i) => i.path === 'retry_after')?.message)).toBeGreaterThan(0);
    expect(dump(s.db)).toEqual(before);
    s.clock.now += 25_000; // locked for 30 s from the fifth failure
    expectFailure(() => s.svc.run(null, 'auth.login', { username: 'owner', password: OWNER_PASSWORD }), 'rate_limited');
    // Another username is not affected.
    s.svc.run(s.sys, 'operators.create', { username: 'clerk', display_name: 'Clerk', role: 'front_desk', password: PASSWORD });
    expect(s.svc.run(null, 'auth.login', { username: 'clerk', password: PASSWORD }).operator.username).toBe('clerk');

    s.clock.now += 6_000;
    const session = s.svc.run(null, 'auth.login', { username: 'owner', password: OWNER_PASSWORD });
    expect(s.svc.authenticate(session.token)?.name).toBe('owner');
    expect(logCount(s.db)).toBeGreaterThan(logRows);
  });

  it('locks out for longer the second time', () => {
    const s = start();
    const fail5 = () => {
      for (let i = 0; i < 5; i++) expectFailure(() => s.svc.run(null, 'auth.login', { username: 'owner', password: 'wrong password' }), 'unauthenticated');
    };
    fail5();
    s.clock.now += 31_000;
    fail5();
    s.clock.now += 31_000;
    expectFailure(() => s.svc.run(null, 'auth.login', { username: 'owner', password: OWNER_PASSWORD }), 'rate_limited');
    s.clock.now += 30_000;
    expect(s.svc.run(null, 'auth.login', { username: 'owner', password: OWNER_PASSWORD }).token).toBeTruthy();
  });

  it('throttles by source address across usernames', () => {
    const s = start();
    for (let i = 0; i < 5; i++) expectFailure(() => s.svc.run(null, 'auth.login', { username: `guess${i}`, password: 'wrong password' }, { ip: '203.0.113.9' }), 'unauthenticated');
    expectFailure(() => s.svc.run(null, 'auth.login', { username: 'owner', password: OWNER_PASSWORD }, { ip: '203.0.113.9' }), 'rate_limited');
    expect(s.svc.run(null, 'auth.login', { username: 'owner', password: OWNER_PASSWORD }, { ip: '198.51.100.1' }).token).toBeTruthy();
  });
});

// ────────────────────────────────────────────────────────────────────────────────────────────────
describe('invalid input writes nothing', () => {
  const cases: Array<{ what: string; name: ContractName; input: (f: Fixture) => unknown; code: ErrorCode; field: string }> = [
    { what: 'unknown key', name: 'iqs.create', input: () => ({ mac: '00-14-22-01-23-99', customer_reference: 'X', colour: 'red' }), code: 'validation', field: 'colour' },
    { what: 'unknown key on an update', name: 'users.update', input: (f) => ({ id: f.alice.id, password: 'x' }), code: 'validation', field: 'password' },
    { what: 'wrong type', name: 'users.create', input: () => ({ last_name: 42 }), code: 'validation', field: 'last_name' },
    { what: 'wrong type (boolean)', name: 'users.update', input: (f) => ({ id: f.alice.id, blocked: 'yes' }), code: 'validation', field: 'blocked' },
    { what: 'no name at all', name: 'users.create', input: () => ({ kind: 'visitor' }), code: 'validation', field: 'last_name' },
    { what: 'bad e-mail', name: 'users.create', input: () => ({ last_name: 'X', email: 'not-an-address' }), code: 'validation', field: 'email' },
    { what: 'bad time zone (site)', name: 'site.update', input: () => ({ time_zone: 'Mars/Olympus_Mons' }), code: 'validation', field: 'time_zone' },
    { what: 'bad time zone (IQ)', name: 'iqs.update', input: (f) => ({ id: f.iqA.id, time_zone: 'Europe/Atlantis' }), code: 'validation', field: 'time_zone' },
    { what: 'bad MAC', name: 'iqs.create', input: () => ({ mac: '00-14-22', customer_reference: 'X' }), code: 'validation', field: 'mac' },
    { what: 'tag number too short', name: 'tags.create', input: () => ({ tag_number: '12345' }), code: 'validation', field: 'tag_number' },
    { what: 'tag number not digits', name: 'tags.update', input: (f) => ({ id: f.spareTag.id, tag_number: '00000abcde' }), code: 'validation', field: 'tag_number' },
    { what: 'bad card uid', name: 'tags.create', input: () => ({ card_uid: 'XYZ' }), code: 'validation', field: 'card_uid' },
    { what: 'schedule with no days', name: 'access_groups.time_schedules.create', input: (f) => ({ access_group_id: f.office.id, start_time: '08:00', end_time: '17:00' }), code: 'validation', field: 'monday' },
    {
      what: 'schedule with no days, inside a group',
      name: 'access_groups.create',
      input: () => ({ customer_reference: 'G', time_schedules: [weekdays, { start_time: '08:00', end_time: '17:00' }] }),
      code: 'validation',
      field: 'time_schedules.1.monday',
    },
    {
      what: 'end_date before start_date',
      name: 'access_groups.time_schedules.create',
      input: (f) => ({ access_group_id: f.office.id, monday: true, start_time: '08:00', end_time: '17:00', start_date: '2026-05-01', end_date: '2026-04-30' }),
      code: 'validation',
      field: 'end_date',
    },
    { what: 'bad time of day', name: 'access_groups.time_schedules.update', input: () => ({ id: 'x', monday: true, start_time: '25:00', end_time: '17:00' }), code: 'validation', field: 'start_time' },
    { what: 'valid_until before valid_from', name: 'users.create', input: () => ({ last_name: 'X', valid_from: '2026-05-01T00:00:00Z', valid_until: '2026-04-01T00:00:00Z' }), code: 'validation', field: 'valid_until' },
    { what: 'valid_until before the stored valid_from', name: 'users.update', input: (f) => ({ id: f.bob.id, valid_until: '2025-12-31T00:00:00Z' }), code: 'validation', field: 'valid_until' },
    { what: 'instant without offset', name: 'users.update', input: (f) => ({ id: f.bob.id, valid_until: '2026-03-01T00:00:00' }), code: 'validation', field: 'valid_until' },
    { what: 'impossible holiday date', name: 'holiday_calendars.create', input: () => ({ customer_reference: 'C', dates: [{ date: '2026-02-30' }] }), code: 'validation', field: 'dates.0.date' },
    { what: 'empty membership change', name: 'access_groups.users.update', input: (f) => ({ id: f.office.id }), code: 'validation', field: 'add_ids' },
    { what: 'empty bulk patch', name: 'users.bulk_update', input: (f) => ({ ids: [f.alice.id], patch: {} }), code: 'validation', field: 'patch' },
    { what: 'short password', name: 'operators.create', input: () => ({ username: 'x1', display_name: 'X', role: 'auditor', password: 'short' }), code: 'validation', field: 'password' },
    { what: 'unknown IQ', name: 'locks.create', input: () => ({ customer_reference: 'Door', iq_id: 'no-such-iq' }), code: 'validation', field: 'iq_id' },
    { what: 'unknown IQ on update', name: 'locks.update', input: (f) => ({ id: f.frontDoor.id, iq_id: 'no-such-iq' }), code: 'validation', field: 'iq_id' },
    { what: 'unknown lock', name: 'access_groups.create', input: (f) => ({ customer_reference: 'G', lock_ids: [f.frontDoor.id, 'no-such-lock'] }), code: 'validation', field: 'lock_ids' },
    { what: 'unknown calendar', name: 'access_groups.update', input: (f) => ({ id: f.office.id, holiday_calendar_id: 'no-such-calendar' }), code: 'validation', field: 'holiday_calendar_id' },
    { what: 'unknown owner', name: 'tags.update', input: (f) => ({ id: f.spareTag.id, user_id: 'no-such-user' }), code: 'validation', field: 'user_id' },
    { what: 'unknown member', name: 'access_groups.users.update', input: (f) => ({ id: f.office.id, add_ids: [f.bob.id, 'no-such-user'] }), code: 'validation', field: 'add_ids' },
    { what: 'unknown offline key', name: 'locks.offline_keys.update', input: (f) => ({ id: f.storeRoom.id, add_ids: ['no-such-tag'] }), code: 'validation', field: 'add_ids' },
    { what: 'unknown person in bulk', name: 'users.bulk_update', input: (f) => ({ ids: [f.alice.id, 'no-such-user'], patch: { blocked: true } }), code: 'not_found', field: 'no-such-user' },
    { what: 'unknown record', name: 'users.update', input: () => ({ id: 'no-such-user', last_name: 'X' }), code: 'not_found', field: 'no-such-user' },
    { what: 'unknown schedule', name: 'access_groups.time_schedules.delete', input: () => ({ id: 'no-such-schedule' }), code: 'not_found', field: 'no-such-schedule' },
    { what: 'unknown group', name: 'access_groups.time_schedules.create', input: () => ({ access_group_id: 'no-such-group', monday: true, start_time: '08:00', end_time: '09:00' }), code: 'not_found', field: 'no-such-group' },
  ];

  it.each(cases)('$what ($name) → $code naming $field', ({ name, input, code, field }) => {
    const s = start();
    const f = populate(s);
    const events: unknown[] = [];
    s.svc.on('model.changed', (p) => events.push(p));
    const before = dump(s.db);
    expectFailure(() => s.svc.call(s.sys, name, input(f)), code, field);
    expect(dump(s.db)).toEqual(before);
    expect(events).toEqual([]);
  });

  it('an unknown command is refused', () => {
    const s = start();
    expectFailure(() => s.svc.call(s.sys, 'users.frobnicate', {}), 'validation');
  });
});

describe('a command that fails halfway leaves no trace', () => {
  it('users.create with one good and one unknown group: no person, no membership, no log row', () => {
    const s = start();
    const f = populate(s);
    const before = dump(s.db);
    const logRows = logCount(s.db);
    expectFailure(() => s.svc.run(s.sys, 'users.create', { first_name: 'Half', last_name: 'Done', access_group_ids: [f.office.id, 'no-such-group'] }), 'validation', 'access_group_ids');
    expect(s.svc.run(s.sys, 'users.list', { search: 'Half' }).count).toBe(0);
    expect(s.svc.run(s.sys, 'access_groups.get', { id: f.office.id }).user_count).toBe(1);
    expect(logCount(s.db)).toBe(logRows);
    expect(dump(s.db)).toEqual(before);
  });

  it('an offline-key change that removes a key and then overflows the lock keeps the removed key', () => {
    const s = start();
    const f = populate(s);
    s.svc.run(s.sys, 'locks.offline_keys.update', { id: f.storeRoom.id, add_ids: [f.aliceTag.id] });
    const before = dump(s.db);
    const third = s.svc.run(s.sys, 'tags.create', {});
    const afterTag = dump(s.db);
    expect(afterTag).not.toEqual(before);
    expectFailure(() => s.svc.run(s.sys, 'locks.offline_keys.update', { id: f.storeRoom.id, remove_ids: [f.aliceTag.id], add_ids: [f.bobTag.id, f.spareTag.id, third.id] }), 'conflict', 'add_ids');
    expect(s.svc.run(s.sys, 'locks.offline_keys.list', { id: f.storeRoom.id }).map((t) => t.id)).toEqual([f.aliceTag.id]);
    expect(dump(s.db)).toEqual(afterTag);
  });
});

// ────────────────────────────────────────────────────────────────────────────────────────────────
describe('operator log', () => {
  it('records every change with before and after images, by whom', () => {
    const s = start();
    const f = populate(s);
    s.svc.run(s.sys, 'operators.create', { username: 'clerk', display_name: 'Clerk', role: 'front_desk', password: PASSWORD });
    const clerk = s.svc.authenticate(s.svc.run(null, 'auth.login', { username: 'clerk', password: PASSWORD }).token)!;
    const n0 = logCount(s.db);
    s.svc.run(clerk, 'users.update', { id: f.bob.id, last_name: 'Bruin', blocked: true });
    const created = s.svc.run(clerk, 'users.create', { first_name: 'Dana', last_name: 'Dijk' });
    s.svc.run(clerk, 'users.delete', { id: created.id });
    s.svc.run(s.sys, 'access_groups.users.update', { id: f.office.id, add_ids: [f.bob.id] });
    expect(logCount(s.db)).toBe(n0 + 4);
    // A change that changes nothing is not logged.
    s.svc.run(clerk, 'users.update', { id: f.bob.id, last_name: 'Bruin' });
    expect(logCount(s.db)).toBe(n0 + 4);

    const rows = s.svc.run(s.sys, 'operator_log.list', { top: 4 }).items;
    expect(rows.map((r) => r.command)).toEqual(['access_groups.users.update', 'users.delete', 'users.create', 'users.update']);
    const [membership, deleted, added, updated] = rows;
    expect(updated).toMatchObject({ actor_kind: 'operator', actor_name: 'clerk', actor_id: clerk.id, target_type: 'user', target_id: f.bob.id, before: { last_name: 'Brown', blocked: false }, after: { last_name: 'Bruin', blocked: true } });
    expect(added).toMatchObject({ target_id: created.id, before: null, after: { first_name: 'Dana', last_name: 'Dijk' } });
    expect(deleted).toMatchObject({ target_id: created.id, before: { first_name: 'Dana' }, after: null });
    expect(membership).toMatchObject({ actor_kind: 'system', actor_name: 'test', before: { removed_user_ids: [] }, after: { added_user_ids: [f.bob.id] } });
    expect(s.svc.run(s.sys, 'operator_log.list', { filter: { op: 'eq', field: 'target_id', value: f.bob.id } }).count).toBeGreaterThanOrEqual(2);
    expect(verifyOperatorLog(s.db.read)).toEqual({ rows: logCount(s.db), firstBreak: null });
  });

  it('an edit made to a row by hand breaks the chain at that row', () => {
    const s = start();
    populate(s);
    expect(verifyOperatorLog(s.db.read).firstBreak).toBeNull();
    s.db.transaction((w) => w.prepare('UPDATE operator_log SET after = ? WHERE seq = 3').run('{}'));
    expect(verifyOperatorLog(s.db.read).firstBreak).toMatchObject({ seq: 3 });
  });

  it('the newest rows deleted are reported against the recorded head', () => {
    const s = start();
    populate(s);
    const n = logCount(s.db);
    s.db.transaction((w) => w.prepare('DELETE FROM operator_log WHERE seq >= ?').run(n - 1));
    expect(verifyOperatorLog(s.db.read).firstBreak).toMatchObject({ seq: n - 1, reason: `rows ${n - 1}–${n}, the newest, are missing` });
  });

  it('a row deleted from the middle is reported', () => {
    const s = start();
    populate(s);
    s.db.transaction((w) => w.prepare('DELETE FROM operator_log WHERE seq = 4').run());
    expect(verifyOperatorLog(s.db.read).firstBreak).toMatchObject({ seq: 4, reason: expect.stringContaining('row 4 is missing') });
  });

  it('a row rewritten with a freshly computed hash still breaks the link to the next row', () => {
    const s = start();
    populate(s);
    const n = logCount(s.db);
    s.db.transaction((w) => w.prepare(`UPDATE operator_log SET hash = ? WHERE seq = ?`).run('f'.repeat(64), n - 1));
    expect(verifyOperatorLog(s.db.read).firstBreak?.seq).toBe(n - 1);
  });
});

// ────────────────────────────────────────────────────────────────────────────────────────────────
describe('uniqueness', () => {
  it('refuses a duplicate tag number, MAC, card UID, e-mail and username, naming the field', () => {
    const s = start();
    const f = populate(s);
    const before = dump(s.db);
    expectFailure(() => s.svc.run(s.sys, 'tags.create', { tag_number: f.aliceTag.tag_number }), 'conflict', 'tag_number');
    expectFailure(() => s.svc.run(s.sys, 'tags.update', { id: f.spareTag.id, tag_number: f.bobTag.tag_number }), 'conflict', 'tag_number');
    expectFailure(() => s.svc.run(s.sys, 'iqs.create', { mac: '00:14:22:01:23:45', customer_reference: 'Clone' }), 'conflict', 'mac');
    expectFailure(() => s.svc.run(s.sys, 'users.create', { last_name: 'Impostor', email: 'ALICE@example.com' }), 'conflict', 'email');
    expectFailure(() => s.svc.run(s.sys, 'users.update', { id: f.bob.id, email: 'Alice@Example.com' }), 'conflict', 'email');
    expect(dump(s.db)).toEqual(before);
    s.svc.run(s.sys, 'locks.update', { id: f.frontDoor.id, mac: '10-00-00-00-00-01' });
    expectFailure(() => s.svc.run(s.sys, 'locks.create', { customer_reference: 'Twin', mac: '10:00:00:00:00:01' }), 'conflict', 'mac');
    s.svc.run(s.sys, 'tags.update', { id: f.spareTag.id, card_uid: '04A1B2C3' });
    expectFailure(() => s.svc.run(s.sys, 'tags.create', { card_uid: '04-a1-b2-c3' }), 'conflict', 'card_uid');
    expectFailure(() => s.svc.run(s.sys, 'operators.create', { username: 'OWNER', display_name: 'Second', role: 'auditor', password: PASSWORD }), 'conflict', 'username');
  });
});

describe('offline-access keys', () => {
  it('fit within the lock’s slots; a full lock refuses more', () => {
    const s = start();
    const f = populate(s);
    const lock = s.svc.run(s.sys, 'locks.offline_keys.update', { id: f.storeRoom.id, add_ids: [f.aliceTag.id, f.bobTag.id] });
    expect(lock.offline_access_keys_count).toBe(2);
    expect(s.svc.run(s.sys, 'locks.offline_keys.list', { id: f.storeRoom.id }).map((t) => t.tag_number)).toEqual(['0000001001', '0000001002']);
    // Adding a key that is already there takes no slot.
    expect(s.svc.run(s.sys, 'locks.offline_keys.update', { id: f.storeRoom.id, add_ids: [f.aliceTag.id] }).offline_access_keys_count).toBe(2);
    const before = dump(s.db);
    const e = expectFailure(() => s.svc.run(s.sys, 'locks.offline_keys.update', { id: f.storeRoom.id, add_ids: [f.spareTag.id] }), 'conflict', 'add_ids');
    expect(e.message).toContain('Store room');
    expect(dump(s.db)).toEqual(before);
    expectFailure(() => s.svc.run(s.sys, 'locks.update', { id: f.storeRoom.id, offline_access_keys_limit: 1 }), 'conflict', 'offline_access_keys_limit');
    // Swapping one key for another in one call fits.
    const swapped = s.svc.run(s.sys, 'locks.offline_keys.update', { id: f.storeRoom.id, remove_ids: [f.bobTag.id], add_ids: [f.spareTag.id] });
    expect(swapped.offline_access_keys_count).toBe(2);
    expect(s.svc.run(s.sys, 'locks.offline_keys.list', { id: f.storeRoom.id }).map((t) => t.id)).toEqual([f.aliceTag.id, f.spareTag.id]);
    // A bigger limit makes room (a tag listed twice takes one slot).
    s.svc.run(s.sys, 'locks.update', { id: f.storeRoom.id, offline_access_keys_limit: 3 });
    expect(s.svc.run(s.sys, 'locks.offline_keys.update', { id: f.storeRoom.id, add_ids: [f.bobTag.id, f.bobTag.id] }).offline_access_keys_count).toBe(3);
  });

  it('an offline key opens its lock only while the lock is offline', () => {
    const s = start();
    const f = populate(s);
    s.svc.run(s.sys, 'locks.offline_keys.update', { id: f.storeRoom.id, add_ids: [f.bobTag.id] });
    expect(s.svc.run(s.sys, 'access.explain', { tag_number: f.bobTag.tag_number, lock_id: f.storeRoom.id, offline: true })).toMatchObject({ granted: true, reason: 'offline' });
    expect(s.svc.run(s.sys, 'access.decide', { tag_number: f.bobTag.tag_number, lock_id: f.storeRoom.id })).toMatchObject({ granted: false, reason: 'no_access' });
  });
});

// ────────────────────────────────────────────────────────────────────────────────────────────────
describe('access decisions follow every change at once', () => {
  it('decide and explain reflect blocks, lost tags, memberships, holidays and schedules', () => {
    const s = start();
    const f = populate(s);
    const tag = f.aliceTag.tag_number;
    const decide = (at?: string) => s.svc.run(s.sys, 'access.decide', { tag_number: tag, lock_id: f.frontDoor.id, ...(at ? { at } : {}) });

    expect(decide()).toMatchObject({ granted: true, reason: 'access', access_group_id: f.office.id });
    expect(decide('2026-03-02T18:30:00+01:00')).toMatchObject({ granted: false, reason: 'outside_schedule' });
    expect(decide('2026-04-27T10:00:00+02:00')).toMatchObject({ granted: false, reason: 'holiday' });
    expect(s.svc.run(s.sys, 'access.decide', { tag_number: '0000009999', lock_id: f.frontDoor.id }).reason).toBe('unknown_tag');
    expect(s.svc.run(s.sys, 'access.decide', { tag_number: tag, lock_id: f.annexDoor.id }).reason).toBe('no_access');
    expectFailure(() => s.svc.run(s.sys, 'access.decide', { tag_number: tag, lock_id: 'no-such-lock' }), 'not_found');

    s.svc.run(s.sys, 'users.update', { id: f.alice.id, blocked: true });
    expect(decide().reason).toBe('blocked');
    const why = s.svc.run(s.sys, 'access.explain', { user_id: f.alice.id, lock_id: f.frontDoor.id });
    expect(why.checks.find((c) => c.check === 'user_blocked')).toMatchObject({ passed: false });
    expect(why.summary).toContain('blocked');
    s.svc.run(s.sys, 'users.update', { id: f.alice.id, blocked: false });
    expect(decide().granted).toBe(true);

    s.svc.run(s.sys, 'tags.report_lost', { id: f.aliceTag.id });
    expect(decide().reason).toBe('blocked');
    expect(s.svc.run(s.sys, 'access.explain', { tag_number: tag, lock_id: f.frontDoor.id }).checks.find((c) => c.check === 'tag_status')?.detail).toContain('lost');
    s.svc.run(s.sys, 'tags.report_lost', { id: f.aliceTag.id, lost_or_stolen: false });
    expect(decide().granted).toBe(true);

    s.svc.run(s.sys, 'users.update', { id: f.alice.id, subscription_state: 'suspended' });
    expect(decide().reason).toBe('suspended');
    s.svc.run(s.sys, 'users.update', { id: f.alice.id, subscription_state: 'subscribed', valid_until: '2026-03-02T08:00:00Z' });
    expect(decide().reason).toBe('expired');
    s.svc.run(s.sys, 'users.update', { id: f.alice.id, valid_until: null });

    s.svc.run(s.sys, 'access_groups.users.update', { id: f.office.id, remove_ids: [f.alice.id] });
    expect(decide().reason).toBe('no_access');
    s.svc.run(s.sys, 'access_groups.users.update', { id: f.office.id, add_ids: [f.alice.id] });
    expect(decide().granted).toBe(true);

    s.svc.run(s.sys, 'holiday_calendars.update', { id: f.calendar.id, add_dates: [{ date: '2026-03-02', description: 'Company day off' }] });
    expect(decide().reason).toBe('holiday');
    expect(s.svc.run(s.sys, 'access.explain', { tag_number: tag, lock_id: f.frontDoor.id }).groups[0]).toMatchObject({ access_group_id: f.office.id, day_type: 'holiday', verdict: 'holiday' });
    s.svc.run(s.sys, 'holiday_calendars.update', { id: f.calendar.id, remove_dates: ['2026-03-02'] });
    expect(decide().granted).toBe(true);

    const sched = s.svc.run(s.sys, 'access_groups.get', { id: f.office.id }).time_schedules[0]!;
    s.svc.run(s.sys, 'access_groups.time_schedules.update', { id: sched.id, ...weekdays, start_time: '12:00', end_time: '13:00' });
    expect(decide().reason).toBe('outside_schedule');
    expect(decide('2026-03-02T12:30:00+01:00').granted).toBe(true);

    s.svc.run(s.sys, 'access_groups.delete', { id: f.annex.id });
    expect(s.svc.run(s.sys, 'access.decide', { tag_number: f.bobTag.tag_number, lock_id: f.annexDoor.id }).reason).toBe('no_access');
    s.svc.run(s.sys, 'users.delete', { id: f.alice.id });
    expect(decide().reason).toBe('no_access');
    s.svc.run(s.sys, 'tags.update', { id: f.aliceTag.id, user_id: f.bob.id });
    s.svc.run(s.sys, 'access_groups.users.update', { id: f.office.id, add_ids: [f.bob.id] });
    expect(decide('2026-03-02T12:30:00+01:00')).toMatchObject({ granted: true, access_group_id: f.office.id });

    s.svc.run(s.sys, 'locks.update', { id: f.frontDoor.id, iq_id: f.iqB.id });
    s.svc.run(s.sys, 'iqs.update', { id: f.iqB.id, time_zone: 'America/New_York' });
    // 12:30 in New York is 17:30 UTC.
    expect(decide('2026-03-02T12:30:00-05:00').granted).toBe(true);
    expect(decide('2026-03-02T12:30:00+01:00').granted).toBe(false);
  });

  it('table versions go up only for the IQs whose table changed', () => {
    const s = start();
    const f = populate(s);
    const carol = s.svc.run(s.sys, 'users.create', { first_name: 'Carol', last_name: 'Clark' });
    s.svc.run(s.sys, 'tags.create', { user_id: carol.id });
    const synced: Array<{ iq_id: string; version: number }> = [];
    s.svc.on('iq.sync_state', (e) => synced.push({ iq_id: e.iq_id, version: e.version }));
    const v0 = tableVersions(s);
    expect(Object.keys(v0).sort()).toEqual([f.iqA.id, f.iqB.id].sort());

    // A change to a lock on IQ A.
    s.svc.run(s.sys, 'locks.offline_keys.update', { id: f.storeRoom.id, add_ids: [f.bobTag.id] });
    const v1 = tableVersions(s);
    expect(v1).toEqual({ ...v0, [f.iqA.id]: v0[f.iqA.id]! + 1 });
    expect(synced).toEqual([{ iq_id: f.iqA.id, version: v1[f.iqA.id] }]);

    // Renaming a lock changes no table at all.
    s.svc.run(s.sys, 'locks.update', { id: f.annexDoor.id, customer_reference: 'Annex entrance' });
    expect(tableVersions(s)).toEqual(v1);

    // A person joins a group whose doors are on IQ A.
    s.svc.run(s.sys, 'access_groups.users.update', { id: f.office.id, add_ids: [carol.id] });
    const v2 = tableVersions(s);
    expect(v2).toEqual({ ...v1, [f.iqA.id]: v1[f.iqA.id]! + 1 });

    // Blocking someone who only opens doors on IQ B.
    s.svc.run(s.sys, 'users.update', { id: f.bob.id, blocked: true });
    const v3 = tableVersions(s);
    // Bob holds an offline key on the store room (IQ A) too, so both carry his record.
    expect(v3).toEqual({ [f.iqA.id]: v2[f.iqA.id]! + 1, [f.iqB.id]: v2[f.iqB.id]! + 1 });

    // A schedule change of a group on IQ B.
    s.svc.run(s.sys, 'access_groups.time_schedules.create', { access_group_id: f.annex.id, saturday: true, start_time: '09:00', end_time: '12:00' });
    expect(tableVersions(s)).toEqual({ ...v3, [f.iqB.id]: v3[f.iqB.id]! + 1 });

    // A query never bumps anything.
    s.svc.run(s.sys, 'access.decide', { tag_number: f.aliceTag.tag_number, lock_id: f.frontDoor.id });
    expect(tableVersions(s)).toEqual({ ...v3, [f.iqB.id]: v3[f.iqB.id]! + 1 });
  });
});

// ────────────────────────────────────────────────────────────────────────────────────────────────
describe('users.import_csv', () => {
  const GOOD = [
    'first_name,last_name,email,kind,tag_number,access_groups,valid_until,blocked',
    'Ann,Jansen,ann@example.com,employee,0000100001,Office,,no',
    'Bas,de Vries,bas@example.com,Contractor,0000100002,Office;annex,2026-12-31,',
    'Cees,Bakker,Cees@Example.com,visitor,,,,yes',
    '',
  ].join('\n');

  function counts(s: Site) {
    const n = (sql: string) => (s.db.read.prepare(sql).get() as { n: number }).n;
    return { users: n('SELECT count(*) AS n FROM users'), tags: n('SELECT count(*) AS n FROM tags'), members: n('SELECT count(*) AS n FROM access_group_users') };
  }

  it('creates people with their tags and groups; importing the same file again changes nothing', () => {
    const s = start();
    const f = populate(s);
    const c0 = counts(s);
    const report = s.svc.run(s.sys, 'users.import_csv', { csv: GOOD });
    expect(report).toEqual({ dry_run: false, rows: 3, created: 3, updated: 0, errors: [] });
    expect(counts(s)).toEqual({ users: c0.users + 3, tags: c0.tags + 2, members: c0.members + 3 });

    const bas = s.svc.run(s.sys, 'users.list', { search: 'bas@example.com' }).items[0]!;
    expect(bas).toMatchObject({ first_name: 'Bas', last_name: 'de Vries', kind: 'contractor', valid_until: '2026-12-31T23:00:00.000Z' });
    const detail = s.svc.run(s.sys, 'users.get', { id: bas.id });
    expect(detail.tags.map((t) => t.tag_number)).toEqual(['0000100002']);
    expect(detail.access_groups.map((g) => g.id).sort()).toEqual([f.office.id, f.annex.id].sort());
    expect(s.svc.run(s.sys, 'users.list', { search: 'cees' }).items[0]).toMatchObject({ email: 'cees@example.com', blocked: true });
    // The imported tag opens the door right away.
    expect(s.svc.run(s.sys, 'access.decide', { tag_number: '0000100001', lock_id: f.frontDoor.id }).granted).toBe(true);

    const snapshot = dump(s.db);
    const again = s.svc.run(s.sys, 'users.import_csv', { csv: GOOD });
    expect(again).toEqual({ dry_run: false, rows: 3, created: 0, updated: 3, errors: [] });
    expect(counts(s)).toEqual({ users: c0.users + 3, tags: c0.tags + 2, members: c0.members + 3 });
    expect(dump(s.db)).toEqual(snapshot);

    // A changed row updates the person it matches by e-mail.
    s.svc.run(s.sys, 'users.import_csv', { csv: 'email,last_name,tag_number\nann@example.com,Jansen-Smit,0000001003\n' });
    const ann = s.svc.run(s.sys, 'users.list', { search: 'ann@example.com' }).items[0]!;
    expect(ann.last_name).toBe('Jansen-Smit');
    expect(s.svc.run(s.sys, 'users.get', { id: ann.id }).tags.map((t) => t.tag_number)).toEqual(['0000001003', '0000100001']);
    expect(counts(s).users).toBe(c0.users + 3);
  });

  it('reports every bad row with its line and column and writes nothing', () => {
    const s = start();
    const f = populate(s);
    const before = dump(s.db);
    const csv = [
      'first_name,last_name,email,kind,tag_number,access_groups,blocked',
      'Ann,Jansen,not-an-email,employee,0000100001,Office,no', // line 2: email
      'Bas,de Vries,bas@example.com,pilot,123,Office,no', // line 3: kind, tag_number
      'Good,Row,good@example.com,visitor,0000100003,Office,no', // line 4: fine
      '',
      `Cees,Bakker,cees@example.com,visitor,${f.aliceTag.tag_number},Nowhere,maybe`, // line 6: tag taken, group, blocked
      'Dirk,Dekker,bas@example.com,visitor,0000100003,,', // line 7: e-mail and tag repeat earlier lines
    ].join('\n');
    const report = s.svc.run(s.sys, 'users.import_csv', { csv });
    expect(report).toMatchObject({ dry_run: false, rows: 5, created: 0, updated: 0 });
    const where = report.errors.map((e) => `${e.line}:${e.column}`).sort();
    expect(where).toEqual(['2:email', '3:kind', '3:tag_number', '6:access_groups', '6:blocked', '6:tag_number', '7:email', '7:tag_number'].sort());
    expect(report.errors.find((e) => e.line === 7 && e.column === 'email')?.message).toContain('line 3');
    expect(dump(s.db)).toEqual(before);
  });

  it('refuses an unknown column in the header', () => {
    const s = start();
    populate(s);
    const before = dump(s.db);
    const report = s.svc.run(s.sys, 'users.import_csv', { csv: 'last_name,shoe_size\nX,42\n' });
    expect(report.errors).toEqual([expect.objectContaining({ line: 1, column: 'shoe_size' })]);
    expect(dump(s.db)).toEqual(before);
  });

  it('dry_run reports the counts and writes nothing', () => {
    const s = start();
    populate(s);
    s.svc.run(s.sys, 'users.import_csv', { csv: 'first_name,last_name,email\nAnn,Jansen,ann@example.com\n' });
    const before = dump(s.db);
    const events: unknown[] = [];
    s.svc.on('model.changed', (e) => events.push(e));
    expect(s.svc.run(s.sys, 'users.import_csv', { csv: GOOD, dry_run: true })).toEqual({ dry_run: true, rows: 3, created: 2, updated: 1, errors: [] });
    expect(dump(s.db)).toEqual(before);
    expect(events).toEqual([]);
  });
});

// ────────────────────────────────────────────────────────────────────────────────────────────────
describe('access.preview', () => {
  const iso = (s: string) => new Date(s).toISOString();

  it('lists who gains access to which doors, and when, without saving anything', () => {
    const s = start();
    const f = populate(s);
    const dana = s.svc.run(s.sys, 'users.create', { first_name: 'Dana', last_name: 'Dijk' });
    s.svc.run(s.sys, 'tags.create', { user_id: dana.id });
    const before = dump(s.db);
    const diff = s.svc.run(s.sys, 'access.preview', { command: 'access_groups.users.update', input: { id: f.office.id, add_ids: [dana.id] } });
    expect(diff.horizon).toEqual({ from: iso('2026-03-02T09:00:00Z'), until: iso('2026-03-09T09:00:00Z') });
    expect(diff.changes).toHaveLength(1);
    // Weekdays 08:00–18:00 Amsterdam (07:00–17:00 UTC), from now until the same time next week.
    expect(diff.changes[0]).toEqual({
      user_id: dana.id,
      user_name: 'Dana Dijk',
      tag_number: null,
      lock_id: f.frontDoor.id,
      lock_name: 'Front door',
      change: 'gains',
      intervals: [
        { from: iso('2026-03-02T09:00:00Z'), until: iso('2026-03-02T17:00:00Z') },
        { from: iso('2026-03-03T07:00:00Z'), until: iso('2026-03-03T17:00:00Z') },
        { from: iso('2026-03-04T07:00:00Z'), until: iso('2026-03-04T17:00:00Z') },
        { from: iso('2026-03-05T07:00:00Z'), until: iso('2026-03-05T17:00:00Z') },
        { from: iso('2026-03-06T07:00:00Z'), until: iso('2026-03-06T17:00:00Z') },
        { from: iso('2026-03-09T07:00:00Z'), until: iso('2026-03-09T09:00:00Z') },
      ],
      interval_count: 6,
      minutes: 50 * 60,
    });
    expect(diff).toMatchObject({ users_affected: 1, locks_affected: 1, truncated: false });
    expect(dump(s.db)).toEqual(before);
    expect(s.svc.run(s.sys, 'access_groups.get', { id: f.office.id }).user_count).toBe(1);

    // The real thing still works afterwards.
    s.svc.run(s.sys, 'access_groups.users.update', { id: f.office.id, add_ids: [dana.id] });
    expect(s.svc.run(s.sys, 'access.explain', { user_id: dana.id, lock_id: f.frontDoor.id }).granted).toBe(true);
    // And previewing it again shows no change.
    expect(s.svc.run(s.sys, 'access.preview', { command: 'access_groups.users.update', input: { id: f.office.id, add_ids: [dana.id] } }).changes).toEqual([]);
  });

  it('lists losses when a schedule is removed', () => {
    const s = start();
    const f = populate(s);
    const sat = s.svc.run(s.sys, 'access_groups.time_schedules.create', { access_group_id: f.office.id, saturday: true, start_time: '09:00', end_time: '12:59:59' });
    s.svc.run(s.sys, 'access_groups.users.update', { id: f.office.id, add_ids: [f.bob.id] });
    const before = dump(s.db);
    const diff = s.svc.run(s.sys, 'access.preview', { command: 'access_groups.time_schedules.delete', input: { id: sat.id }, horizon_days: 14 });
    expect(diff.changes.map((c) => [c.user_name, c.lock_name, c.change, c.tag_number])).toEqual([
      ['Alice Adams', 'Front door', 'loses', null],
      ['Bob Brown', 'Front door', 'loses', null],
    ]);
    expect(diff.changes[0]!.intervals).toEqual([
      { from: iso('2026-03-07T08:00:00Z'), until: iso('2026-03-07T12:00:00Z') },
      { from: iso('2026-03-14T08:00:00Z'), until: iso('2026-03-14T12:00:00Z') },
    ]);
    expect(diff.changes[0]!.minutes).toBe(8 * 60);
    expect(dump(s.db)).toEqual(before);
    // Removing the last schedule opens the doors at all hours: that is a gain.
    const weekday = s.svc.run(s.sys, 'access_groups.get', { id: f.office.id }).time_schedules[0]!;
    s.svc.run(s.sys, 'access_groups.time_schedules.delete', { id: sat.id });
    const all = s.svc.run(s.sys, 'access.preview', { command: 'access_groups.time_schedules.delete', input: { id: weekday.id } });
    expect(new Set(all.changes.map((c) => c.change))).toEqual(new Set(['gains']));
  });

  it('lists the losses of a blocked tag with its number', () => {
    const s = start();
    const f = populate(s);
    const before = dump(s.db);
    const diff = s.svc.run(s.sys, 'access.preview', { command: 'tags.update', input: { id: f.aliceTag.id, blocked: true }, horizon_days: 1 });
    expect(diff.changes).toEqual([
      expect.objectContaining({
        user_id: f.alice.id,
        tag_number: f.aliceTag.tag_number,
        lock_id: f.frontDoor.id,
        change: 'loses',
        // The next 24 hours: the rest of today and tomorrow morning until now.
        intervals: [
          { from: iso('2026-03-02T09:00:00Z'), until: iso('2026-03-02T17:00:00Z') },
          { from: iso('2026-03-03T07:00:00Z'), until: iso('2026-03-03T09:00:00Z') },
        ],
        minutes: 600,
      }),
    ]);
    expect(dump(s.db)).toEqual(before);
    expect(s.svc.run(s.sys, 'access.decide', { tag_number: f.aliceTag.tag_number, lock_id: f.frontDoor.id }).granted).toBe(true);
    s.svc.run(s.sys, 'tags.update', { id: f.aliceTag.id, blocked: true });
    expect(s.svc.run(s.sys, 'access.decide', { tag_number: f.aliceTag.tag_number, lock_id: f.frontDoor.id }).reason).toBe('blocked');
  });

  it('needs the permission of the previewed command and valid input for it', () => {
    const s = start();
    const f = populate(s);
    s.svc.run(s.sys, 'operators.create', { username: 'auditor', display_name: 'Auditor', role: 'auditor', password: PASSWORD });
    const auditor = s.svc.authenticate(s.svc.run(null, 'auth.login', { username: 'auditor', password: PASSWORD }).token)!;
    const before = dump(s.db);
    expectFailure(() => s.svc.run(auditor, 'access.preview', { command: 'users.update', input: { id: f.alice.id, blocked: true } }), 'forbidden');
    expectFailure(() => s.svc.run(s.sys, 'access.preview', { command: 'users.update', input: { id: f.alice.id, blocked: 'yes' } }), 'validation', 'input.blocked');
    expectFailure(() => s.svc.run(s.sys, 'access.preview', { command: 'users.list', input: {} }), 'validation', 'command');
    expectFailure(() => s.svc.run(s.sys, 'access.preview', { command: 'users.update', input: { id: 'no-such-user', blocked: true } }), 'not_found');
    expect(dump(s.db)).toEqual(before);
  });
});

// ────────────────────────────────────────────────────────────────────────────────────────────────
describe('events', () => {
  it('model.changed fires after a successful command, not after a failed one or a query', () => {
    const s = start();
    const f = populate(s);
    const seen: Array<{ kinds: string[]; ids: string[] }> = [];
    const off = s.svc.on('model.changed', (e) => seen.push(e));
    const carol = s.svc.run(s.sys, 'users.create', { first_name: 'Carol', last_name: 'Clark', access_group_ids: [f.office.id] });
    expect(seen).toEqual([{ kinds: ['user'], ids: [carol.id] }]);
    expectFailure(() => s.svc.run(s.sys, 'users.create', { first_name: 'Half', last_name: 'Done', access_group_ids: ['no-such-group'] }), 'validation');
    expectFailure(() => s.svc.run(s.sys, 'tags.create', { tag_number: f.aliceTag.tag_number }), 'conflict');
    s.svc.run(s.sys, 'users.list', {});
    s.svc.run(s.sys, 'access.preview', { command: 'users.delete', input: { id: carol.id } });
    expect(seen).toHaveLength(1);
    s.svc.run(s.sys, 'tags.update', { id: f.spareTag.id, user_id: carol.id });
    expect(seen[1]).toEqual({ kinds: ['tag'], ids: [f.spareTag.id] });
    off();
    s.svc.run(s.sys, 'users.delete', { id: carol.id });
    expect(seen).toHaveLength(2);
  });

  it('queued events (remote opening) are sent only when the command commits', () => {
    const s = start();
    const f = populate(s);
    const states: unknown[] = [];
    const entries: unknown[] = [];
    s.svc.on('lock.state', (e) => states.push(e));
    s.svc.on('entry.new', (e) => entries.push(e));
    s.svc.run(s.sys, 'locks.set_locking', { id: f.frontDoor.id, locked_state: 'office_mode' });
    expect(states).toEqual([{ lock_id: f.frontDoor.id, locked_state: 'office_mode', online: false }]);
    expect(entries).toEqual([expect.objectContaining({ event_category: 'manual_office_mode', event_detail: 'start', lock_id: f.frontDoor.id, local_date_time: '2026-03-02T10:00:00' })]);
    expect(s.svc.run(s.sys, 'entries.list', { with_count: true }).count).toBe(1);
    expectFailure(() => s.svc.run(s.sys, 'locks.set_locking', { id: 'no-such-lock', locked_state: 'unlocked' }), 'not_found');
    expect(states).toHaveLength(1);
  });

  it('opening a door or starting office mode needs the operator to confirm with their PIN, or their password without one', () => {
    const s = start();
    const f = populate(s);
    s.svc.run(s.sys, 'operators.create', { username: 'desk', display_name: 'Desk', role: 'front_desk', password: PASSWORD });
    s.svc.run(s.sys, 'operators.create', { username: 'pinned', display_name: 'Pinned', role: 'front_desk', password: PASSWORD, pin: '7351' });
    const login = (u: string) => s.svc.authenticate(s.svc.run(null, 'auth.login', { username: u, password: PASSWORD }).token)!;
    const desk = login('desk');
    const pinned = login('pinned');
    const open = (actor: Actor, otp?: string) => s.svc.call(actor, 'locks.set_locking', { id: f.frontDoor.id, locked_state: 'unlocked', ...(otp === undefined ? {} : { otp }) });
    const entries = () => s.svc.run(s.sys, 'entries.list', { with_count: true, lock_id: f.frontDoor.id }).count;

    const before = dump(s.db);
    const missing = expectFailure(() => open(desk), 'validation', 'otp');
    expect(missing.message).toBe('Opening a door remotely needs a second confirmation: your password');
    expect(expectFailure(() => s.svc.call(pinned, 'locks.set_locking', { id: f.frontDoor.id, locked_state: 'office_mode' }), 'validation', 'otp').message).toBe(
      'Starting office mode needs a second confirmation: your PIN',
    );
    expect(expectFailure(() => open(desk, 'wrong password'), 'forbidden', 'otp').message).toBe('The confirmation is wrong: type your password');
    // With a PIN, the PIN it is: the password no longer opens doors.
    expectFailure(() => open(pinned, PASSWORD), 'forbidden', 'otp');
    expect(dump(s.db)).toEqual(before);
    // Locking only makes a door safer: no confirmation.
    s.svc.call(pinned, 'locks.set_locking', { id: f.frontDoor.id, locked_state: 'locked' });

    open(desk, PASSWORD);
    open(pinned, '7351');
    expect(entries()).toBe(2);

    // Guessing a PIN is throttled like guessing a password.
    for (let i = 0; i < 5; i++) expectFailure(() => open(pinned, '0000'), 'forbidden', 'otp');
    expectFailure(() => open(pinned, '7351'), 'rate_limited');
    s.clock.now += 31_000;
    open(pinned, '7351');
    expect(entries()).toBe(3);

    // An integration client acts without a person: its secret is the credential.
    const client = s.svc.run(s.sys, 'api_clients.create', { customer_reference: 'Door kiosk', role: 'front_desk' });
    const kiosk = s.svc.authenticate(s.svc.run(null, 'auth.client_token', { client_id: client.client_id, client_secret: client.client_secret, ttl_seconds: 600 }).token)!;
    open(kiosk);
    expect(entries()).toBe(4);
  });

  it('pushes each newly stored incident to the alarms panel once, and nothing for a re-delivered batch', () => {
    const s = start();
    const f = populate(s);
    const pushed: Array<{ id: string; incident_type: string }> = [];
    s.svc.on('incident.new', (e) => pushed.push(e));
    const batch = {
      source: 'iq:north',
      incidents: [
        { event_id: 'n-1', time: '2026-03-02T09:00:00Z', incident_type: 'intrusion', lock_id: f.storeRoom.id },
        { event_id: 'n-2', time: '2026-03-02T09:01:00Z', incident_type: 'tamper', lock_id: f.storeRoom.id },
      ],
    };
    s.svc.run(s.sys, 'entries.ingest', batch);
    expect(pushed.map((p) => p.incident_type)).toEqual(['intrusion', 'tamper']);
    const listed = s.svc.run(s.sys, 'incidents.list', { limit: 2 }).items.map((i) => i.id);
    expect(pushed.map((p) => p.id).sort()).toEqual([...listed].sort());
    s.svc.run(s.sys, 'entries.ingest', batch);
    expect(pushed).toHaveLength(2);
  });
});
