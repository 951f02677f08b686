// How a composition root (the headless host, the desktop's core process) starts looking after hubs:
// first forget what the database says of the hardware — after a crash, a restored backup or the demo's
// pretend hardware, nothing is known to be connected — then one device manager, logging the moments an
// installer cares about.
import type { GatehouseService } from '../service/service.ts';
import { stmt } from '../store/db.ts';
import { DEFAULT_SESSION_OPTIONS, DeviceManager } from './device-manager.ts';
import { serviceDeviceHost } from './device-host.ts';
import type { HubSessionOptions, HubSessionStatus } from './hub-session.ts';

export type DeviceLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export function startDeviceManager(service: GatehouseService, log: DeviceLog, opts: HubSessionOptions = DEFAULT_SESSION_OPTIONS): DeviceManager {
  // An IQ is online once its hub's session reports it, a lock once its hub hears it.
  const reports = serviceDeviceHost(service);
  for (const { id } of stmt(service.db.read, 'SELECT id FROM iqs WHERE online = 1').all() as Array<{ id: string }>) reports.reportIq(id, { online: false });
  for (const { iq_id } of stmt(service.db.read, 'SELECT DISTINCT iq_id FROM locks WHERE online = 1 AND iq_id IS NOT NULL').all() as Array<{ iq_id: string }>) reports.locksUnreachable(iq_id);
  return new DeviceManager(service, opts, hubStatusLogger(log));
}

/** The moments worth a log line: a hub nobody claims, and a hub in step for the first time since it connected. */
function hubStatusLogger(log: DeviceLog): (s: HubSessionStatus) => void {
  const announced = new Map<string, HubSessionStatus['state']>();
  return (s) => {
    if (s.state === 'closed') {
      announced.delete(s.address);
      return;
    }
    if ((s.state !== 'ready' && s.state !== 'unclaimed') || announced.get(s.address) === s.state) return;
    announced.set(s.address, s.state);
    if (s.state === 'unclaimed') log('info', `hub ${s.address} (MAC ${s.mac}) is connected but no IQ has its MAC: commission it on the Hubs page`);
    else log('info', `hub ${s.address} (MAC ${s.mac}) is in step: table version ${s.table?.version ?? '–'}`);
  };
}
