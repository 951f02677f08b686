// What hub sessions need of the running core, in one narrow object: the IQ a hub belongs to, the table
// it should enforce, a place to store its events, and a way to record what the hardware reports
// (online, sync state, firmware). Device reports are not operator changes: they bypass the contract
// (no operator may forge them through the API) and the operator log, and are pushed to live views.
import type { AccessTable } from '../access/table/access-table.ts';
import type { Iq } from '../domain/model.ts';
import { systemActor } from '../service/actor.ts';
import type { GatehouseService } from '../service/service.ts';
import { currentTableVersion } from '../store/repos/access-tables.ts';
import { findIqByMac, getIq, updateIq } from '../store/repos/iqs.ts';

export type IqReport = Partial<Pick<Iq, 'online' | 'data_sync_state' | 'signal_strength' | 'firmware' | 'serial'>>;

export interface DeviceHost {
  now(): number;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  iqByMac(mac: string): Iq | null;
  table(iqId: string): { version: number; table: AccessTable } | null;
  /** Stores a hub's events in one transaction (idempotent by hub and event id). */
  ingest(iqId: string, entries: unknown[], incidents: unknown[]): { stored: number };
  reportIq(iqId: string, report: IqReport): void;
}

export function serviceDeviceHost(service: GatehouseService): DeviceHost {
  const hubs = systemActor('hubs');
  return {
    now: () => service.now(),
    log: (level, message) => service.log(level, message),
    iqByMac: (mac) => findIqByMac(service.db.read, mac),
    table(iqId) {
      const table = service.engine.table(iqId);
      const v = currentTableVersion(service.db.read, iqId);
      return table && v && v.hash === table.hash ? { version: v.version, table } : null;
    },
    ingest(iqId, entries, incidents) {
      const r = service.run(hubs, 'entries.ingest', { source: `iq:${iqId}`, entries, incidents });
      return { stored: r.entries.stored + r.incidents.stored };
    },
    reportIq(iqId, report) {
      const after = service.db.transaction((w) => {
        const cur = getIq(w, iqId);
        if (!cur) return null;
        const next = { ...cur, ...report };
        if ((Object.keys(report) as Array<keyof IqReport>).every((k) => cur[k] === next[k])) return null;
        updateIq(w, { ...next, updated_at: new Date(service.now()).toISOString() });
        return next;
      });
      if (!after) return;
      const v = currentTableVersion(service.db.read, iqId);
      service.emit('iq.sync_state', { iq_id: iqId, data_sync_state: after.data_sync_state, online: after.online, version: v?.version ?? 0, hash: v?.hash ?? '' });
    },
  };
}
