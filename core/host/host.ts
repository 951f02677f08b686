// The headless host: opens (or creates) an installation's database, makes sure there is a site and
// an owner, starts the service and serves the REST API. Hardware drivers are wired by the composition
// root (bin/, electron/) through the ports this host accepts.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildRestServer } from '../rest/server.ts';
import { GatehouseService } from '../service/service.ts';
import { systemActor } from '../service/actor.ts';
import { openDatabase, type SiteDatabase } from '../store/db.ts';
import { DATABASE_FILE } from './data-dir.ts';
import { seedDemo } from './demo.ts';
import { ensureSite } from './first-run.ts';
import { acquireInstanceLock } from './instance-lock.ts';

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
}

export interface RunningHost {
  url: string;
  service: GatehouseService;
  db: SiteDatabase;
  server: FastifyInstance;
  close(): Promise<void>;
}

/**
 * Applies audit retention in small batches, yielding to the event loop between them so that device
 * ingest and API calls are never held up for more than one short transaction.
 */
export function runRetention(service: GatehouseService, log: (line: string) => void, stopped: () => boolean = () => false): void {
  const sys = systemActor('retention');
  const step = () => {
    if (stopped()) return;
    try {
      const r = service.run(sys, 'audit.retention.run', { max_rows: 5000 });
      if (!r.complete) setImmediate(step);
    } catch (e) {
      log(`[error] audit retention: ${(e as Error).message}`);
    }
  };
  setImmediate(step);
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
    const service = new GatehouseService(db, {
      now: o.now,
      log: (level, message, extra) => o.log(`[${level}] ${message}${extra instanceof Error ? `: ${extra.stack ?? extra.message}` : ''}`),
    });
    if (o.demo) {
      const seeded = seedDemo(service, { now: o.now?.() ?? Date.now() });
      if (seeded) o.log(`Demo site seeded: ${seeded.locks} doors on ${seeded.iqs} IQs, ${seeded.users} people, ${seeded.entries} entries. Demo operators: ${seeded.operators.join(', ')}`);
      else o.log('Demo: the database already has a site model; not seeding again.');
    }
    const server = buildRestServer({ service, version: o.version, uiDir: o.uiDir });
    let closed = false;
    const ticker = setInterval(() => {
      service.engine.tick();
      runRetention(service, o.log, () => closed);
    }, 3_600_000);
    ticker.unref();
    runRetention(service, o.log, () => closed);
    await server.listen({ port: o.port, host: o.host });
    const addr = server.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : o.port;
    const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
    const opened = db;
    return {
      url,
      service,
      db: opened,
      server,
      async close() {
        if (closed) return;
        closed = true;
        clearInterval(ticker);
        await server.close();
        opened.close();
        unlock();
      },
    };
  } catch (e) {
    db?.close();
    unlock();
    throw e;
  }
}
