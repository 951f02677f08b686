// Pulled cloud records applied to a real site: what the cloud changed shows up locally (down to who
// may open which door), what was changed here too is merged or reported, and nothing happens twice.
import { afterEach, describe, expect, it } from 'vitest';
import { ensureSite } from '../host/first-run.ts';
import { systemActor } from '../service/actor.ts';
import { GatehouseService } from '../service/service.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';
import { linkByLocalId, openConflicts, pendingOutbox } from '../store/repos/cloud.ts';
import { applyCloudRecord, type CloudRecord } from './apply.ts';
import { setCloudSyncEnabled } from './outbox.ts';

const actor = systemActor('admin');
const T0 = Date.parse('2026-05-01T10:00:00.000Z');
let open: SiteDatabase[] = [];
afterEach(() => {
  for (const db of open) db.close();
  open = [];
});

function site() {
  const db = openDatabase(':memory:');
  open.push(db);
  ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
  let clock = T0;
  const service = new GatehouseService(db, { now: () => (clock += 1000) });
  setCloudSyncEnabled(db, true, clock);
  return { db, service, at: (offsetS: number) => new Date(clock + offsetS * 1000).toISOString() };
}

const user = (fields: Record<string, unknown>, at: string, id = 'cu-1', platform = 'pu-1'): CloudRecord => ({
  kind: 'user',
  cloud_id: id,
  cloud_user_id: platform,
  fields: { first_name: 'Ada', last_name: 'Lovelace', blocked: false, ...fields } as CloudRecord['fields'],
  updated_at: at,
});

/** Everything a pulled change could alter, to show a second apply alters none of it. */
function everything(db: SiteDatabase) {
  const dump = (sql: string) => db.read.prepare(sql).all();
  return [
    dump('SELECT * FROM users ORDER BY pk'),
    dump('SELECT * FROM access_group_users ORDER BY access_group_id, user_id'),
    dump('SELECT * FROM cloud_outbox ORDER BY seq'),
    dump('SELECT * FROM cloud_links ORDER BY kind, local_id'),
    dump('SELECT * FROM cloud_records ORDER BY kind, local_id'),
    dump('SELECT * FROM cloud_conflicts ORDER BY id'),
    dump('SELECT seq FROM operator_log ORDER BY seq'),
  ];
}

describe('applying a pulled cloud record', () => {
  it('creates a person made in the cloud, linked by both cloud ids, without sending it back', () => {
    const { db, service, at } = site();
    const r = applyCloudRecord(service, user({ email: 'ada@example.com' }, at(0)));
    expect(r).toMatchObject({ outcome: 'applied', conflicts: 0 });
    const id = (r as { local_id: string }).local_id;
    expect(service.run(actor, 'users.get', { id })).toMatchObject({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' });
    expect(linkByLocalId(db.read, 'user', id)).toMatchObject({ cloud_id: 'cu-1', cloud_user_id: 'pu-1' });
    expect(pendingOutbox(db.read)).toEqual([]);
    expect(db.read.prepare(`SELECT actor_name, command FROM operator_log WHERE target_id = ?`).all(id)).toEqual([{ actor_name: 'cloud sync', command: 'users.update' }]);
  });

  it('changes nothing when the same pulled record is applied again', () => {
    const { db, service, at } = site();
    const ada = service.run(actor, 'users.create', { first_name: 'Ada', email: 'ada@example.com' });
    applyCloudRecord(service, user({ email: 'ada@example.com', first_name: 'Ada', last_name: '' }, at(0)));
    service.run(actor, 'users.update', { id: ada.id, phone: '+31 20 555 0100', first_name: 'Augusta' });
    // The cloud renamed her meanwhile: one conflict, one change taken.
    const pulled = user({ email: 'ada@example.com', first_name: 'Ida', last_name: 'Lovelace' }, at(60));
    expect(applyCloudRecord(service, pulled)).toMatchObject({ outcome: 'applied', conflicts: 1 });
    const once = everything(db);
    expect(applyCloudRecord(service, pulled)).toEqual({ outcome: 'unchanged', local_id: ada.id, conflicts: 0 });
    expect(everything(db)).toEqual(once);
  });

  it('keeps a local change and takes the cloud change when they touched different fields', () => {
    const { db, service, at } = site();
    const ada = service.run(actor, 'users.create', { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' });
    applyCloudRecord(service, user({ email: 'ada@example.com' }, at(0)));
    service.run(actor, 'users.update', { id: ada.id, phone: '+31 20 555 0100' });
    applyCloudRecord(service, user({ email: 'ada@example.com', last_name: 'King' }, at(5)));
    expect(service.run(actor, 'users.get', { id: ada.id })).toMatchObject({ last_name: 'King', phone: '+31 20 555 0100' });
    expect(openConflicts(db.read)).toEqual([]);
    // The local change is still on its way to the cloud; the cloud's own change is not sent back.
    expect(pendingOutbox(db.read).filter((r) => r.local_id === ada.id).map((r) => r.fields)).toContainEqual({ phone: '+31 20 555 0100' });
    expect(pendingOutbox(db.read).some((r) => r.fields && 'last_name' in r.fields)).toBe(false);
  });

  it('gives a field both sides changed to the later writer and lists the conflict; an overruled local change is not sent', () => {
    const { db, service, at } = site();
    const ada = service.run(actor, 'users.create', { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' });
    applyCloudRecord(service, user({ email: 'ada@example.com' }, at(0)));
    service.run(actor, 'users.update', { id: ada.id, last_name: 'Byron' });
    applyCloudRecord(service, user({ email: 'ada@example.com', last_name: 'King' }, at(60)));
    expect(service.run(actor, 'users.get', { id: ada.id }).last_name).toBe('King');
    expect(openConflicts(db.read)).toMatchObject([{ kind: 'user', local_id: ada.id, field: 'last_name', local_value: 'Byron', cloud_value: 'King', base_value: 'Lovelace', winner: 'cloud' }]);
    expect(pendingOutbox(db.read).some((r) => r.fields && 'last_name' in r.fields)).toBe(false);

    // The other way round: the local edit is the later one, and it stays on its way to the cloud.
    service.run(actor, 'users.update', { id: ada.id, first_name: 'Augusta' });
    applyCloudRecord(service, user({ email: 'ada@example.com', last_name: 'King', first_name: 'Ida' }, at(-3600)));
    expect(service.run(actor, 'users.get', { id: ada.id }).first_name).toBe('Augusta');
    expect(openConflicts(db.read).at(-1)).toMatchObject({ field: 'first_name', local_value: 'Augusta', cloud_value: 'Ida', winner: 'local' });
    expect(pendingOutbox(db.read).filter((r) => r.local_id === ada.id).at(-1)?.fields).toEqual({ first_name: 'Augusta' });
  });

  it('lets a tag made in the cloud open the doors of its owner’s group, through ids mapped by the links', () => {
    const { service, at } = site();
    applyCloudRecord(service, { kind: 'iq', cloud_id: 'ciq', fields: { mac: '00-14-22-01-23-45', customer_reference: 'Hall IQ', time_zone: 'Europe/Amsterdam' }, updated_at: at(0) });
    const door = applyCloudRecord(service, { kind: 'lock', cloud_id: 'clock', fields: { customer_reference: 'Front door', iq_id: 'ciq' }, updated_at: at(0) }) as { local_id: string };
    applyCloudRecord(service, user({}, at(0)));
    applyCloudRecord(service, { kind: 'tag', cloud_id: 'ctag', fields: { tag_number: '0000012345', user_id: 'cu-1', blocked: false }, updated_at: at(0) });
    expect(service.run(actor, 'access.decide', { tag_number: '0000012345', lock_id: door.local_id }).granted).toBe(false);
    const group = { kind: 'access_group' as const, cloud_id: 'cag', fields: { customer_reference: 'Staff', 'lock:clock': true, 'user:pu-1': true }, updated_at: at(1) };
    applyCloudRecord(service, group);
    expect(service.run(actor, 'access.decide', { tag_number: '0000012345', lock_id: door.local_id }).granted).toBe(true);
    applyCloudRecord(service, { ...group, fields: { customer_reference: 'Staff', 'lock:clock': true }, updated_at: at(2) });
    expect(service.run(actor, 'access.decide', { tag_number: '0000012345', lock_id: door.local_id }).granted).toBe(false);
  });

  it('defers a record that refers to one not linked yet, and writes nothing', () => {
    const { db, service, at } = site();
    const before = everything(db);
    expect(applyCloudRecord(service, { kind: 'access_group', cloud_id: 'cag', fields: { customer_reference: 'Staff', 'user:pu-9': true }, updated_at: at(0) })).toEqual({
      outcome: 'deferred',
      missing: { kind: 'user', cloud_id: 'pu-9' },
    });
    expect(everything(db)).toEqual(before);
    expect(db.read.prepare('SELECT count(*) FROM access_groups').pluck().get()).toBe(0);
  });

  it('deletes a person deleted in the cloud, but keeps a local edit made meanwhile as a conflict to review', () => {
    const { db, service, at } = site();
    const ada = service.run(actor, 'users.create', { first_name: 'Ada', email: 'ada@example.com' });
    const bob = service.run(actor, 'users.create', { first_name: 'Bob', email: 'bob@example.com' });
    applyCloudRecord(service, user({ first_name: 'Ada', last_name: '', email: 'ada@example.com' }, at(0)));
    applyCloudRecord(service, user({ first_name: 'Bob', last_name: '', email: 'bob@example.com' }, at(0), 'cu-2', 'pu-2'));
    service.run(actor, 'users.update', { id: ada.id, phone: '+31 20 555 0100' });
    applyCloudRecord(service, { kind: 'user', cloud_id: 'cu-1', fields: null, updated_at: at(10) });
    applyCloudRecord(service, { kind: 'user', cloud_id: 'cu-2', fields: null, updated_at: at(10) });
    expect(db.read.prepare('SELECT count(*) FROM users').pluck().get()).toBe(0);
    expect(openConflicts(db.read)).toMatchObject([{ local_id: ada.id, field: null, cloud_value: null, local_value: expect.objectContaining({ first_name: 'Ada', phone: '+31 20 555 0100' }), winner: 'cloud' }]);
    expect(openConflicts(db.read).some((c) => c.local_id === bob.id)).toBe(false);
    // Nothing left to send about them: the cloud has already deleted them.
    expect(pendingOutbox(db.read).filter((r) => r.local_id === ada.id || r.local_id === bob.id)).toEqual([]);
  });

  it('keeps a local delete against a cloud edit, with the cloud’s edit kept as a conflict', () => {
    const { db, service, at } = site();
    const ada = service.run(actor, 'users.create', { first_name: 'Ada', email: 'ada@example.com' });
    applyCloudRecord(service, user({ first_name: 'Ada', last_name: '', email: 'ada@example.com' }, at(0)));
    service.run(actor, 'users.delete', { id: ada.id });
    applyCloudRecord(service, user({ first_name: 'Ada', last_name: 'King', email: 'ada@example.com' }, at(10)));
    expect(db.read.prepare('SELECT count(*) FROM users').pluck().get()).toBe(0);
    expect(openConflicts(db.read)).toMatchObject([{ local_id: ada.id, field: null, local_value: null, cloud_value: expect.objectContaining({ last_name: 'King' }), winner: 'local' }]);
    expect(pendingOutbox(db.read).filter((r) => r.local_id === ada.id).at(-1)?.operation).toBe('delete');
  });

  it('links a person the cloud already has (a create whose answer was lost) instead of making a second one', () => {
    const { db, service, at } = site();
    const ada = service.run(actor, 'users.create', { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' });
    expect(applyCloudRecord(service, user({ email: 'ada@example.com' }, at(0)))).toMatchObject({ local_id: ada.id, conflicts: 0 });
    expect(db.read.prepare('SELECT count(*) FROM users').pluck().get()).toBe(1);
    expect(linkByLocalId(db.read, 'user', ada.id)).toMatchObject({ cloud_id: 'cu-1' });
  });
});
