// Hubs in the desktop app's core process (electron/main/core-hubs.ts), in-process: the same composition
// as `gatehouse serve` with the master key main hands over. A LAN hub in install mode is commissioned
// with a key sealed under that key, its IQ goes online and in step, and stopping records it offline.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureSite } from '../../core/host/first-run.ts';
import { HubKeyRing } from '../../core/secrets/hub-keys.ts';
import { MASTER_KEY_FILE } from '../../core/secrets/master-key.ts';
import { SecretBox } from '../../core/secrets/secret-box.ts';
import { systemActor } from '../../core/service/actor.ts';
import { GatehouseService } from '../../core/service/service.ts';
import { openDatabase } from '../../core/store/db.ts';
import { HubFirmware } from '../../drivers/hub-sim/firmware/firmware.ts';
import { startTcpHub } from '../../drivers/hub-sim/firmware/tcp-server.ts';
import { parseAddress } from '../../drivers/iq/host/convert.ts';
import { FakeUsbBus } from '../../drivers/transport/fake-webusb.ts';
import { hubTcpTargets, startCoreHubs } from '../../electron/main/core-hubs.ts';
import { until } from '../until.ts';

const MAC = '02-00-5E-10-00-21';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('startCoreHubs', () => {
  it('commissions a LAN hub with the given master key, brings its IQ online and in step, and records it offline on stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-core-hubs-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const db = openDatabase(join(dir, 'gatehouse.db'));
    cleanups.push(() => db.close());
    ensureSite(db, { timeZone: 'Europe/Amsterdam', ownerPassword: 'correct horse battery' });
    const service = new GatehouseService(db);
    const sys = systemActor('test');
    const iq = service.run(sys, 'iqs.create', { mac: MAC, customer_reference: 'Front desk IQ' });
    const firmware = new HubFirmware({ mac: parseAddress(MAC)!, serial: 'DESK-1', factoryKey: null });
    const server = await startTcpHub(firmware);
    cleanups.push(() => server.close());

    const lines: string[] = [];
    const masterKey = new Uint8Array(randomBytes(32));
    const noUsb = () => {
      const bus = new FakeUsbBus();
      bus.failEnumeration(new Error('getDevices error: /sys/bus/usb/devices/ not found (errno 2)'));
      return Promise.resolve(bus);
    };
    const hubs = startCoreHubs({
      service,
      dataDir: dir,
      masterKey,
      log: (level, message) => void lines.push(`${level} ${message}`),
      tcp: [`${server.host}:${server.port}`],
      usb: { load: noUsb },
      pollIntervalMs: 200,
    });
    cleanups.push(() => hubs.stop());
    const iqNow = () => service.run(sys, 'iqs.get', { id: iq.id });
    await until('the IQ online and in step', () => iqNow().online && iqNow().data_sync_state === 'synced');
    expect(hubs.manager.hubs()).toEqual([expect.objectContaining({ state: 'ready', iq_id: iq.id, mac: MAC })]);
    // The hub's key: its own, sealed under the master key main handed over; no key file was made here.
    expect(firmware.scbk).toEqual(new HubKeyRing(db, new SecretBox(masterKey)).keys(MAC)[0]!.key);
    expect(existsSync(join(dir, MASTER_KEY_FILE))).toBe(false);
    // The log: levels taken from the lines, the plain no-USB message once.
    expect(lines).toContain(`info hub tcp:${server.host}:${server.port} (MAC ${MAC}) is in install mode: giving it its own secure-channel key`);
    expect(lines.filter((l) => /USB is not available/.test(l)).sort()).toEqual([
      expect.stringMatching(/^warn USB is not available.*IQ hubs on the network \(TCP\) still work\.\n.*use the hub without administrator rights/s),
      expect.stringMatching(/^warn card encoders: USB is not available.*Cards cannot be encoded on this computer\.\n.*use the card encoder without .*idVendor}=="072f"/s),
    ]);
    expect(lines.filter((l) => l.startsWith('error'))).toEqual([]);

    await hubs.stop();
    expect(iqNow().online).toBe(false);
  });

  it('reads GATEHOUSE_HUB_TCP as a comma-separated list', () => {
    expect(hubTcpTargets(undefined)).toEqual([]);
    expect(hubTcpTargets('')).toEqual([]);
    expect(hubTcpTargets(' 10.0.4.7, 10.0.4.8:7374 ,,[fe80::1]:7374')).toEqual(['10.0.4.7', '10.0.4.8:7374', '[fe80::1]:7374']);
  });
});
