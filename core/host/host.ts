// The headless host: opens (or creates) an installation's database, makes sure there is a site and
// an owner, starts the service and serves the REST API. Hardware drivers are wired by the composition
// root (bin/, electron/) through the ports this host accepts.
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildRestServer } from '../rest/server.ts';
import { GatehouseService } from '../service/service.ts';
import { systemActor, type Actor } from '../service/actor.ts';
import { inspectBackup, restoreDatabase, type BackupInfo } from '../store/backup.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';
import { logAction } from '../rest/backup-routes.ts';
import { DATABASE_FILE } from './data-dir.ts';
import { seedDemo } from './demo.ts';
import { runRetention } from './retention.ts';
import { ensureSite } from './first-run.ts';
import { acquireInstanceLock } from './instance-lock.ts';
import type { DeviceManager } from '../devices/device-manager.ts';
import { startDeviceManager } from '../devices/start.ts';
import type { MasterKeySource } from '../secrets/master-key.ts';
import { SecretBox } from '../secrets/secret-box.ts';
import { CloudService, type CloudConnector } from '../cloud/cloud-service.ts';
import type { HubSessionStatus } from '../devices/hub-session.ts';

/**
 * How a composition root connects hubs: given the device manager of the current service, it starts
 * attaching connections (USB, TCP, simulators) and returns how to stop. The host calls it again with a
 * new manager after a restore, once the previous one's links are closed.
 */
export type HubWiring = (manager: DeviceManager, service: GatehouseService) => (() => Promise<void>) | void;

/**
 * How a composition root connects card encoders: given the current service, it starts an encoder
 * manager for it and returns how to stop. Called again for the new service after a restore.
 */
export type EncoderWiring = (service: GatehouseService) => (() => Promise<void>) | void;

export interface HostOptions {
  dataDir: string;
  port: number;
  /** Interface to listen on; 127.0.0.1 unless configured otherwise. */
  host: string;
  demo: boolean;
  ownerPassword?: string;
  version: string;
  log: (line: string) => void;
  now?: () => number;
  /** The built renderer to serve (browser mode). */
  uiDir?: string;
  /** Connects hubs to the device manager; without it the host runs no device manager. */
  hubs?: HubWiring;
  /** Connects card encoders; without it `encoders.*` answers that this host drives none. */
  encoders?: EncoderWiring;
  /**
   * The master key the installation's secrets (the site's card key) are sealed under; without one,
   * nothing that needs a secret works. `serve` passes `<data>/master.key`.
   */
  masterKey?: MasterKeySource;
  /** Talks to a CLP / KS cloud; without it `cloud.*` answers that this host runs without cloud sync. */
  cloud?: CloudConnector;
  /** Between scheduled cloud sync rounds (default 5 minutes). */
  cloudIntervalMs?: number;
}

export interface RunningHost {
  url: string;
  /** The service of the database in use (a new one after restore()). */
  readonly service: GatehouseService;
  readonly db: SiteDatabase;
  server: FastifyInstance;
  /**
   * Replaces the live database with a backup while the server keeps listening: closes the database,
   * swaps the file (the old one is kept as gatehouse.db.before-restore-<time>), reopens and migrates
   * it and puts a new service behind the REST server. Synchronous between awaits, so no request sees
   * a closed database. Pushed-event sockets are closed so that clients reconnect to the new service.
   */
  restore(file: string, by?: Actor): Promise<{ previous: string | null; info: BackupInfo }>;
  /** The hubs connected now, as the device manager sees them (empty without `hubs`). */
  hubs(): HubSessionStatus[];
  close(): Promise<void>;
}

export async function startHost(o: HostOptions): Promise<RunningHost> {
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const unlock = acquireInstanceLock(o.dataDir);
  let db: SiteDatabase | null = null;
  try {
    db = openDatabase(join(o.dataDir, DATABASE_FILE));
    const first = ensureSite(db, { ownerPassword: o.ownerPassword, name: o.demo ? 'Harbour Campus (demo)' : undefined, timeZone: o.demo ? 'Europe/Amsterdam' : undefined });
    if (first.generatedPassword) {
      o.log(`Created operator 'owner' with password: ${first.generatedPassword}`);
      o.log('(shown once; set GATEHOUSE_OWNER_PASSWORD to choose it yourself)');
    }
    const file = join(o.dataDir, DATABASE_FILE);
    const box = o.masterKey ? new SecretBox(await o.masterKey.load()) : null;
    const newService = (d: SiteDatabase) => {
      const svc = new GatehouseService(d, {
        now: o.now,
        log: (level, message, extra) => o.log(`[${level}] ${message}${extra instanceof Error ? `: ${extra.stack ?? extra.message}` : ''}`),
      });
      svc.secrets = box;
      if (o.cloud) svc.cloud = new CloudService(svc, o.cloud, { intervalMs: o.cloudIntervalMs, log: o.log });
      return svc;
    };
    let service = newService(db);
    if (o.demo) {
      const seeded = seedDemo(service, { now: o.now?.() ?? Date.now() });
      if (seeded) o.log(`Demo site seeded: ${seeded.locks} doors on ${seeded.iqs} IQs, ${seeded.users} people, ${seeded.entries} entries. Demo operators: ${seeded.operators.join(', ')}`);
      else o.log('Demo: the database already has a site model; not seeding again.');
    }
    let closed = false;
    let restoring = false;
    /** Bumped by each restore: retention batches of the previous database stop. */
    let generation = 0;
    const retention = () => {
      const mine = generation;
      runRetention(service, o.log, () => closed || mine !== generation);
    };

    // One device manager per service: its sessions write through that service's database.
    let devices: { manager: DeviceManager; stop: (() => Promise<void>) | null } | null = null;
    /** Settles once every previous manager's links are closed. */
    let devicesStopped: Promise<void> = Promise.resolve();
    let stopEncoders: (() => Promise<void>) | null = null;
    const startDevices = () => {
      if (closed) return;
      if (o.encoders) {
        try {
          stopEncoders = o.encoders(service) ?? null;
        } catch (e) {
          o.log(`[error] connecting card encoders failed: ${(e as Error).message}`);
        }
      }
      if (!o.hubs) return;
      const wire = o.hubs;
      const mine = { manager: startDeviceManager(service, (level, message) => o.log(`[${level}] ${message}`)), stop: null as (() => Promise<void>) | null };
      devices = mine;
      const forService = service;
      // A hub talks to one host connection at a time: the previous manager's links must be gone first.
      void devicesStopped.then(() => {
        if (closed || devices !== mine) return;
        try {
          mine.stop = wire(mine.manager, forService) ?? null;
        } catch (e) {
          o.log(`[error] connecting hubs failed: ${(e as Error).message}`);
        }
      });
    };
    /** Ends every session at once (while the database is still open: they record the hubs offline); the links close after. */
    const stopDevices = (): Promise<void> => {
      const encodersStopped = stopEncoders?.();
      stopEncoders = null;
      const d = devices;
      devices = null;
      if (d) {
        const links = Promise.allSettled([d.stop?.(), d.manager.close()]).then(() => undefined);
        devicesStopped = Promise.all([devicesStopped, links]).then(() => undefined);
      }
      return Promise.all([devicesStopped, encodersStopped]).then(() => undefined);
    };

    async function restore(backup: string, by: Actor = systemActor('restore')): Promise<{ previous: string | null; info: BackupInfo }> {
      if (closed) throw new Error('The host is stopping');
      if (restoring) throw new Error('A restore is already running');
      restoring = true;
      try {
        // Everything below is synchronous: no request runs between closing the old database and
        // serving from the new one.
        const info = inspectBackup(backup);
        const old = service;
        generation++;
        void stopDevices();
        old.cloud?.close();
        old.db.close();
        let previous: string | null;
        try {
          ({ previous } = restoreDatabase(backup, file));
        } catch (e) {
          // restoreDatabase checks before it touches the target; the current file is still in place.
          service = newService(openDatabase(file));
          throw e;
        }
        let next: GatehouseService;
        try {
          next = newService(openDatabase(file));
        } catch (e) {
          // Put the previous database back rather than leave the installation without one.
          o.log(`[error] the restored database does not open (${(e as Error).message}); putting the previous one back`);
          if (previous) restoreDatabase(previous, file);
          service = newService(openDatabase(file));
          throw e;
        }
        service = next;
        logAction(service, by, 'backup.restore', { site: info.siteName, schema_version: info.schemaVersion, counts: info.counts, previous_database: previous ? basename(previous) : null });
        o.log(`Database restored by ${by.name} from a backup of ${info.siteName ?? 'a site'}${previous ? `; the previous database is kept as ${previous}` : ''}`);
        // Sockets subscribed to the old service's events: close them (1012, service restart) so clients reconnect.
        for (const client of server.websocketServer?.clients ?? []) client.close(1012, 'database restored');
        retention();
        return { previous, info };
      } finally {
        restoring = false;
        // Whichever database is current now (the restored one, or the previous one put back), hubs follow it.
        if (!devices) startDevices();
      }
    }

    // The REST server holds one service for its lifetime; this stand-in forwards to the current one,
    // so a restore can replace it without restarting the server.
    const current = new Proxy(service, {
      get(_target, prop) {
        const value: unknown = Reflect.get(service, prop, service);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(service) : value;
      },
    });
    const server = buildRestServer({ service: current, version: o.version, uiDir: o.uiDir, onRestore: (f, actor) => restore(f, actor) });
    const ticker = setInterval(() => {
      service.engine.tick();
      retention();
    }, 3_600_000);
    ticker.unref();
    retention();
    await server.listen({ port: o.port, host: o.host });
    const addr = server.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : o.port;
    const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
    startDevices();
    return {
      url,
      get service() {
        return service;
      },
      get db() {
        return service.db;
      },
      server,
      restore,
      hubs: () => devices?.manager.hubs() ?? [],
      async close() {
        if (closed) return;
        closed = true;
        clearInterval(ticker);
        service.cloud?.close();
        await stopDevices();
        await server.close();
        service.db.close();
        unlock();
      },
    };
  } catch (e) {
    db?.close();
    unlock();
    throw e;
  }
}
