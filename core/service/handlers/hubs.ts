// Commissioning and operating hubs: what an installer does with a hub on the desk (claim it for an IQ,
// pair its locks, enrol tags at a lock) through the device manager the composition root runs. Each
// command checks and writes in its transaction, then talks to the hub after the commit (a Later); a
// hub that is not connected is refused before anything is written.
import { GatehouseError, invalid } from '../../contract/errors.ts';
import type { HubLockInfo } from '../../contract/results.ts';
import type { DeviceManager } from '../../devices/device-manager.ts';
import type { Iq, Lock } from '../../domain/model.ts';
import { findIqByMac, getIq, updateIq } from '../../store/repos/iqs.ts';
import { getLock, updateLock } from '../../store/repos/locks.ts';
import type { HandlerGroup, QueryContext } from '../context.ts';
import { later } from '../later.ts';
import { must } from './common.ts';
import { hardwareHandlers } from './hardware.ts';

type Names = 'hubs.list' | 'hubs.transports' | 'hubs.claim' | 'hubs.identify' | 'hubs.locks.list' | 'hubs.locks.pair' | 'hubs.locks.unpair' | 'locks.tag_registration';

export function devicesOf(ctx: Pick<QueryContext, 'service'>): DeviceManager {
  const d = ctx.service.devices;
  if (!d) throw new GatehouseError('unavailable', 'This Gatehouse does not drive hubs (it runs without a device manager)');
  return d;
}

function conflict(message: string, path: string): GatehouseError {
  return new GatehouseError('conflict', message, [{ path, message }]);
}

export const hubHandlers: HandlerGroup<Names> = {
  'hubs.list': (ctx) => (ctx.service.devices?.hubs() ?? []).filter((h) => h.state !== 'closed'),

  'hubs.transports': (ctx) => ctx.service.devices?.transports() ?? [],

  'hubs.claim'(ctx, input) {
    const hub = devicesOf(ctx).byAddress(input.address);
    if (!hub.mac) throw conflict(`The hub at ${input.address} has not said who it is yet; try again in a moment`, 'address');
    const owner = findIqByMac(ctx.db, hub.mac);
    if (!input.iq_id) {
      if (owner) throw conflict(`This hub (MAC ${hub.mac}) already is IQ '${owner.customer_reference}'`, 'address');
      return hardwareHandlers['iqs.create'](ctx, {
        mac: hub.mac,
        customer_reference: input.customer_reference!,
        time_zone: input.time_zone,
        serial: hub.serial,
        firmware: hub.firmware,
        subscribed: true,
      }) as Iq;
    }
    const before = must(getIq(ctx.db, input.iq_id), 'IQ', input.iq_id);
    if (owner && owner.id !== before.id) throw conflict(`This hub (MAC ${hub.mac}) already is IQ '${owner.customer_reference}'`, 'address');
    const after: Iq = {
      ...before,
      mac: hub.mac,
      serial: hub.serial ?? before.serial,
      firmware: hub.firmware ?? before.firmware,
      time_zone: input.time_zone ?? before.time_zone,
      online: false,
      data_sync_state: 'pending',
      updated_at: ctx.nowIso,
    };
    updateIq(ctx.db, after);
    ctx.log({ target_type: 'iq', target_id: before.id, before: { mac: before.mac, time_zone: before.time_zone }, after: { mac: after.mac, time_zone: after.time_zone, address: input.address } });
    return after;
  },

  'hubs.identify'(ctx, { address, seconds }) {
    const devices = devicesOf(ctx);
    devices.byAddress(address);
    // Nothing changes on the site; the log still says who made which hub blink.
    ctx.log({ target_type: 'iq', target_id: null, after: { identify: address, seconds } });
    return later(async () => {
      await devices.onAddress(address, 'Identifying the hub', (c) => c.identifyBlink(seconds));
      return { address };
    });
  },

  'hubs.locks.list'(ctx, { iq_id }) {
    must(getIq(ctx.db, iq_id), 'IQ', iq_id);
    const devices = devicesOf(ctx);
    devices.requireConnected(iq_id);
    const read = ctx.service.db.read;
    return later(async (): Promise<HubLockInfo[]> => {
      const locks = await devices.onHub(iq_id, 'Reading the paired locks', (c) => c.listLocks());
      return locks.map((l) => ({ lock_id: l.lock_id, address: l.address, serial: l.serial, customer_reference: getLock(read, l.lock_id)?.customer_reference ?? null }));
    });
  },

  'hubs.locks.pair'(ctx, { iq_id, lock_id }) {
    must(getIq(ctx.db, iq_id), 'IQ', iq_id);
    const lock = must(getLock(ctx.db, lock_id), 'Lock', lock_id);
    if (!lock.mac) throw invalid(`lock_id: ${lock.customer_reference} has no radio MAC; set the MAC printed on the lock first`, [{ path: 'lock_id', message: 'the lock has no MAC' }]);
    const devices = devicesOf(ctx);
    devices.requireConnected(iq_id);
    // Attached first, so the IQ's table includes the lock by the time the hub hears it.
    const after: Lock = lock.iq_id === iq_id ? lock : { ...lock, iq_id, iq_link_state: 'attached_pending', online: false, updated_at: ctx.nowIso };
    if (after !== lock) updateLock(ctx.db, after);
    ctx.log({ target_type: 'lock', target_id: lock_id, before: { iq_id: lock.iq_id }, after: { iq_id, paired_at_hub: true } });
    const read = ctx.service.db.read;
    const mac = lock.mac;
    return later(async () => {
      await devices.onHub(iq_id, `Pairing ${lock.customer_reference}`, (c) => c.pairLock({ address: mac, serial: '', lock_id }));
      await devices.refreshLocks(iq_id);
      return getLock(read, lock_id)!;
    });
  },

  'hubs.locks.unpair'(ctx, { iq_id, lock_id }) {
    must(getIq(ctx.db, iq_id), 'IQ', iq_id);
    const lock = must(getLock(ctx.db, lock_id), 'Lock', lock_id);
    const devices = devicesOf(ctx);
    devices.requireConnected(iq_id);
    ctx.log({ target_type: 'lock', target_id: lock_id, before: { iq_id: lock.iq_id }, after: { iq_id: null, unpaired_at_hub: iq_id } });
    const { service, actor } = ctx;
    return later(async () => {
      await devices.onHub(iq_id, `Unpairing ${lock.customer_reference}`, (c) => c.unpairLock(lock_id));
      // The hub forgot it: detach it here too (its own command, so the tables and the log follow).
      const now = getLock(service.db.read, lock_id);
      if (now?.iq_id === iq_id) service.run(actor, 'locks.update', { id: lock_id, iq_id: null });
      return getLock(service.db.read, lock_id) ?? lock;
    });
  },

  'locks.tag_registration'(ctx, { id, seconds }) {
    const lock = must(getLock(ctx.db, id), 'Lock', id);
    if (!lock.iq_id) throw conflict(`${lock.customer_reference} is not attached to an IQ; pair it with a hub first`, 'id');
    const devices = devicesOf(ctx);
    devices.requireConnected(lock.iq_id);
    ctx.log({ target_type: 'lock', target_id: id, after: { tag_registration_s: seconds } });
    const iqId = lock.iq_id;
    return later(() => devices.onHub(iqId, `Tag registration at ${lock.customer_reference}`, (c) => c.startTagRegistration(id, seconds)));
  },
};
