// An update that changes nothing writes nothing: no row, no updated_at, no operator-log entry.
import { describe, expect, it } from 'vitest';
import { ensureSite } from '../host/first-run.ts';
import { openDatabase } from '../store/db.ts';
import { systemActor } from './actor.ts';
import { GatehouseService } from './service.ts';

describe('no-op updates', () => {
  it('leave every table as it was', () => {
    const db = openDatabase(':memory:');
    ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
    let t = Date.parse('2026-03-01T10:00:00Z');
    const svc = new GatehouseService(db, { now: () => (t += 1000) });
    const sys = systemActor('test');
    const iq = svc.run(sys, 'iqs.create', { mac: '00-14-22-01-23-45', customer_reference: 'Main IQ' });
    const lock = svc.run(sys, 'locks.create', { customer_reference: 'Front door', iq_id: iq.id });
    const user = svc.run(sys, 'users.create', { first_name: 'Anna', last_name: 'Jansen' });
    const tag = svc.run(sys, 'tags.create', { user_id: user.id });
    const group = svc.run(sys, 'access_groups.create', { customer_reference: 'Staff' });
    const dump = () =>
      (db.read.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[]).map((n) => JSON.stringify(db.read.prepare(`SELECT * FROM "${n}"`).all()));
    const before = dump();
    svc.run(sys, 'site.update', {});
    svc.run(sys, 'iqs.update', { id: iq.id, customer_reference: 'Main IQ' });
    svc.run(sys, 'locks.update', { id: lock.id, customer_reference: 'Front door', iq_id: iq.id });
    svc.run(sys, 'users.update', { id: user.id, first_name: 'Anna' });
    svc.run(sys, 'users.bulk_update', { ids: [user.id], patch: { blocked: false } });
    svc.run(sys, 'tags.update', { id: tag.id, user_id: user.id });
    svc.run(sys, 'access_groups.update', { id: group.id, customer_reference: 'Staff' });
    expect(dump()).toEqual(before);
    svc.run(sys, 'users.update', { id: user.id, first_name: 'Anne' });
    expect(dump()).not.toEqual(before);
  });
});
