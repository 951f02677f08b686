// The outbox through the service, on a real database: every committed change to a record the cloud
// has is queued in the same transaction, in commit order, with a key of its own; a refused or failed
// command queues nothing, and nothing is queued while sync is off.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ensureSite } from '../host/first-run.ts';
import { systemActor } from '../service/actor.ts';
import { GatehouseService } from '../service/service.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';
import { pendingOutbox, type OutboxRow } from '../store/repos/cloud.ts';
import { setCloudSyncEnabled } from './outbox.ts';

const actor = systemActor('admin');
const dir = mkdtempSync(join(tmpdir(), 'gh-outbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let open: SiteDatabase[] = [];
afterEach(() => {
  for (const db of open) db.close();
  open = [];
});

function site(file = ':memory:') {
  const db = openDatabase(file);
  open.push(db);
  ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
  let clock = Date.parse('2026-05-01T10:00:00.000Z');
  const service = new GatehouseService(db, { now: () => (clock += 1000) });
  return { db, service, now: () => clock };
}

const rows = (db: SiteDatabase) => pendingOutbox(db.read);
const brief = (r: OutboxRow) => [r.record_kind, r.operation, r.fields];

describe('the cloud outbox', () => {
  it('stays empty while sync is off, which is how a site starts', () => {
    const { db, service } = site();
    service.run(actor, 'users.create', { first_name: 'Ada' });
    service.run(actor, 'access_groups.create', { customer_reference: 'Staff' });
    expect(db.read.prepare('SELECT count(*) FROM cloud_outbox').pluck().get()).toBe(0);
    expect(db.read.prepare('SELECT count(*) FROM cloud_records').pluck().get()).toBe(0);
  });

  it('queues what existed before sync was switched on, records before what refers to them', () => {
    const { db, service, now } = site();
    const ada = service.run(actor, 'users.create', { first_name: 'Ada', last_name: 'Lovelace' });
    const iq = service.run(actor, 'iqs.create', { mac: '00-14-22-01-23-45', customer_reference: 'Hall IQ' });
    const lock = service.run(actor, 'locks.create', { customer_reference: 'Front door', iq_id: iq.id });
    const staff = service.run(actor, 'access_groups.create', { customer_reference: 'Staff', lock_ids: [lock.id] });
    service.run(actor, 'access_groups.users.update', { id: staff.id, add_ids: [ada.id], remove_ids: [] });
    setCloudSyncEnabled(db, true, now());
    expect(rows(db).map(brief)).toEqual([
      ['iq', 'create', { mac: '00-14-22-01-23-45', customer_reference: 'Hall IQ', time_zone: 'Europe/Amsterdam' }],
      ['lock', 'create', { customer_reference: 'Front door', iq_id: iq.id }],
      ['user', 'create', expect.objectContaining({ first_name: 'Ada', last_name: 'Lovelace', blocked: false })],
      ['access_group', 'create', { customer_reference: 'Staff', [`lock:${lock.id}`]: true, [`user:${ada.id}`]: true }],
    ]);
  });

  it('queues each committed change with only the fields that changed, in commit order', () => {
    const { db, service, now } = site();
    setCloudSyncEnabled(db, true, now());
    const ada = service.run(actor, 'users.create', { first_name: 'Ada', email: 'ada@example.com' });
    service.run(actor, 'users.update', { id: ada.id, last_name: 'Lovelace', email: null });
    // Nothing the cloud has changed: nothing to send.
    service.run(actor, 'users.update', { id: ada.id, last_name: 'Lovelace' });
    const staff = service.run(actor, 'access_groups.create', { customer_reference: 'Staff', time_schedules: [] });
    service.run(actor, 'access_groups.users.update', { id: staff.id, add_ids: [ada.id], remove_ids: [] });
    service.run(actor, 'users.update', { id: ada.id, blocked: true });
    const got = rows(db);
    expect(got.map(brief)).toEqual([
      ['user', 'create', expect.objectContaining({ first_name: 'Ada', email: 'ada@example.com' })],
      ['user', 'update', { last_name: 'Lovelace', email: null }],
      ['access_group', 'create', { customer_reference: 'Staff' }],
      ['access_group', 'update', { [`user:${ada.id}`]: true }],
      ['user', 'update', { blocked: true }],
    ]);
    expect(got.map((r) => r.seq)).toEqual([...got.map((r) => r.seq)].sort((a, b) => a - b));
  });

  it('queues nothing for a command that fails, and keeps the change and its row together', () => {
    const { db, service, now } = site();
    setCloudSyncEnabled(db, true, now());
    const ada = service.run(actor, 'users.create', { first_name: 'Ada' });
    const before = rows(db);
    expect(() => service.run(actor, 'access_groups.create', { customer_reference: 'Staff', lock_ids: ['00000000-0000-4000-8000-000000000000'] })).toThrow(/does not exist/);
    // The person is written before the missing group is found: both roll back.
    expect(() => service.run(actor, 'users.create', { first_name: 'Bob', access_group_ids: ['00000000-0000-4000-8000-000000000001'] })).toThrow(/does not exist/);
    expect(rows(db)).toEqual(before);
    expect(db.read.prepare('SELECT first_name FROM users').pluck().all()).toEqual(['Ada']);
    expect(db.read.prepare('SELECT count(*) FROM access_groups').pluck().get()).toBe(0);
    expect(db.read.prepare(`SELECT local_id FROM cloud_records WHERE kind = 'user'`).pluck().all()).toEqual([ada.id]);
  });

  it('sends no device state: a door opened remotely is not a change to the cloud', () => {
    const { db, service, now } = site();
    const lock = service.run(actor, 'locks.create', { customer_reference: 'Front door' });
    setCloudSyncEnabled(db, true, now());
    const queued = rows(db).length;
    service.run(actor, 'locks.set_locking', { id: lock.id, locked_state: 'locked' });
    expect(rows(db)).toHaveLength(queued);
  });

  it('follows a delete through what referred to it, the references before the delete', () => {
    const { db, service, now } = site();
    setCloudSyncEnabled(db, true, now());
    const ada = service.run(actor, 'users.create', { first_name: 'Ada' });
    const tag = service.run(actor, 'tags.create', { user_id: ada.id });
    const staff = service.run(actor, 'access_groups.create', { customer_reference: 'Staff' });
    service.run(actor, 'access_groups.users.update', { id: staff.id, add_ids: [ada.id], remove_ids: [] });
    const seen = rows(db).length;
    service.run(actor, 'users.delete', { id: ada.id });
    expect(rows(db).slice(seen).map((r) => [r.record_kind, r.local_id, r.operation, r.fields])).toEqual([
      ['tag', tag.id, 'update', { user_id: null }],
      ['access_group', staff.id, 'update', { [`user:${ada.id}`]: null }],
      ['user', ada.id, 'delete', null],
    ]);
  });

  it('catches up on what changed while sync was off once it is back on', () => {
    const { db, service, now } = site();
    setCloudSyncEnabled(db, true, now());
    const ada = service.run(actor, 'users.create', { first_name: 'Ada' });
    const bob = service.run(actor, 'users.create', { first_name: 'Bob' });
    setCloudSyncEnabled(db, false, now());
    service.run(actor, 'users.update', { id: ada.id, first_name: 'Ida' });
    service.run(actor, 'users.delete', { id: bob.id });
    const cyd = service.run(actor, 'users.create', { first_name: 'Cyd' });
    expect(rows(db)).toHaveLength(2);
    setCloudSyncEnabled(db, true, now());
    expect(rows(db).slice(2).map((r) => [r.local_id, r.operation, r.fields])).toEqual([
      [ada.id, 'update', { first_name: 'Ida' }],
      [cyd.id, 'create', expect.objectContaining({ first_name: 'Cyd' })],
      [bob.id, 'delete', null],
    ]);
  });

  it('gives every row its own idempotency key, the same one after the host restarts', () => {
    const file = join(dir, 'keys.db');
    const first = site(file);
    setCloudSyncEnabled(first.db, true, first.now());
    for (const name of ['Ada', 'Bob', 'Cyd']) first.service.run(actor, 'users.create', { first_name: name });
    const keys = rows(first.db).map((r) => [r.seq, r.idempotency_key]);
    expect(new Set(keys.map(([, k]) => k)).size).toBe(3);
    first.db.close();
    open = [];
    const again = openDatabase(file);
    open.push(again);
    expect(rows(again).map((r) => [r.seq, r.idempotency_key])).toEqual(keys);
  });
});
