// The core's utility-process entry (electron/main/core-process.ts) as a real child process, with hubs:
// once main sends the master key (master-key.ts), a LAN hub (GATEHOUSE_HUB_TCP) in install mode is
// commissioned with its own key; the next start reconnects with that key; without the master key the
// core runs without hubs. Node's IPC channel stands in for process.parentPort (core-process-child.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { HubKeyRing } from '../../core/secrets/hub-keys.ts';
import { MASTER_KEY_FILE } from '../../core/secrets/master-key.ts';
import { SecretBox } from '../../core/secrets/secret-box.ts';
import { openDatabase } from '../../core/store/db.ts';
import { HubFirmware } from '../../drivers/hub-sim/firmware/firmware.ts';
import { startTcpHub, type TcpHubServer } from '../../drivers/hub-sim/firmware/tcp-server.ts';
import { parseAddress } from '../../drivers/iq/host/convert.ts';
import type { CoreToMain, MainToCore } from '../../electron/main/core-protocol.ts';
import { masterKeyMessage } from '../../electron/main/master-key.ts';
import { until } from '../until.ts';

const CHILD = fileURLToPath(new URL('./core-process-child.ts', import.meta.url));
const MAC = '02-00-5E-10-00-31';
const dataDir = mkdtempSync(join(tmpdir(), 'gh-core-process-hubs-'));
const children: ChildProcess[] = [];
let server: TcpHubServer | null = null;
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function start(env: Record<string, string>) {
  const { GATEHOUSE_OWNER_PASSWORD: _ignored, ...inherited } = process.env;
  const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], env: { ...inherited, GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_OWNER_PASSWORD: 'correct horse battery', ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  children.push(child);
  const messages: CoreToMain[] = [];
  child.on('message', (m: CoreToMain) => void messages.push(m));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, messages, exited, send: (m: MainToCore | ReturnType<typeof masterKeyMessage>) => child.send(m) };
}

const logs = (core: ReturnType<typeof start>) => core.messages.filter((m): m is Extract<CoreToMain, { type: 'log' }> => m.type === 'log').map((m) => `${m.level} ${m.message}`);

describe('the core process with hubs', () => {
  it('connects hubs only once main has sent the master key; commissions a hub in install mode, and reconnects with its key after a restart', async () => {
    const firmware = new HubFirmware({ mac: parseAddress(MAC)!, serial: 'DESK-2', factoryKey: null });
    server = await startTcpHub(firmware);
    const env = { GATEHOUSE_HUB_TCP: `${server.host}:${server.port}` };
    const masterKey = new Uint8Array(randomBytes(32));

    // Without the key: the core serves, the hub is left alone.
    const keyless = start(env);
    await until('ready', () => keyless.messages.some((m) => m.type === 'ready'), 20_000, 25);
    await new Promise((r) => setTimeout(r, 500));
    expect(firmware.stats.sessions).toBe(0);
    keyless.send({ type: 'shutdown' });
    expect(await keyless.exited).toBe(0);

    // With it: commissioned.
    // (Main sends the key right after the fork; Electron's parentPort holds it until the core listens.
    // Node's IPC stand-in does not, so the tests wait for 'ready'.)
    const core = start(env);
    await until('ready', () => core.messages.some((m) => m.type === 'ready'), 20_000, 25);
    core.send(masterKeyMessage(masterKey));
    await until('the hub commissioned', () => logs(core).some((l) => /its own key is set and stored/.test(l)), 20_000, 25);
    const key = firmware.scbk;
    expect(key).not.toBeNull();
    expect(logs(core)).toContain(`info hub tcp:${server.host}:${server.port} (MAC ${MAC}) is in install mode: giving it its own secure-channel key`);
    // A second key message is refused.
    core.send(masterKeyMessage(new Uint8Array(32)));
    await until('the second key refused', () => logs(core).includes('warn core: dropped a second master key'), 20_000, 25);
    core.send({ type: 'shutdown' });
    expect(await core.exited).toBe(0);
    expect(existsSync(join(dataDir, MASTER_KEY_FILE))).toBe(false);
    const db = openDatabase(join(dataDir, 'gatehouse.db'));
    try {
      expect(new HubKeyRing(db, new SecretBox(masterKey)).keys(MAC)).toEqual([{ state: 'active', key }]);
    } finally {
      db.close();
    }

    // The next start reconnects with the stored key: no KEYSET, nothing about install mode.
    const sessions = firmware.stats.sessions;
    const again = start(env);
    await until('ready', () => again.messages.some((m) => m.type === 'ready'), 20_000, 25);
    again.send(masterKeyMessage(masterKey));
    await until('the hub connected again', () => firmware.stats.sessions > sessions && logs(again).some((l) => /is connected but no IQ has its MAC/.test(l)), 20_000, 25);
    expect(logs(again)).toContain(`info hub tcp:${server.host}:${server.port} (MAC ${MAC}): secure channel up with its own key`);
    expect(firmware.scbk).toEqual(key);
    expect(logs(again).filter((l) => /install mode|refuses/.test(l))).toEqual([]);
    again.send({ type: 'shutdown' });
    expect(await again.exited).toBe(0);
  }, 60_000);
});
