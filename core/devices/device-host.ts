// What hub sessions need of the running core, in one narrow object: the IQ a hub belongs to, the table
// it should enforce, a place to store its events, and a way to record what the hardware reports
// (online, sync state, firmware). Device reports are not operator changes: they bypass the contract
// (no operator may forge them through the API) and the operator log, and are pushed to live views.
import { randomUUID } from 'node:crypto';
import type { AccessTable } from '../access/table/access-table.ts';
import type { Iq, Lock } from '../domain/model.ts';
import { SiteKeys } from '../secrets/site-keys.ts';
import { systemActor } from '../service/actor.ts';
import type { GatehouseService } from '../service/service.ts';
import { currentTableVersion } from '../store/repos/access-tables.ts';
import { findIqByMac, getIq, updateIq } from '../store/repos/iqs.ts';
import { stmt } from '../store/db.ts';
import { getLock, updateLock } from '../store/repos/locks.ts';
import { currentSiteKeyRow } from '../store/repos/site-keys.ts';
import type { HubLockStatus, HubSiteKey, HubTagPresented } from './ports.ts';

export type IqReport = Partial<Pick<Iq, 'online' | 'data_sync_state' | 'signal_strength' | 'firmware' | 'serial'>>;

export interface DeviceHost {
  now(): number;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  iqByMac(mac: string): Iq | null;
  table(iqId: string): { version: number; table: AccessTable } | null;
  /** Stores a hub's events in one transaction (idempotent by hub and event id). */
  ingest(iqId: string, entries: unknown[], incidents: unknown[]): { stored: number };
  reportIq(iqId: string, report: IqReport): void;
  /** What a hub says of its locks (a whole STATUS, or one lock after a command). */
  reportLocks(iqId: string, statuses: ReadonlyArray<Partial<HubLockStatus> & { lock_id: string }>): void;
  /** The hub that hears these locks is gone: nobody can tell their state. */
  locksUnreachable(iqId: string): void;
  tagsPresented(tags: readonly HubTagPresented[]): void;
  /** The hub's link dropped (unplugged, network, hub gone quiet): an `iq_offline` incident. */
  linkLost(iqId: string): void;
  /** A hub is bound: after a drop this process saw, an `iq_online` incident closes the story. */
  linkUp(iqId: string): void;
  /**
   * The fingerprint of the site's current card key, when there is one to give hubs (the site has one and
   * this installation holds the master key it is sealed under); else null. Cheap: nothing is decrypted.
   */
  siteKeyFingerprint(): string | null;
  /** The site's current card key, opened; null when there is none to give. Throws when it cannot be opened. */
  siteKey(): (HubSiteKey & { fingerprint: string }) | null;
}

/** A lock's record with what its hub reports applied; CLP shows office mode through locked_state. */
export function applyLockStatus(lock: Lock, s: Partial<HubLockStatus>): Lock {
  const office_mode = s.office_mode ?? lock.office_mode;
  const bolt = s.lock_state ?? (lock.locked_state === 'office_mode' ? 'locked' : lock.locked_state);
  return {
    ...lock,
    online: s.online ?? lock.online,
    left_open_alarm: s.left_open ?? lock.left_open_alarm,
    intrusion_alarm: s.intrusion ?? lock.intrusion_alarm,
    tamper: s.tamper ?? lock.tamper,
    privacy_mode: s.privacy_mode ?? lock.privacy_mode,
    battery_level: s.battery ?? lock.battery_level,
    office_mode,
    locked_state: office_mode !== 'none' ? 'office_mode' : bolt,
    // A lock its hub reports on is attached, whatever the record said while it was being paired.
    iq_link_state: s.online === undefined ? lock.iq_link_state : 'attached',
  };
}

const LOCK_FIELDS = ['online', 'left_open_alarm', 'intrusion_alarm', 'tamper', 'privacy_mode', 'battery_level', 'office_mode', 'locked_state', 'iq_link_state'] as const;

export function serviceDeviceHost(service: GatehouseService): DeviceHost {
  const hubs = systemActor('hubs');
  // A hub cannot report its own absence: the host files iq_offline / iq_online from the link. Only
  // drops seen by this process count; a host that was not running saw nothing to report.
  const dropped = new Set<string>();
  const linkIncident = (iqId: string, incident_type: 'iq_offline' | 'iq_online') =>
    service.run(hubs, 'entries.ingest', { source: 'gatehouse', entries: [], incidents: [{ event_id: `link:${randomUUID()}`, time: new Date(service.now()).toISOString(), incident_type, iq_id: iqId }] });
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
    reportLocks(iqId, statuses) {
      const changed = saveLocks(service, iqId, (lock) => {
        const s = statuses.find((x) => x.lock_id === lock.id);
        return s ? applyLockStatus(lock, s) : lock;
      }, statuses.map((s) => s.lock_id));
      for (const l of changed) service.emit('lock.state', { lock_id: l.id, locked_state: l.locked_state, online: l.online });
    },
    locksUnreachable(iqId) {
      const ids = (stmt(service.db.read, 'SELECT id FROM locks WHERE iq_id = ?').all(iqId) as Array<{ id: string }>).map((r) => r.id);
      const changed = saveLocks(service, iqId, (lock) => ({ ...lock, online: false }), ids);
      for (const l of changed) service.emit('lock.state', { lock_id: l.id, locked_state: l.locked_state, online: l.online });
    },
    linkLost(iqId) {
      if (dropped.has(iqId) || !getIq(service.db.read, iqId)) return;
      dropped.add(iqId);
      linkIncident(iqId, 'iq_offline');
    },
    linkUp(iqId) {
      if (!dropped.delete(iqId)) return;
      linkIncident(iqId, 'iq_online');
    },
    siteKeyFingerprint: () => (service.secrets ? (currentSiteKeyRow(service.db.read)?.fingerprint ?? null) : null),
    siteKey() {
      if (!service.secrets) return null;
      const k = new SiteKeys(service.db, service.secrets, service.now).current();
      return k && { generation: k.generation, site_id: k.site_id, key: k.key, fingerprint: k.fingerprint };
    },
    tagsPresented(tags) {
      for (const t of tags) service.emit('tag.presented', { lock_id: t.lock_id, card_uid: t.card_uid, tag_number: t.tag_number, time: t.time });
    },
  };
}

/** Saves the locks of an IQ whose record `next` changes; a lock moved to another IQ meanwhile is left alone. */
function saveLocks(service: GatehouseService, iqId: string, next: (lock: Lock) => Lock, ids: readonly string[]): Lock[] {
  const nowIso = new Date(service.now()).toISOString();
  return service.db.transaction((w) => {
    const out: Lock[] = [];
    for (const id of ids) {
      const cur = getLock(w, id);
      if (!cur || cur.iq_id !== iqId) continue;
      const after = next(cur);
      if (LOCK_FIELDS.every((k) => cur[k] === after[k])) continue;
      updateLock(w, { ...after, updated_at: nowIso });
      out.push(after);
    }
    return out;
  });
}
