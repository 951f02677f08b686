// The core's process: an Electron utilityProcess forked by main (core-client.ts). It owns the
// installation — the database's single writer, the access engine, the service — so that neither main
// nor the renderer ever holds it. Main sends contract calls and subscriptions over process.parentPort
// (core-protocol.ts); this process answers them through core-handler.ts.
//
// Environment (set by main): GATEHOUSE_DATA_DIR (the data folder), GATEHOUSE_OWNER_PASSWORD (optional:
// the first owner's password; otherwise one is generated and main shows it once), GATEHOUSE_HUB_TCP
// (optional: LAN hubs, "host[:port]" separated by commas).
//
// Hubs (core-hubs.ts): USB hubs and LAN hubs are connected once main has sent the installation's master
// key (a MasterKeyMessage, master-key.ts: main unwraps it with safeStorage, which this process cannot
// reach). Without it the core runs without hubs.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageEvent as PortMessageEvent } from 'electron';
import { DATABASE_FILE } from '../../core/host/data-dir.ts';
import { ensureSite } from '../../core/host/first-run.ts';
import { acquireInstanceLock } from '../../core/host/instance-lock.ts';
import { runRetention } from '../../core/host/retention.ts';
import { ksConnector } from '../../bin/cloud.ts';
import { CloudService } from '../../core/cloud/cloud-service.ts';
import { GatehouseService } from '../../core/service/service.ts';
import { openDatabase, type SiteDatabase } from '../../core/store/db.ts';
import { createCoreHandler } from './core-handler.ts';
import { hubTcpTargets, startCoreHubs, type CoreHubs } from './core-hubs.ts';
import type { CoreToMain, MainToCore } from './core-protocol.ts';
import { masterKeyFrom } from './master-key.ts';

const HOUR = 3_600_000;

const parentPort = process.parentPort;
if (!parentPort) {
  console.error('core-process.ts runs only as an Electron utility process (utilityProcess.fork)');
  process.exit(2);
}
const post = (message: CoreToMain) => parentPort.postMessage(message);
const log = (level: 'info' | 'warn' | 'error', message: string, extra?: unknown) =>
  post({ type: 'log', level, message: extra instanceof Error ? `${message}: ${extra.stack ?? extra.message}` : message });

let db: SiteDatabase | null = null;
let unlock: (() => void) | null = null;
let hubs: CoreHubs | null = null;
let stopped = false;
/** How long the hubs' sessions get to record their IQs offline before the database closes anyway. */
const HUBS_STOP_MS = 2000;

function shutdown(code: number): never {
  stopped = true;
  try {
    db?.close();
  } finally {
    unlock?.();
  }
  process.exit(code);
}

/** Ends the hub sessions (while the database is open: they record their IQs offline), then shuts down. */
async function stopThenShutdown(code: number): Promise<never> {
  stopped = true;
  if (hubs) await Promise.race([hubs.stop(), new Promise((resolve) => setTimeout(resolve, HUBS_STOP_MS).unref())]);
  return shutdown(code);
}

/** Audit retention now and hourly, with the access engine's tick (as the headless host does). */
function maintain(service: GatehouseService): void {
  const retention = () => runRetention(service, (line) => log('error', line), () => stopped);
  retention();
  setInterval(() => {
    if (stopped) return;
    service.engine.tick();
    retention();
  }, HOUR).unref();
}

try {
  const dataDir = process.env.GATEHOUSE_DATA_DIR;
  if (!dataDir) throw new Error('GATEHOUSE_DATA_DIR is not set');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  unlock = acquireInstanceLock(dataDir);
  db = openDatabase(join(dataDir, DATABASE_FILE));
  const first = ensureSite(db, { ownerPassword: process.env.GATEHOUSE_OWNER_PASSWORD || undefined });
  const service = new GatehouseService(db, { log });
  const handler = createCoreHandler(service, post);
  parentPort.on('message', (e: PortMessageEvent) => {
    const m = e.data as MainToCore | null;
    if (m && typeof m === 'object' && m.type === 'shutdown') {
      handler.close();
      service.cloud?.close();
      void stopThenShutdown(0);
      return;
    }
    const masterKey = masterKeyFrom(m);
    if (masterKey) {
      if (hubs || stopped) return log('warn', 'core: dropped a second master key');
      hubs = startCoreHubs({ service, dataDir, masterKey, log, tcp: hubTcpTargets(process.env.GATEHOUSE_HUB_TCP) });
      // Cloud tokens are sealed under the same master key, so sync can start only now.
      service.cloud = new CloudService(service, ksConnector(), { log: (line) => log('info', line) });
      return;
    }
    if (stopped) return;
    handler.handle(m);
  });
  maintain(service);
  log('info', `core: opened ${db.file}${first.created ? ' (new site)' : ''}`);
  post({ type: 'ready', dataDir, created: first.created, generatedPassword: first.generatedPassword });
} catch (e) {
  post({ type: 'fatal', message: (e as Error).message });
  // Let the message leave before exiting.
  setTimeout(() => shutdown(1), 100);
}
