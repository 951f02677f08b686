// An installer's day with a real (simulated) hub on the desk, through the contract only: a hub no IQ
// knows is listed as unclaimed, claimed for a new IQ (its clock, zone and table follow), a lock is
// paired by its radio MAC, a tag opens it, a remote opening and office mode are carried out by the hub
// (the entry is the hub's own event), a tamper alarm shows on the door, the lock is unpaired, and an
// unplugged hub is refused with a clear error. Real host client, real OSDP over the fake USB bus.
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceManager } from '../../core/devices/device-manager.ts';
import { ensureSite } from '../../core/host/first-run.ts';
import { systemActor } from '../../core/service/actor.ts';
import { GatehouseService } from '../../core/service/service.ts';
import { openDatabase, type SiteDatabase } from '../../core/store/db.ts';
import { makeFirmware, usbBench } from '../../drivers/hub-sim/firmware/testing.ts';
import { until } from '../until.ts';

const actor = systemActor('installer');
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function desk() {
  const db: SiteDatabase = openDatabase(':memory:');
  cleanup.push(() => db.close());
  ensureSite(db, { name: 'Annex', timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery', now: Date.now() });
  const svc = new GatehouseService(db);
  const manager = new DeviceManager(svc, { eventBatch: 200, pollMs: 200, retryMs: 50, maxRetryMs: 500 });
  cleanup.push(() => manager.close());
  const firmware = makeFirmware({ t0: Date.now(), mac: Uint8Array.of(0x02, 0x00, 0x5e, 0x10, 0x00, 0x99), serial: 'IQ-ANNEX-1' });
  const bench = usbBench(firmware);
  const client = await bench.connect();
  cleanup.push(() => client.close());
  manager.attach(client);
  return { svc, manager, firmware, bench, client };
}

describe('commissioning a hub through the contract', () => {
  it('claims, pairs, operates and loses a hub as an installer would see it', async () => {
    const { svc, firmware, bench, client } = await desk();
    const entries = (filter: Record<string, string>) => svc.run(actor, 'entries.list', { ...filter, with_count: true }).count;

    const unclaimed = await until('the hub to be listed as unclaimed', () => svc.run(actor, 'hubs.list', {}).find((h) => h.state === 'unclaimed'));
    expect(unclaimed).toMatchObject({ address: client.address, mac: '02-00-5E-10-00-99', serial: 'IQ-ANNEX-1', iq_id: null });

    // "Which one is it?": the hub flashes and beeps.
    await svc.runAsync(actor, 'hubs.identify', { address: client.address, seconds: 10 });
    expect([firmware.identifying, firmware.beeps]).toEqual([true, 3]);

    // Claim it for a new IQ: it gets the zone's clock and the IQ's table.
    const iq = svc.run(actor, 'hubs.claim', { address: client.address, customer_reference: 'Annex IQ', time_zone: 'Europe/Amsterdam' });
    expect(iq).toMatchObject({ mac: '02-00-5E-10-00-99', serial: 'IQ-ANNEX-1' });
    await until('the IQ online and synced', () => {
      const now = svc.run(actor, 'iqs.get', { id: iq.id });
      return now.online && now.data_sync_state === 'synced';
    });
    expect(firmware.zone).toBe('Europe/Amsterdam');
    expect(firmware.hub.tableInfo()?.hash).toBe(svc.engine.table(iq.id)!.hash);
    expect(() => svc.run(actor, 'hubs.claim', { address: client.address, customer_reference: 'Twice' })).toThrow(/already is IQ 'Annex IQ'/);

    // A door with a person allowed at it; pairing attaches it and the hub hears it.
    const door = svc.run(actor, 'locks.create', { customer_reference: 'Annex door', mac: '00-11-22-33-44-55' });
    const group = svc.run(actor, 'access_groups.create', { customer_reference: 'Annex staff', lock_ids: [door.id] });
    const anna = svc.run(actor, 'users.create', { first_name: 'Anna', last_name: 'Smit', access_group_ids: [group.id] });
    svc.run(actor, 'tags.create', { tag_number: '0000004242', user_id: anna.id });
    const paired = await svc.runAsync(actor, 'hubs.locks.pair', { iq_id: iq.id, lock_id: door.id });
    expect(paired).toMatchObject({ iq_id: iq.id, iq_link_state: 'attached', online: true });
    expect(firmware.hub.lockIds()).toEqual([door.id]);
    expect(await svc.runAsync(actor, 'hubs.locks.list', { iq_id: iq.id })).toEqual([{ lock_id: door.id, address: '00-11-22-33-44-55', serial: expect.any(String), customer_reference: 'Annex door' }]);
    await until('the table with the door active on the hub', () => firmware.hub.tableInfo()?.hash === svc.engine.table(iq.id)!.hash);

    // Anna's tag opens it; the hub's event lands in the audit trail once.
    expect(firmware.hub.presentTag(door.id, '0000004242').decision.granted).toBe(true);
    await until('the tag entry', () => entries({ lock_id: door.id, access_by: 'tag' }) === 1);

    // A remote opening is carried out by the hub and comes back as its event, naming the operator.
    await svc.runAsync(actor, 'locks.set_locking', { id: door.id, locked_state: 'unlocked' });
    await until('the remote entry', () => entries({ lock_id: door.id, access_by: 'remote' }) === 1);
    expect(svc.run(actor, 'entries.list', { lock_id: door.id, access_by: 'remote' }).items[0]).toMatchObject({ event_category: 'lock_opened' });

    const office = await svc.runAsync(actor, 'locks.set_locking', { id: door.id, locked_state: 'office_mode' });
    expect(office).toMatchObject({ locked_state: 'office_mode', office_mode: 'manual_office_mode' });
    expect(firmware.hub.lockStatus(door.id).office_mode).toBe('manual_office_mode');
    const locked = await svc.runAsync(actor, 'locks.set_locking', { id: door.id, locked_state: 'locked' });
    expect(locked).toMatchObject({ locked_state: 'locked', office_mode: 'none' });

    // A tampered lock shows on its door (from the hub's status) and as an incident (from its events).
    firmware.hub.tamper(door.id);
    await until('the tamper flag on the door', () => svc.run(actor, 'locks.get', { id: door.id }).tamper);
    await until('the tamper incident', () => svc.run(actor, 'incidents.list', { lock_id: door.id }).items.some((i) => i.incident_type === 'tamper'));

    // Unpairing makes the hub forget the lock and detaches it.
    const unpaired = await svc.runAsync(actor, 'hubs.locks.unpair', { iq_id: iq.id, lock_id: door.id });
    expect(unpaired).toMatchObject({ iq_id: null });
    expect(firmware.hub.lockIds()).toEqual([]);

    // Unplugged: the IQ goes offline, and commands for it are refused before anything is written.
    bench.usb.unplug();
    await until('the IQ offline', () => !svc.run(actor, 'iqs.get', { id: iq.id }).online);
    // A hub cannot report its own absence: the host files it, as CLP does.
    expect(svc.run(actor, 'incidents.list', { iq_id: iq.id }).items.map((i) => i.incident_type)).toContain('iq_offline');
    await expect(svc.runAsync(actor, 'hubs.locks.pair', { iq_id: iq.id, lock_id: door.id })).rejects.toMatchObject({ code: 'unavailable', message: /hub of IQ 'Annex IQ' is not connected/ });
    expect(svc.run(actor, 'locks.get', { id: door.id }).iq_id).toBeNull();
    expect(svc.run(actor, 'hubs.list', {})).toEqual([]);
  });
});
