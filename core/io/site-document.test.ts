// site.export / site.import (docs/site-document.md): a round trip keeps the model and every access
// decision, a bad document is refused whole with every problem named, and nothing is written unless
// the whole import succeeds.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../contract/errors.ts';
import { ensureSite } from '../host/first-run.ts';
import { systemActor, type Actor } from '../service/actor.ts';
import { GatehouseService } from '../service/service.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';
import { getIq, updateIq } from '../store/repos/iqs.ts';
import { getLock, updateLock } from '../store/repos/locks.ts';
import { verifyOperatorLog } from '../store/repos/operator-log.ts';
import { getSite } from '../store/repos/site.ts';
import { checkSiteDocument, type SiteDocument } from './site-document.ts';

const sys = systemActor('test');
const open: SiteDatabase[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

interface Installation {
  db: SiteDatabase;
  svc: GatehouseService;
}

/** A fresh installation whose clock moves one second per call, so records get distinct created_at. */
function installation(start = '2026-01-05T09:00:00Z'): Installation {
  let t = Date.parse(start);
  const now = () => (t += 1000);
  const db = openDatabase(':memory:');
  open.push(db);
  ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery', now: t });
  return { db, svc: new GatehouseService(db, { now }) };
}

/** Every row of every table: "wrote nothing" means this is unchanged. */
function dump(db: SiteDatabase): Record<string, unknown[]> {
  const tables = db.read.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name`).pluck().all() as string[];
  return Object.fromEntries(tables.map((t) => [t, db.read.prepare(`SELECT * FROM "${t}" ORDER BY 1, 2`).all()]));
}

function failure(fn: () => unknown): GatehouseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatehouseError) return e;
    throw e;
  }
  throw new Error('expected a GatehouseError');
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** A site with every kind of record, built through the service as an operator would. */
function buildSite({ svc, db }: Installation) {
  const run = svc.run.bind(svc);
  const cal = run(sys, 'holiday_calendars.create', {
    customer_reference: 'Netherlands 2026',
    dates: [
      { date: '2026-04-27', description: "King's Day" },
      { date: '2026-03-04', day_type: 'special_1', description: 'Stocktaking' },
    ],
  });
  const iq1 = run(sys, 'iqs.create', { mac: '00:14:22:01:23:45', customer_reference: 'Main hub' });
  const iq2 = run(sys, 'iqs.create', { mac: '00-14-22-01-23-46', customer_reference: 'London hub', time_zone: 'Europe/London', serial: 'SN-2', firmware: '1.4.2' });
  const front = run(sys, 'locks.create', { customer_reference: 'Front door', iq_id: iq1.id, mac: 'aa:bb:cc:00:00:01', lock_type: 'wall_reader', floor: '0' });
  const office = run(sys, 'locks.create', { customer_reference: 'Office', iq_id: iq1.id, offline_access_keys_limit: 2 });
  const london = run(sys, 'locks.create', { customer_reference: 'London door', iq_id: iq2.id });
  const store = run(sys, 'locks.create', { customer_reference: 'Store room' });
  run(sys, 'locks.set_eom_schedule', {
    id: front.id,
    schedule: { monday: true, tuesday: true, wednesday: true, thursday: true, friday: true, start_time: '08:00', end_time: '09:30', eom_auto_start: true },
  });

  const alice = run(sys, 'users.create', { first_name: 'Alice', last_name: 'Jansen', email: 'alice@example.com', remote_access: true });
  const bob = run(sys, 'users.create', { first_name: 'Bob', last_name: 'Smit', kind: 'contractor', valid_from: '2026-03-01T00:00:00Z', valid_until: '2026-03-31T00:00:00+02:00' });
  const carol = run(sys, 'users.create', { alias: 'Carol', subscription_state: 'suspended' });
  const dave = run(sys, 'users.create', { first_name: 'Dave', blocked: true, notes: 'left the company' });
  // Three people in one command: the same created_at, so export order falls back to the id.
  run(sys, 'users.import_csv', {
    csv: 'first_name,last_name,email,tag_number\nFrank,Visser,frank@example.com,0000000101\nGina,Bos,gina@example.com,0000000102\nHenk,de Vries,,0000000103\n',
  });
  const byName = (name: string) => run(sys, 'users.list', { search: name }).items[0]!;
  const [frank, gina, henk] = [byName('Frank'), byName('Gina'), byName('Henk')];

  const tag = (n: string, user_id: string | null, extra: { card_uid?: string; source_iq_id?: string } = {}) => run(sys, 'tags.create', { tag_number: n, user_id, ...extra });
  const tA = tag('0000000001', alice.id, { card_uid: '04:a1:b2:c3' });
  const tLost = tag('0000000011', alice.id);
  run(sys, 'tags.report_lost', { id: tLost.id });
  tag('0000000002', bob.id);
  tag('0000000003', carol.id);
  tag('0000000004', dave.id);
  tag('0000000099', null, { source_iq_id: iq1.id });
  const tFrank = run(sys, 'tags.list', { search: '0000000101' }).items[0]!;
  run(sys, 'tags.update', { id: tFrank.id, blocked: true });
  const tHenk = run(sys, 'tags.list', { search: '0000000103' }).items[0]!;
  run(sys, 'locks.offline_keys.update', { id: office.id, add_ids: [tA.id, tHenk.id] });

  const staff = run(sys, 'access_groups.create', {
    customer_reference: 'Staff',
    holiday_calendar_id: cal.id,
    lock_ids: [front.id, office.id],
    time_schedules: [
      { monday: true, tuesday: true, wednesday: true, thursday: true, friday: true, start_time: '07:00', end_time: '19:00' },
      { saturday: true, start_time: '09:00', end_time: '13:00' },
    ],
  });
  run(sys, 'access_groups.time_schedules.create', { access_group_id: staff.id, holiday: true, special_1: true, start_time: '10:00', end_time: '12:00' });
  const night = run(sys, 'access_groups.create', {
    customer_reference: 'Night shift',
    lock_ids: [london.id],
    time_schedules: [
      {
        monday: true,
        tuesday: true,
        wednesday: true,
        thursday: true,
        friday: true,
        saturday: true,
        sunday: true,
        start_time: '22:00',
        end_time: '06:00',
        start_date: '2026-01-01',
        end_date: '2026-12-31T23:59',
      },
    ],
  });
  const storeGroup = run(sys, 'access_groups.create', { customer_reference: 'Store', lock_ids: [store.id] });
  run(sys, 'access_groups.users.update', { id: staff.id, add_ids: [alice.id, bob.id, carol.id, dave.id, frank.id, gina.id] });
  run(sys, 'access_groups.users.update', { id: night.id, add_ids: [alice.id, henk.id] });
  run(sys, 'access_groups.users.update', { id: storeGroup.id, add_ids: [gina.id] });

  // What the hardware reported: exported for information, reset by an import.
  db.transaction((w) => {
    updateLock(w, { ...getLock(w, front.id)!, online: true, battery_level: 'low', left_open_alarm: true, iq_link_state: 'attached', locked_state: 'unlocked' });
    updateIq(w, { ...getIq(w, iq1.id)!, online: true, data_sync_state: 'synced', signal_strength: -61, revision: 3 });
  });
  svc.engine.reload();
  return { front, office, london, store, iq1, staff, alice, henk, tA };
}

/** The document an import of `doc` into `target` should export: same model, device state as new. */
function expectedAfterImport(doc: SiteDocument, target: Installation): SiteDocument {
  const site = getSite(target.db.read)!;
  return {
    ...doc,
    exported_at: expect.any(String) as unknown as string,
    site: { ...doc.site, id: site.id, site_uid: site.site_uid },
    iqs: doc.iqs.map((q) => ({ ...q, online: false, data_sync_state: 'not_synced', signal_strength: null, revision: 0 })),
    locks: doc.locks.map((l) => ({
      ...l,
      iq_link_state: l.iq_id ? 'attached_pending' : 'detached',
      locked_state: 'locked',
      battery_level: 'unknown',
      left_open_alarm: false,
      intrusion_alarm: false,
      tamper: false,
      privacy_mode: false,
      online: false,
      office_mode: 'none',
    })),
  };
}

const INSTANTS = [
  '2026-03-02T08:30:00Z', // Monday 09:30 in Amsterdam
  '2026-03-02T19:30:00Z', // Monday evening
  '2026-03-07T10:00:00Z', // Saturday 11:00
  '2026-03-08T10:00:00Z', // Sunday
  '2026-04-27T08:30:00Z', // King's Day (holiday), 10:30
  '2026-03-04T07:00:00Z', // special_1 day, 08:00
  '2026-03-04T10:00:00Z', // special_1 day, 11:00
  '2026-03-03T23:30:00Z', // night, London 23:30
  '2025-12-31T23:30:00Z', // before the night schedule starts
  '2026-05-04T08:00:00Z', // after Bob's validity
];

function decisions(svc: GatehouseService, doc: SiteDocument) {
  const numbers = [...doc.tags.map((t) => t.tag_number), '0000009999'];
  return numbers.flatMap((tag_number) =>
    doc.locks.flatMap((l) => INSTANTS.map((at) => ({ tag_number, lock: l.id, at, ...svc.run(sys, 'access.decide', { tag_number, lock_id: l.id, at }) }))),
  );
}

describe('site export', () => {
  it('is deterministic: two exports differ only in exported_at', () => {
    const a = installation();
    buildSite(a);
    const d1 = a.svc.run(sys, 'site.export', {});
    const d2 = a.svc.run(sys, 'site.export', {});
    expect(d2.exported_at).not.toBe(d1.exported_at);
    expect(JSON.stringify({ ...d2, exported_at: d1.exported_at })).toBe(JSON.stringify(d1));
    for (const list of [d1.iqs, d1.locks, d1.users, d1.tags, d1.holiday_calendars, d1.access_groups] as Array<Array<{ created_at: string; id: string }>>) {
      const sorted = [...list].sort((x, y) => (x.created_at < y.created_at ? -1 : x.created_at > y.created_at ? 1 : x.id < y.id ? -1 : 1));
      expect(list.map((r) => r.id)).toEqual(sorted.map((r) => r.id));
    }
  });

  it('holds the model and no operators, clients, tokens or history', () => {
    const a = installation();
    const { office, tA, henk, staff } = buildSite(a);
    a.svc.run(sys, 'api_clients.create', { customer_reference: 'Reception app' });
    const doc = a.svc.run(sys, 'site.export', {});
    expect(doc).toMatchObject({ format: 'gatehouse-site', version: 1, site: { customer_reference: 'My site', time_zone: 'Europe/Amsterdam' } });
    expect(Object.keys(doc).sort()).toEqual(['access_groups', 'exported_at', 'format', 'holiday_calendars', 'iqs', 'locks', 'site', 'tags', 'users', 'version']);
    const lock = doc.locks.find((l) => l.id === office.id)!;
    expect(lock.offline_key_tag_ids).toHaveLength(2);
    expect(lock.offline_key_tag_ids).toContain(tA.id);
    expect(lock).not.toHaveProperty('offline_access_keys_count');
    expect(doc.locks.find((l) => l.customer_reference === 'Front door')!.easy_office_mode_schedule).toMatchObject({ monday: true, start_time: '08:00:00', eom_auto_start: true });
    expect(doc.users.find((u) => u.id === henk.id)).toMatchObject({ user_id: henk.user_id, first_name: 'Henk' });
    const group = doc.access_groups.find((g) => g.id === staff.id)!;
    expect(group.time_schedules.map((t) => t.start_time)).toEqual(['07:00:00', '09:00:00', '10:00:00']);
    expect(group.user_ids).toEqual([...group.user_ids].sort());
    expect(doc.holiday_calendars[0]!.dates).toEqual([
      { date: '2026-03-04', day_type: 'special_1', description: 'Stocktaking' },
      { date: '2026-04-27', day_type: 'holiday', description: "King's Day" },
    ]);
    const text = JSON.stringify(doc);
    expect(text).not.toMatch(/password|secret|token|owner|Reception app|operator/i);
  });

  it('needs the backup permission', () => {
    const a = installation();
    const frontDesk: Actor = { kind: 'operator', id: 'x', name: 'desk', role: 'front_desk' };
    expect(failure(() => a.svc.run(frontDesk, 'site.export', {})).code).toBe('forbidden');
    expect(failure(() => a.svc.run(frontDesk, 'site.import', { document: {} as never })).code).toBe('forbidden');
  });
});

describe('site import', () => {
  it('round trip: a new installation exports the same document and makes the same access decisions', () => {
    const a = installation();
    const { front, iq1 } = buildSite(a);
    const doc1 = a.svc.run(sys, 'site.export', {});
    expect(doc1.locks.find((l) => l.id === front.id)).toMatchObject({ online: true, battery_level: 'low', locked_state: 'unlocked' });
    expect(doc1.iqs.find((q) => q.id === iq1.id)).toMatchObject({ online: true, data_sync_state: 'synced', revision: 3 });

    const b = installation('2026-02-10T12:00:00Z');
    const progress: Array<[number, number, string]> = [];
    const r = b.svc.run(sys, 'site.import', { document: clone(doc1) }, { onProgress: (d, t, p) => progress.push([d, t, p]) });
    expect(r).toEqual({ dry_run: false, counts: { iqs: 2, locks: 4, users: 7, tags: 9, access_groups: 3, holiday_calendars: 1, time_schedules: 4 } });
    expect(progress.at(-1)).toEqual([26, 26, 'importing']);

    const doc2 = b.svc.run(sys, 'site.export', {});
    expect(doc2).toEqual(expectedAfterImport(doc1, b));
    expect(doc2.site.id).not.toBe(doc1.site.id);

    const before = decisions(a.svc, doc1);
    expect(decisions(b.svc, doc1)).toEqual(before);
    expect(before.filter((d) => d.granted).length).toBeGreaterThan(10);
    expect(new Set(before.map((d) => d.reason))).toEqual(new Set(['access', 'unknown_tag', 'blocked', 'suspended', 'not_yet_valid', 'expired', 'no_access', 'holiday', 'outside_schedule']));
  });

  it('logs one operator-log record with the counts', () => {
    const a = installation();
    buildSite(a);
    const doc = a.svc.run(sys, 'site.export', {});
    const b = installation();
    b.svc.run(sys, 'site.import', { document: doc });
    const log = b.svc.run(sys, 'operator_log.list', { filter: { op: 'eq', field: 'command', value: 'site.import' } });
    expect(log.count).toBe(1);
    expect(log.items[0]).toMatchObject({
      target_type: 'site',
      target_id: getSite(b.db.read)!.id,
      after: { counts: { users: 7, locks: 4 }, replaced: false, source: { site_id: doc.site.id, exported_at: doc.exported_at } },
    });
    expect(verifyOperatorLog(b.db.read).firstBreak).toBeNull();
  });

  it('reports every schema problem with its path and writes nothing', () => {
    const a = installation();
    buildSite(a);
    const doc = clone(a.svc.run(sys, 'site.export', {})) as unknown as Record<string, Array<Record<string, unknown>>>;
    doc.users![1]!.email = 'not-an-email';
    doc.iqs![0]!.mac = 'zz';
    doc.locks![2]!.offline_access_keys_limit = -1;
    delete doc.tags![0]!.tag_number;
    (doc.access_groups![0]!.time_schedules as Array<Record<string, unknown>>)[0]!.start_time = '25:00';
    doc.users![0]!.shoe_size = 44;
    doc.holiday_calendars![0]!.dates = [{ date: '2026-02-30' }];

    const b = installation();
    const snapshot = dump(b.db);
    const e = failure(() => b.svc.run(sys, 'site.import', { document: doc as never }));
    expect(e.code).toBe('validation');
    expect(e.message).toMatch(/^The site document was not imported: .+ \(and 6 more\)$/);
    expect(e.issues!.map((i) => i.path).sort()).toEqual(
      ['access_groups.0.time_schedules.0.start_time', 'holiday_calendars.0.dates.0.date', 'iqs.0.mac', 'locks.2.offline_access_keys_limit', 'tags.0.tag_number', 'users.0', 'users.1.email'].sort(),
    );
    expect(e.issues!.find((i) => i.path === 'users.0')!.message).toMatch(/shoe_size/);
    expect(dump(b.db)).toEqual(snapshot);
  });

  it('reports every broken reference and duplicate, and replace removes nothing', () => {
    const a = installation();
    const { office } = buildSite(a);
    const doc = clone(a.svc.run(sys, 'site.export', {}));
    const officeIndex = doc.locks.findIndex((l) => l.id === office.id);
    const spare = doc.tags.find((t) => !doc.locks[officeIndex]!.offline_key_tag_ids.includes(t.id))!;
    doc.locks[0]!.iq_id = 'no-such-iq';
    doc.locks[officeIndex]!.offline_key_tag_ids.push(spare.id);
    doc.locks[3]!.mac = doc.locks[0]!.mac;
    doc.tags[1]!.tag_number = doc.tags[0]!.tag_number;
    doc.tags[2]!.user_id = 'nobody';
    doc.users[2]!.email = doc.users[0]!.email!.toUpperCase();
    doc.access_groups[0]!.lock_ids.push('ghost-lock');
    doc.access_groups[0]!.user_ids.push(doc.users[6]!.user_id);
    doc.access_groups[1]!.holiday_calendar_id = 'gone';
    doc.access_groups[2]!.time_schedules.push({ ...doc.access_groups[0]!.time_schedules[0]! });

    const snapshot = dump(a.db);
    const e = failure(() => a.svc.run(sys, 'site.import', { document: doc, replace: true }));
    expect(e.code).toBe('validation');
    const issues = Object.fromEntries(e.issues!.map((i) => [i.path, i.message]));
    expect(issues).toEqual({
      'locks.0.iq_id': "IQ 'no-such-iq' is not in the document (iqs)",
      [`locks.${officeIndex}.offline_key_tag_ids`]: '3 offline-access keys, but the lock has offline_access_keys_limit 2',
      'locks.3.mac': `MAC ${doc.locks[0]!.mac} is also used by locks.0`,
      'tags.1.tag_number': `tag number ${doc.tags[0]!.tag_number} is also used by tags.0`,
      'tags.2.user_id': "person 'nobody' is not in the document (users)",
      'users.2.email': 'e-mail alice@example.com is also used by users.0',
      [`access_groups.0.lock_ids.${doc.access_groups[0]!.lock_ids.length - 1}`]: "lock 'ghost-lock' is not in the document (locks)",
      [`access_groups.0.user_ids.${doc.access_groups[0]!.user_ids.length - 1}`]: `'${doc.users[6]!.user_id}' is a person's platform user_id; groups list the person's id (users[].id)`,
      'access_groups.1.holiday_calendar_id': "holiday calendar 'gone' is not in the document (holiday_calendars)",
      'access_groups.2.time_schedules.0.id': `time schedule id '${doc.access_groups[0]!.time_schedules[0]!.id}' is also used by access_groups.0.time_schedules.0`,
    });
    expect(dump(a.db)).toEqual(snapshot);
  });

  it('names a file that is not a site document, or a newer one, in one sentence', () => {
    expect(checkSiteDocument([]).issues).toEqual([{ path: '(document)', message: 'must be a JSON object (a Gatehouse site document)' }]);
    expect(checkSiteDocument({ users: [] }).issues).toEqual([{ path: 'format', message: "must be 'gatehouse-site': this file is not a Gatehouse site document" }]);
    expect(checkSiteDocument({ format: 'gatehouse-site', version: 2 }).issues).toEqual([
      { path: 'version', message: 'version 2 was written by a newer Gatehouse; this one reads version 1' },
    ]);
  });

  it('accepts a document without device state', () => {
    const a = installation();
    buildSite(a);
    const doc = clone(a.svc.run(sys, 'site.export', {})) as unknown as { iqs: Array<Record<string, unknown>>; locks: Array<Record<string, unknown>> };
    for (const q of doc.iqs) for (const k of ['online', 'data_sync_state', 'signal_strength', 'revision']) delete q[k];
    for (const l of doc.locks) for (const k of ['iq_link_state', 'locked_state', 'battery_level', 'left_open_alarm', 'intrusion_alarm', 'tamper', 'privacy_mode', 'online', 'office_mode']) delete l[k];
    const b = installation();
    expect(b.svc.run(sys, 'site.import', { document: doc as never }).counts.locks).toBe(4);
  });

  it('refuses a site that already has a model unless replace is given', () => {
    const a = installation();
    buildSite(a);
    const doc = a.svc.run(sys, 'site.export', {});
    const c = installation();
    c.svc.run(sys, 'holiday_calendars.create', { customer_reference: 'Only a calendar' });
    const snapshot = dump(c.db);
    const e = failure(() => c.svc.run(sys, 'site.import', { document: doc }));
    expect(e.code).toBe('conflict');
    expect(e.message).toMatch(/\(1 holiday calendar\)\. Import with --replace/);
    expect(failure(() => c.svc.run(sys, 'site.import', { document: doc, dry_run: true })).code).toBe('conflict');
    expect(dump(c.db)).toEqual(snapshot);
  });

  it('replace: the old model is gone; operators, clients, tokens and the logs stay', () => {
    const a = installation();
    buildSite(a);
    const doc = a.svc.run(sys, 'site.export', {});
    const b = installation();
    b.svc.run(sys, 'site.import', { document: clone(doc) });

    const c = installation('2026-03-01T00:00:00Z');
    const siteId = getSite(c.db.read)!.id;
    const oldIq = c.svc.run(sys, 'iqs.create', { mac: '00-14-22-99-99-99', customer_reference: 'Old hub' });
    const oldLock = c.svc.run(sys, 'locks.create', { customer_reference: 'Old door', iq_id: oldIq.id });
    const oldUser = c.svc.run(sys, 'users.create', { first_name: 'Old', email: 'alice@example.com' });
    const oldTag = c.svc.run(sys, 'tags.create', { tag_number: '0000000001', user_id: oldUser.id });
    const oldGroup = c.svc.run(sys, 'access_groups.create', { customer_reference: 'Old group', lock_ids: [oldLock.id] });
    c.svc.run(sys, 'access_groups.users.update', { id: oldGroup.id, add_ids: [oldUser.id] });
    c.svc.run(sys, 'operators.create', { username: 'installer', display_name: 'Installer', role: 'installer', password: 'a long password' });
    c.svc.run(sys, 'api_clients.create', { customer_reference: 'Reception app' });
    const session = c.svc.run(null, 'auth.login', { username: 'installer', password: 'a long password' });
    const logBefore = c.svc.run(sys, 'operator_log.list', { top: 1000 }).items;
    const keep = (db: SiteDatabase) => {
      const d = dump(db);
      return { operators: d.operators, api_clients: d.api_clients, access_tokens: d.access_tokens, entries: d.entries, settings: d.settings };
    };
    const kept = keep(c.db);

    const progress: Array<[number, number, string]> = [];
    const r = c.svc.run(sys, 'site.import', { document: clone(doc), replace: true }, { onProgress: (d, t, p) => progress.push([d, t, p]) });
    expect(r.dry_run).toBe(false);
    expect(progress).toContainEqual([5, 5, 'removing']);
    expect(progress.at(-1)).toEqual([26, 26, 'importing']);

    for (const [name, id] of [
      ['iqs.get', oldIq.id],
      ['locks.get', oldLock.id],
      ['users.get', oldUser.id],
      ['tags.get', oldTag.id],
      ['access_groups.get', oldGroup.id],
    ] as const) {
      expect(failure(() => c.svc.run(sys, name, { id })).code).toBe('not_found');
    }
    expect(getSite(c.db.read)!.id).toBe(siteId);
    expect(keep(c.db)).toEqual(kept);
    expect(c.svc.authenticate(session.token)).toMatchObject({ kind: 'operator', name: 'installer' });
    const logAfter = c.svc.run(sys, 'operator_log.list', { top: 1000 }).items;
    expect(logAfter.slice(1)).toEqual(logBefore);
    expect(logAfter[0]).toMatchObject({ command: 'site.import', before: { counts: { iqs: 1, locks: 1, users: 1, tags: 1, access_groups: 1, holiday_calendars: 0 } } });
    expect(verifyOperatorLog(c.db.read).firstBreak).toBeNull();

    expect(c.svc.run(sys, 'site.export', {})).toEqual(expectedAfterImport(doc, c));
    expect(decisions(c.svc, doc)).toEqual(decisions(b.svc, doc));
  });

  it('replace with the document of the same installation keeps every id', () => {
    const a = installation();
    buildSite(a);
    const doc = a.svc.run(sys, 'site.export', {});
    const before = decisions(a.svc, doc);
    a.svc.run(sys, 'site.import', { document: clone(doc), replace: true });
    expect(a.svc.run(sys, 'site.export', {})).toEqual(expectedAfterImport(doc, a));
    expect(decisions(a.svc, doc)).toEqual(before);
  });

  it('imports the example in docs/site-document.md, resetting its device state', () => {
    const text = readFileSync(new URL('../../docs/site-document.md', import.meta.url), 'utf8');
    const example = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(text)![1]!) as SiteDocument;
    const b = installation();
    expect(b.svc.run(sys, 'site.import', { document: example }).counts).toEqual({ iqs: 1, locks: 1, users: 1, tags: 1, access_groups: 1, holiday_calendars: 1, time_schedules: 1 });
    const after = b.svc.run(sys, 'site.export', {});
    expect(after).toEqual(expectedAfterImport(example, b));
    expect(after.site.customer_reference).toBe('Harbour Office');
    expect(b.svc.run(sys, 'access.decide', { tag_number: '0000000001', lock_id: example.locks[0]!.id, at: '2026-03-02T08:00:00Z' }).granted).toBe(true);
  });

  it('dry_run checks and counts but writes nothing', () => {
    const a = installation();
    buildSite(a);
    const doc = a.svc.run(sys, 'site.export', {});

    const b = installation();
    const empty = dump(b.db);
    expect(b.svc.run(sys, 'site.import', { document: doc, dry_run: true })).toEqual({
      dry_run: true,
      counts: { iqs: 2, locks: 4, users: 7, tags: 9, access_groups: 3, holiday_calendars: 1, time_schedules: 4 },
    });
    expect(dump(b.db)).toEqual(empty);

    const full = dump(a.db);
    expect(a.svc.run(sys, 'site.import', { document: doc, dry_run: true, replace: true }).dry_run).toBe(true);
    expect(dump(a.db)).toEqual(full);
  });
});
